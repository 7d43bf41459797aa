// bench/start: start-to-exit latency of /bin/true on a busybox rootfs, runs alternating between
// hostform's in-process Launcher (pool warm), `runc run` and `crun run`, so every runtime sees the
// same machine noise. Prints median and p90 per path and hostform/runc ratios.
//   node dist/bench/start/run.js [runs=50]
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Launcher } from "../../src/runtime/launcher";
import { defaultSpec } from "../../src/runtime/specgen/defaults";
import { openCgroupDriver, type CgroupDriver } from "../../src/cgroup/driver";
import { testPrefix } from "../../fixtures/prefix";
import { makeBusyboxBundle } from "../../fixtures/busyboxRootfs";
import { mountIdmappedRoot } from "../../src/runtime/idmappedRoot";
import { unmountRootOverlay } from "../../src/runtime/rootOverlay";
import { initUnreachable } from "../../src/runtime/initReach";

interface Path {
  name: string;
  samples: number[];
  /** Why the path cannot run here, when it cannot. */
  skipped?: string;
  run(i: number): Promise<void>;
  cleanup?(): void;
}

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
}

function exec(cmd: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    c.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    c.on("error", reject);
    c.on("close", (code) => resolve({ code, stderr }));
  });
}

/** Start-to-exit of one in-process launch (ms); a non-zero exit fails the bench. */
async function timedRun(launcher: Launcher, spec: ReturnType<typeof defaultSpec>): Promise<number> {
  const t = process.hrtime.bigint();
  const c = await launcher.launch(spec);
  const e = await c.exited;
  const dt = ms(t);
  if (e.code !== 0) throw new Error(`exit ${e.code}`);
  return dt;
}

/** A runc/crun bundle: `runc spec` adjusted to the busybox rootfs, /bin/true, no terminal. */
function ociBundle(dir: string, rootfs: string): void {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync("runc", ["spec", "--bundle", dir], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`runc spec: ${r.stderr}`);
  const path = join(dir, "config.json");
  const config = JSON.parse(readFileSync(path, "utf8")) as {
    root: { path: string; readonly: boolean };
    process: { args: string[]; terminal: boolean };
    mounts: { type: string }[];
  };
  config.root = { path: rootfs, readonly: false };
  config.process.args = ["/bin/true"];
  config.process.terminal = false;
  // Dropped for every runtime alike, so each does the same work per start.
  config.mounts = config.mounts.filter((m) => m.type !== "cgroup");
  writeFileSync(path, JSON.stringify(config, null, 2));
}

