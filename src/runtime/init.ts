// The container init (the analogue of `runc init`). The launcher spawns it from a worker thread
// that unshared pid/mnt/uts/ipc/net, so it starts as PID 1 of fresh namespaces. It loads its
// modules, says "ready" on fd 3 and blocks until the launcher sends the spec. Then it builds the
// container around itself and execve()s the user's program: no hostform process stays behind.
// In exec mode (src/runtime/exec.ts) it is born inside a running container's namespaces instead,
// joins its mount namespace and becomes one more process of that container.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync, symlinkSync, writeFileSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import * as libc from "../sys/libc";
import { SysError, ValidationError, hasCode } from "../sys/errors";
import {
  CAPABILITIES, CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWUTS, CLOSE_RANGE_CLOEXEC, MNT_DETACH,
  MS_BIND, MS_DIRSYNC, MS_MANDLOCK, MS_NOATIME, MS_NODEV, MS_NODIRATIME, MS_NOEXEC, MS_NOSUID, MS_NOSYMFOLLOW,
  MS_PRIVATE, MS_RDONLY, MS_REC, MS_RELATIME, MS_REMOUNT, MS_SHARED, MS_SLAVE, MS_STRICTATIME, MS_SYNCHRONOUS,
  MS_UNBINDABLE, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, PR_CAP_AMBIENT_RAISE, PR_CAPBSET_DROP, PR_SET_KEEPCAPS,
  PR_SET_NO_NEW_PRIVS, RLIMITS,
} from "../sys/constants";
import * as initSys from "./initSyscalls";
import { loadFilterOnCurrentThread } from "../seccomp/load";
import { resolveInRoot } from "./rootPath";
import { resolveExecUser } from "./execUser";
import { setControllingTerminal, setsid } from "./ptySyscalls";
import {
  INIT_LAUNCHER_PIDFD, INIT_SOCKET_FD, INIT_TARGET_PIDFD,
  type ExecRequest, type InitFailure, type InitMessage, type InitRequest, type StartRequest,
} from "./initProtocol";
import type { ContainerSpec, MountSpec } from "./spec";

