// Boots the guest under qemu with software emulation, streams its serial console to our stdout and
// watches for the end marker. qemu is killed on every way out: marker, timeout, early exit, and the
// runner itself being interrupted.
import { type ChildProcess, spawn } from "node:child_process";
import { StringDecoder } from "node:string_decoder";

/** A host directory the guest mounts over virtio-9p, read-only. */
export interface Share {
  tag: string;
  path: string;
}

/** A host file the guest sees as a read-only virtio disk, found there by its serial. */
export interface Disk {
  path: string;
  serial: string;
}

/** How to boot the guest. */
export interface BootOptions {
  qemu: string;
  kernel: string;
  initrd: string;
  shares: Share[];
  disks: Disk[];
  /** qemu CPU model. */
  cpu: string;
  smp: number;
  memoryMiB: number;
  /** Kernel command line. */
  append: string;
  /** The marker line's nonce: only this run's guest can print "HOSTFORM-VM-END <nonce> status=N". */
  nonce: string;
  timeoutMs: number;
  /** Console lines kept for the failure report. */
  tailLines: number;
  /** Receives the console, \r stripped, as it arrives. */
  write: (text: string) => void;
}

/** How a boot ended. */
export type BootOutcome =
  | { kind: "finished"; status: number; bootMs?: number; totalMs: number }
  | { kind: "no-marker"; qemuExit: string; totalMs: number; tail: string[] }
  | { kind: "timeout"; totalMs: number; tail: string[] }
  | { kind: "spawn-failed"; message: string; tail: string[] };

/** The qemu argument vector (exported for the README and for debugging by hand). */
export function qemuArgs(o: Pick<BootOptions, "kernel" | "initrd" | "shares" | "disks" | "cpu" | "smp" | "memoryMiB" | "append">): string[] {
  const args = ["-accel", "tcg,thread=multi", "-cpu", o.cpu, "-M", "pc", "-smp", String(o.smp), "-m", String(o.memoryMiB),
    "-nodefaults", "-display", "none", "-serial", "stdio", "-no-reboot",
    "-kernel", o.kernel, "-initrd", o.initrd, "-append", o.append];
  // A null disk (reads zeroes, discards writes, no host file): gives the guest a whole block device,
  // so io.max and io.weight are exercised against a real request queue.
  args.push("-blockdev", "driver=null-co,node-name=scratch,size=67108864,read-zeroes=on",
    "-device", "virtio-blk-pci,drive=scratch,serial=hostform-scratch");
  o.disks.forEach((d, i) => {
    args.push("-blockdev", `driver=file,filename=${d.path},read-only=on,node-name=disk${i}`,
      "-device", `virtio-blk-pci,drive=disk${i},serial=${d.serial}`);
  });
  for (const s of o.shares) {
    // multidevs=remap keeps inode numbers unique when a shared tree spans several host filesystems.
    args.push("-virtfs", `local,path=${s.path},mount_tag=${s.tag},security_model=none,readonly=on,multidevs=remap`);
  }
  return args;
}

const live = new Set<ChildProcess>();
let handlersInstalled = false;

/** Kills every qemu still running when the runner exits or is interrupted. */
function installKillHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const killAll = (): void => {
    for (const c of live) c.kill("SIGKILL");
  };
  process.on("exit", killAll);
  for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
    process.on(sig, () => {
      killAll();
      process.stderr.write(`\ntest:v2: ${sig}: qemu killed\n`);
      process.exit(code);
    });
  }
}

/** Boots the guest and resolves when it is over, however it ends. Never rejects. */
export function bootGuest(o: BootOptions): Promise<BootOutcome> {
  installKillHandlers();
  const started = Date.now();
  const tail: string[] = [];
  const marker = new RegExp(`HOSTFORM-VM-END ${o.nonce} status=(\\d+)`);
  const partial = { out: "", err: "" };
  // A multi-byte character (the spec reporter's ✔) can straddle two reads of the pipe.
  const decoders = { out: new StringDecoder("utf8"), err: new StringDecoder("utf8") };
  let status: number | undefined;
  let bootMs: number | undefined;

  const keep = (line: string): void => {
    tail.push(line);
    if (tail.length > o.tailLines) tail.shift();
    if (bootMs === undefined && line.includes("hostform-vm: booted in")) bootMs = Date.now() - started;
    const m = marker.exec(line);
    if (m !== null && status === undefined) status = Number(m[1]);
  };

  return new Promise((resolve) => {
    let settled = false;
    const child = spawn(o.qemu, qemuArgs(o), { stdio: ["ignore", "pipe", "pipe"] });
    live.add(child);
    let graceTimer: NodeJS.Timeout | undefined;
    const finish = (outcome: BootOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(graceTimer);
      child.kill("SIGKILL");
      live.delete(child);
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ kind: "timeout", totalMs: Date.now() - started, tail: [...tail, partial.out] }), o.timeoutMs);

    const onText = (chunk: Buffer, stream: "out" | "err"): void => {
      const text = decoders[stream].write(chunk).replace(/\r/g, "");
      const prefix = stream === "err" ? "qemu: " : "";
      o.write(prefix === "" ? text : text.replace(/^(?=.)/gm, prefix));
      const lines = (partial[stream] + text).split("\n");
      partial[stream] = lines.pop() ?? "";
      for (const l of lines) keep(prefix + l);
      if (status !== undefined && graceTimer === undefined) {
        // The guest powers off right after the marker; do not wait long for qemu to notice.
        graceTimer = setTimeout(() => finish({ kind: "finished", status: status!, bootMs, totalMs: Date.now() - started }), 10_000);
      }
    };
    child.stdout.on("data", (c: Buffer) => onText(c, "out"));
    child.stderr.on("data", (c: Buffer) => onText(c, "err"));
    child.on("error", (err) => finish({ kind: "spawn-failed", message: `${o.qemu}: ${err.message}`, tail }));
    child.on("close", (code, signal) => {
      if (partial.out !== "") keep(partial.out);
      if (partial.err !== "") keep(`qemu: ${partial.err}`);
      if (status !== undefined) finish({ kind: "finished", status, bootMs, totalMs: Date.now() - started });
      else finish({ kind: "no-marker", qemuExit: signal !== null ? `killed by ${signal}` : `exit status ${code}`, totalMs: Date.now() - started, tail });
    });
  });
}