/** An OCI runtime command line: `<command...> --root <state> run --bundle <bundle> <id>`, timed as a whole process. */
function ociPath(name: string, command: readonly string[], bundle: string, state: string, prefix: string): Path {
  const ids: string[] = [];
  const [file, ...lead] = command as [string, ...string[]];
  return {
    name,
    samples: [],
    async run(i) {
      const id = `${prefix}-${name.split(" ")[0]}-${i}`;
      ids.push(id);
      const t = process.hrtime.bigint();
      const r = await exec(file, [...lead, "--root", state, "run", "--bundle", bundle, id]);
      const dt = ms(t);
      if (r.code !== 0) throw new Error(`${name} exited ${r.code}: ${r.stderr.trim().split("\n")[0]}`);
      this.samples.push(dt);
    },
    cleanup() {
      for (const id of ids) spawnSync(file, [...lead, "--root", state, "delete", "--force", id], { stdio: "ignore" });
    },
  };
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 50);
  const prefix = testPrefix("bench-start");
  const { bundle, rootfs } = makeBusyboxBundle(prefix);
  const launcher = new Launcher({ poolSize: 1 });
  let driver: CgroupDriver | undefined;
  const cgroups: string[] = [];
  const paths: Path[] = [];
  const unmounts: string[] = [];
  try {
    const spec = (): ReturnType<typeof defaultSpec> => defaultSpec({ rootfs, args: ["/bin/true"] });
    paths.push({
      name: "hostform in-process (pool warm, no cgroup)",
      samples: [],
      async run() {
        this.samples.push(await timedRun(launcher, spec()));
      },
    });
    // issue 16: the same start with a user namespace of its own ("auto"'s shape: a 65536-id block,
    // here a fixed one above every real range) on an ID-mapped view of the rootfs, made once, as the
    // supervisor makes it at create. Its pool is warmed with inits for that mapping, as for the rest.
    const mappings = [{ containerID: 0, hostID: 3_900_000_000, size: 65536 }];
    const mappedDir = join(bundle, "userns");
    mkdirSync(mappedDir, { mode: 0o711 });
    chmodSync(bundle, 0o711);
    let usernsSpec: (() => ReturnType<typeof defaultSpec>) | undefined;
    const unreachable = initUnreachable();
    if (unreachable === false) {
      const mappedRoot = await mountIdmappedRoot(mappedDir, { rootDir: rootfs }, mappings, mappings);
      unmounts.push(mappedDir);
      usernsSpec = () => {
        const s = defaultSpec({ rootfs: mappedRoot, args: ["/bin/true"] });
        s.linux!.namespaces!.push({ type: "user" });
        s.linux!.uidMappings = mappings;
        s.linux!.gidMappings = mappings;
        return s;
      };
    }
    const userns = usernsSpec;
    paths.push({
      name: "hostform in-process, userns (pool warm, no cgroup)",
      samples: [],
      ...(userns === undefined ? { skipped: `not runnable here: ${String(unreachable)}` } : {}),
      async run() {
        this.samples.push(await timedRun(launcher, userns!()));
      },
    });
    // What a start costs when no init waits for its mapping (a mapping never seen before, as the
    // first start of a userns "auto" container the supervisor did not see coming).
    paths.push({
      name: "hostform in-process, userns, new mapping (pool cold)",
      samples: [],
      ...(userns === undefined ? { skipped: `not runnable here: ${String(unreachable)}` } : {}),
      async run(i) {
        const s = userns!();
        const fresh = [{ containerID: 0, hostID: 3_900_000_000 + (i + 1) * 65536, size: 65536 }];
        s.linux!.uidMappings = fresh;
        s.linux!.gidMappings = fresh;
        this.samples.push(await timedRun(launcher, s));
      },
    });
    try {
      driver = openCgroupDriver();
    } catch (err) {
      paths.push({ name: "hostform in-process + cgroup", samples: [], skipped: (err as Error).message, async run() {} });
    }
    if (driver !== undefined) {
      const d = driver;
      paths.push({
        name: "hostform in-process + cgroup create/place/delete",
        samples: [],
        async run(i) {
          const name = `${prefix}-${i}`;
          const t = process.hrtime.bigint();
          d.create(name);
          cgroups.push(name);
          const c = await launcher.launch(spec(), { onCgroup: (pid) => d.addProcess(name, pid) });
          const e = await c.exited;
          await d.delete(name);
          const dt = ms(t);
          if (e.code !== 0) throw new Error(`exit ${e.code}`);
          this.samples.push(dt);
        },
      });
    }
    const state = join(bundle, "state");
    ociBundle(join(bundle, "oci"), rootfs);
    const hostformRuntime = [process.execPath, join(__dirname, "..", "..", "..", "bin", "hostform-runtime")];
    const oci: Array<[string, readonly string[]]> = [["runc run", ["runc"]], ["crun run", ["crun"]], ["hostform-runtime run (whole process)", hostformRuntime]];
    for (const [name, command] of oci) {
      const p = ociPath(name, command, join(bundle, "oci"), join(state, name.split(" ")[0]!), prefix);
      // One trial run tells whether this runtime works on this host at all.
      try {
        await p.run(-1);
        p.samples.length = 0;
      } catch (err) {
        p.skipped = `not runnable here: ${(err as Error).message}`;
      }
      paths.push(p);
    }

    await launcher.warm();
    for (let i = 0; i < runs; i++) {
      for (const p of paths) {
        if (p.skipped !== undefined) continue;
        // Same idle gap before every run; the pool refill (a Node start-up) must not overlap anyone's timing.
        await launcher.warm();
        if (userns !== undefined) await launcher.warmFor(userns());
        await new Promise((r) => setTimeout(r, 20));
        await p.run(i);
      }
    }

    const runc = paths.find((p) => p.name === "runc run");
    console.log(`start-to-exit of /bin/true, busybox rootfs, ${runs} alternating runs (ms)`);
    for (const p of paths) {
      if (p.skipped !== undefined) {
        console.log(`  ${p.name.padEnd(50)} ${p.skipped}`);
        continue;
      }
      const med = quantile(p.samples, 0.5);
      const p90 = quantile(p.samples, 0.9);
      let ratio = "";
      const plain = paths.find((x) => x.name.startsWith("hostform in-process (pool warm"));
      if (p.name.includes("userns") && plain !== undefined && plain.skipped === undefined) {
        ratio += `  vs without userns: median ${(med / quantile(plain.samples, 0.5)).toFixed(2)}x`;
      }
      if (runc !== undefined && runc.skipped === undefined && p !== runc) {
        ratio += `  vs runc: median ${(med / quantile(runc.samples, 0.5)).toFixed(2)}x, p90 ${(p90 / quantile(runc.samples, 0.9)).toFixed(2)}x`;
      }
      console.log(`  ${p.name.padEnd(50)} median ${med.toFixed(1).padStart(6)}  p90 ${p90.toFixed(1).padStart(6)}${ratio}`);
    }
  } finally {
    await launcher.close();
    for (const p of paths) p.cleanup?.();
    for (const dir of unmounts) unmountRootOverlay(dir);
    if (driver !== undefined) for (const name of cgroups) await driver.delete(name).catch(() => undefined);
    rmSync(bundle, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