/** Failure of one setup step; the step name tells the launcher's user where it broke. */
class StepError extends Error {
  constructor(readonly step: string, override readonly cause: unknown) {
    super(`${step}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

function step<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof StepError) throw err;
    throw new StepError(name, SysError.fromNode(err, name));
  }
}

function send(msg: InitMessage): void {
  writeSync(INIT_SOCKET_FD, `${JSON.stringify(msg)}\n`);
}

function readRequest(): InitRequest | undefined {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  for (;;) {
    const n = readSync(INIT_SOCKET_FD, buf, 0, buf.length, null);
    // EOF: the launcher went away (closed, crashed) before using this init.
    if (n === 0) return undefined;
    chunks.push(Buffer.from(buf.subarray(0, n)));
    if (buf[n - 1] === 0x0a) break;
  }
  return JSON.parse(Buffer.concat(chunks).toString("utf8")) as InitRequest;
}

const FLAG_OPTIONS: Record<string, { set?: number; clear?: number }> = {
  ro: { set: MS_RDONLY }, rw: { clear: MS_RDONLY }, nosuid: { set: MS_NOSUID }, suid: { clear: MS_NOSUID },
  nodev: { set: MS_NODEV }, dev: { clear: MS_NODEV }, noexec: { set: MS_NOEXEC }, exec: { clear: MS_NOEXEC },
  sync: { set: MS_SYNCHRONOUS }, async: { clear: MS_SYNCHRONOUS }, dirsync: { set: MS_DIRSYNC },
  remount: { set: MS_REMOUNT }, mand: { set: MS_MANDLOCK }, nomand: { clear: MS_MANDLOCK },
  atime: { clear: MS_NOATIME }, noatime: { set: MS_NOATIME }, diratime: { clear: MS_NODIRATIME },
  nodiratime: { set: MS_NODIRATIME }, relatime: { set: MS_RELATIME }, norelatime: { clear: MS_RELATIME },
  strictatime: { set: MS_STRICTATIME }, nostrictatime: { clear: MS_STRICTATIME }, nosymfollow: { set: MS_NOSYMFOLLOW },
  bind: {}, rbind: {},
};

const PROPAGATION: Record<string, number> = {
  private: MS_PRIVATE, rprivate: MS_PRIVATE | MS_REC, slave: MS_SLAVE, rslave: MS_SLAVE | MS_REC,
  shared: MS_SHARED, rshared: MS_SHARED | MS_REC, unbindable: MS_UNBINDABLE, runbindable: MS_UNBINDABLE | MS_REC,
};

interface ParsedOptions {
  flags: number;
  propagation: number[];
  data: string[];
  bind: boolean;
  recursive: boolean;
}

function parseOptions(m: MountSpec): ParsedOptions {
  const out: ParsedOptions = { flags: 0, propagation: [], data: [], bind: m.type === "bind", recursive: false };
  for (const o of m.options ?? []) {
    const f = FLAG_OPTIONS[o];
    if (f !== undefined) {
      out.flags = (out.flags | (f.set ?? 0)) & ~(f.clear ?? 0);
      if (o === "bind" || o === "rbind") out.bind = true;
      if (o === "rbind") out.recursive = true;
    } else if (PROPAGATION[o] !== undefined) {
      out.propagation.push(PROPAGATION[o]);
    } else {
      out.data.push(o);
    }
  }
  return out;
}

function mountOne(rootfs: string, m: MountSpec): void {
  const dest = resolveInRoot(rootfs, m.destination);
  const o = parseOptions(m);
  if (o.bind) {
    const source = m.source!;
    const isDir = statSync(source).isDirectory();
    if (isDir) mkdirSync(dest, { recursive: true });
    else if (!existsSync(dest)) {
      mkdirSync(dirname(dest), { recursive: true });
      writeFileSync(dest, "");
    }
    libc.mount(source, dest, null, MS_BIND | (o.recursive ? MS_REC : 0));
    // Flags on a bind mount only take effect through a remount of it.
    if ((o.flags & ~MS_REMOUNT) !== 0) libc.mount(null, dest, null, MS_BIND | MS_REMOUNT | o.flags);
  } else {
    mkdirSync(dest, { recursive: true });
    libc.mount(m.source ?? m.type!, dest, m.type!, o.flags, o.data.length > 0 ? o.data.join(",") : null);
  }
  for (const p of o.propagation) libc.mount(null, dest, null, p);
}

const S_IFCHR = 0o020000;
const DEVICES: ReadonlyArray<[string, number, number]> = [
  ["null", 1, 3], ["zero", 1, 5], ["full", 1, 7], ["random", 1, 8], ["urandom", 1, 9], ["tty", 5, 0],
];

function createDevices(rootfs: string): void {
  const dev = resolveInRoot(rootfs, "/dev");
  for (const [name, major, minor] of DEVICES) {
    const p = join(dev, name);
    if (!existsSync(p)) libc.mknod(p, S_IFCHR | 0o666, major, minor);
  }
  const links: Array<[string, string]> = [
    ["fd", "/proc/self/fd"], ["stdin", "/proc/self/fd/0"], ["stdout", "/proc/self/fd/1"],
    ["stderr", "/proc/self/fd/2"], ["ptmx", "pts/ptmx"],
  ];
  for (const [name, target] of links) {
    try {
      symlinkSync(target, join(dev, name));
    } catch (err) {
      if (!hasCode(err, "EEXIST")) throw err;
    }
  }
}

const NS_FLAGS: Record<string, number> = { network: CLONE_NEWNET, uts: CLONE_NEWUTS, ipc: CLONE_NEWIPC };

function joinNamespaces(spec: ContainerSpec): void {
  for (const ns of spec.linux?.namespaces ?? []) {
    if (ns.path === undefined) continue;
    const flag = NS_FLAGS[ns.type];
    if (flag === undefined) throw new ValidationError("linux.namespaces", `joining a ${ns.type} namespace is not supported`);
    const fd = openSync(ns.path, "r");
    try {
      libc.setns(fd, flag, ns.path);
    } finally {
      closeSync(fd);
    }
  }
  // Unshared only now, after the launcher placed this process in its cgroup: the new cgroup
  // namespace is rooted at the container's own cgroup, as in runc.
  if (spec.linux?.namespaces?.some((n) => n.type === "cgroup") === true) libc.unshare(CLONE_NEWCGROUP);
}

function buildRoot(spec: ContainerSpec): void {
  const rootfs = spec.root.path;
  // Nothing mounted from here on may propagate back to the host's mount namespace.
  step("make / rprivate", () => libc.mount(null, "/", null, MS_REC | MS_PRIVATE));
  step("bind rootfs", () => libc.mount(rootfs, rootfs, null, MS_BIND | MS_REC));
  for (const m of spec.mounts ?? []) step(`mount ${m.destination}`, () => mountOne(rootfs, m));
  if (spec.mounts?.some((m) => m.destination === "/dev") === true) step("create /dev nodes", () => createDevices(rootfs));
  step("pivot_root", () => {
    libc.chdir(rootfs);
    // pivot_root(".", ".") stacks the old root under the new one; detaching "." then drops it
    // without needing a directory for it inside the rootfs.
    libc.pivotRoot(".", ".");
    libc.umount2(".", MNT_DETACH);
    libc.chdir("/");
  });
  for (const [key, value] of Object.entries(spec.linux?.sysctl ?? {})) {
    step(`sysctl ${key}`, () => writeFileSync(`/proc/sys/${key.replace(/\./g, "/")}`, value));
  }
  for (const p of spec.linux?.maskedPaths ?? []) {
    step(`mask ${p}`, () => {
      let isDir: boolean;
      try {
        isDir = statSync(p).isDirectory();
      } catch (err) {
        if (hasCode(err, "ENOENT")) return;
        throw err;
      }
      if (isDir) libc.mount("tmpfs", p, "tmpfs", MS_RDONLY, null);
      else libc.mount("/dev/null", p, null, MS_BIND);
    });
  }
  for (const p of spec.linux?.readonlyPaths ?? []) {
    step(`read-only ${p}`, () => {
      if (!existsSync(p)) return;
      libc.mount(p, p, null, MS_BIND | MS_REC);
      libc.mount(null, p, null, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
    });
  }
  if (spec.root.readonly === true) step("read-only root", () => libc.mount(null, "/", null, MS_BIND | MS_REMOUNT | MS_RDONLY));
}

function takeStdio(stdio: InitRequest["stdio"]): void {
  stdio.forEach((fd, i) => {
    if (fd === null) return;
    const copy = initSys.pidfdGetfd(INIT_LAUNCHER_PIDFD, fd);
    initSys.dup3(copy, i, 0);
    closeSync(copy);
  });
}

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Finds the program in the container (after pivot_root), as execvp would, but reports a miss clearly. */
function resolveProgram(spec: ContainerSpec): string {
  const name = spec.process.args[0]!;
  const X_OK = 1;
  const candidates: string[] = [];
  if (name.includes("/")) candidates.push(name.startsWith("/") ? name : join(spec.process.cwd, name));
  else {
    const pathVar = spec.process.env?.find((e) => e.startsWith("PATH="))?.slice(5) ?? DEFAULT_PATH;
    for (const dir of pathVar.split(":")) if (dir !== "") candidates.push(join(dir, name));
  }
  let denied: string | undefined;
  for (const c of candidates) {
    try {
      initSys.access(c, X_OK);
      if (!statSync(c).isDirectory()) return c;
    } catch (err) {
      if (hasCode(err, "EACCES")) denied = c;
    }
  }
  if (denied !== undefined) throw new ValidationError("process.args[0]", `'${denied}' is not executable by uid ${spec.process.user.uid} in the container`);
  throw new ValidationError("process.args[0]", `'${name}' was not found in the container${name.includes("/") ? "" : " (searched PATH)"}`, "check the rootfs and process.env PATH");
}

function capMaskOf(names: readonly string[] | undefined): bigint {
  return libc.capMask(names ?? []);
}

function dropPrivileges(spec: ContainerSpec, lastCap: number, seccomp: Buffer | undefined): string {
  const p = spec.process;
  const nnp = p.noNewPrivileges === true;
  // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it while we still hold it.
  if (seccomp !== undefined && !nnp) step("load seccomp filter", () => loadFilterOnCurrentThread(seccomp, { noNewPrivs: false }));
  step("drop bounding set", () => {
    const keep = capMaskOf(p.capabilities?.bounding);
    for (let cap = 0; cap <= lastCap; cap++) {
      if ((keep & (1n << BigInt(cap))) === 0n) libc.prctl(PR_CAPBSET_DROP, cap);
    }
  });
  step("set user", () => {
    // Keeps the permitted set across the uid change; execve clears the flag again.
    libc.prctl(PR_SET_KEEPCAPS, 1);
    // Raw per-thread syscalls: this (main) thread is the one that survives execve.
    libc.setgroups(p.user.additionalGids ?? []);
    libc.setresgid(p.user.gid);
    libc.setresuid(p.user.uid);
  });
  step("chdir cwd", () => libc.chdir(p.cwd));
  const program = step("resolve program", () => resolveProgram(spec));
  step("set capabilities", () => {
    libc.capset({
      effective: capMaskOf(p.capabilities?.effective),
      permitted: capMaskOf(p.capabilities?.permitted),
      inheritable: capMaskOf(p.capabilities?.inheritable),
    });
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL);
    for (const name of p.capabilities?.ambient ?? []) libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAPABILITIES[name]!);
  });
  if (nnp) step("no_new_privs", () => libc.prctl(PR_SET_NO_NEW_PRIVS, 1));
  if (seccomp !== undefined && nnp) step("load seccomp filter", () => loadFilterOnCurrentThread(seccomp, { noNewPrivs: false }));
  return program;
}

function become(req: StartRequest, lastCap: number): never {
  const spec = req.spec;
  libc.umask(0);
  step("join namespaces", () => joinNamespaces(spec));
  buildRoot(spec);
  if (spec.hostname !== undefined) step("sethostname", () => libc.sethostname(spec.hostname!));
  for (const r of spec.process.rlimits ?? []) {
    step(`rlimit ${r.type}`, () => libc.prlimit(0, RLIMITS[r.type]!, { soft: r.soft, hard: r.hard }));
  }
  step("stdio", () => takeStdio(req.stdio));
  step("close fds", () => {
    // Every fd but stdio closes at exec: the launcher socket (whose EOF then says "exec done"),
    // the launcher pidfd, and Node's own epoll/eventfd/pipe fds.
    libc.closeRange(3, 0xffffffff, CLOSE_RANGE_CLOEXEC);
  });
  step("reset signals", () => {
    initSys.unblockAllSignals();
    // Node ignores these two; execve would keep them ignored. Handled signals reset by themselves.
    initSys.resetSignal(13 /* SIGPIPE */);
    initSys.resetSignal(25 /* SIGXFSZ */);
  });
  const seccomp = req.seccompBpf !== undefined ? Buffer.from(req.seccompBpf, "base64") : undefined;
  const program = dropPrivileges(spec, lastCap, seccomp);
  libc.umask(spec.process.user.umask ?? 0o022);
  send({ kind: "exec" });
  return step("execve", () => initSys.execve(program, spec.process.args, spec.process.env ?? []));
}

const CLONE_FS = 0x00000200;

function readOptional(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if (hasCode(err, "ENOENT")) return "";
    throw err;
  }
}

/** Exec mode: become one more process of the running container behind INIT_TARGET_PIDFD. */
function joinContainer(req: ExecRequest, lastCap: number): never {
  const spec = req.spec;
  step("join mount namespace", () => {
    // setns(CLONE_NEWNS) fails with EINVAL while other threads share the caller's fs_struct (root,
    // cwd); unshare(CLONE_FS) gives this thread its own, after which the join succeeds. The new
    // root and cwd are the container's, its /proc included.
    libc.unshare(CLONE_FS);
    libc.setns(INIT_TARGET_PIDFD, CLONE_NEWNS, "container mount namespace");
  });
  if (req.user !== undefined) {
    const user = req.user;
    spec.process.user = step("resolve user", () => resolveExecUser(user, readOptional("/etc/passwd"), readOptional("/etc/group")));
  }
  for (const r of spec.process.rlimits ?? []) {
    step(`rlimit ${r.type}`, () => libc.prlimit(0, RLIMITS[r.type]!, { soft: r.soft, hard: r.hard }));
  }
  step("stdio", () => takeStdio(req.stdio));
  if (req.terminal) {
    step("controlling terminal", () => {
      setsid();
      setControllingTerminal(0);
    });
  }
  step("close fds", () => libc.closeRange(3, 0xffffffff, CLOSE_RANGE_CLOEXEC));
  step("reset signals", () => {
    initSys.unblockAllSignals();
    initSys.resetSignal(13 /* SIGPIPE */);
    initSys.resetSignal(25 /* SIGXFSZ */);
  });
  const seccomp = req.seccompBpf !== undefined ? Buffer.from(req.seccompBpf, "base64") : undefined;
  const program = dropPrivileges(spec, lastCap, seccomp);
  libc.umask(spec.process.user.umask ?? 0o022);
  send({ kind: "exec" });
  return step("execve", () => initSys.execve(program, spec.process.args, spec.process.env ?? []));
}

function failure(err: unknown): InitFailure {
  const stepName = err instanceof StepError ? err.step : "init";
  const cause = err instanceof StepError ? err.cause : err;
  const out: InitFailure = { kind: "error", step: stepName, message: cause instanceof Error ? cause.message : String(cause) };
  if (cause instanceof SysError) {
    out.syscall = cause.syscall;
    out.errno = cause.errno;
    if (cause.path !== undefined) out.path = cause.path;
  }
  if (cause instanceof ValidationError) out.field = cause.field;
  return out;
}

function main(): void {
  // Warm-up: everything the hot path touches is loaded and bound before "ready".
  const lastCap = Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8").trim());
  libc.getpid();
  initSys.access("/", 0);
  send({ kind: "ready" });
  const req = readRequest();
  if (req === undefined) process.exit(0);
  try {
    if (req.kind === "exec") joinContainer(req, lastCap);
    else become(req, lastCap);
  } catch (err) {
    try {
      send(failure(err));
    } finally {
      process.exit(1);
    }
  }
}

main();
