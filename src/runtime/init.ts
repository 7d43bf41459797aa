// The container init (the analogue of `runc init`). The launcher spawns it from a worker thread
// that unshared pid/mnt/uts/ipc/net, so it starts as PID 1 of fresh namespaces. It loads its
// modules, says "ready" on fd 3 and blocks until the launcher sends the spec. Then it builds the
// container around itself up to just before execve (OCI "created"), says "prepared", and waits for
// "start" to execve() the user's program: no hostform process stays behind.
// In exec mode (src/runtime/exec.ts) it is born inside a running container's namespaces instead,
// joins its mount namespace and becomes one more process of that container.
import { closeSync, constants as fsConstants, existsSync, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, statSync, symlinkSync, writeFileSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import * as libc from "../sys/libc";
import { NotFoundError, SysError, ValidationError, hasCode } from "../sys/errors";
import {
  CAPABILITIES, CLONE_NEWCGROUP, CLONE_NEWNS, CLOSE_RANGE_CLOEXEC, MNT_DETACH,
  MS_BIND, MS_DIRSYNC, MS_MANDLOCK, MS_NOATIME, MS_NODEV, MS_NODIRATIME, MS_NOEXEC, MS_NOSUID, MS_NOSYMFOLLOW,
  MS_PRIVATE, MS_RDONLY, MS_REC, MS_RELATIME, MS_REMOUNT, MS_SHARED, MS_SLAVE, MS_STRICTATIME, MS_SYNCHRONOUS,
  MS_UNBINDABLE, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, PR_CAP_AMBIENT_RAISE, PR_CAPBSET_DROP, PR_SET_KEEPCAPS,
  PR_SET_NO_NEW_PRIVS, RLIMITS,
} from "../sys/constants";
import { cloneFlag } from "../sys/namespaces";
import * as initSys from "../sys/process";
import { loadFilterOnCurrentThread } from "../seccomp/load";
import { programCandidates } from "./programSearch";
import { resolveInRoot } from "./rootPath";
import { cgroupPathIn, hostHierarchies, type HostHierarchy } from "../cgroup/hierarchies";
import { cgroupsOf } from "../cgroup/membership";
import { resolveExecUser } from "./execUser";
import { setControllingTerminal, setsid } from "../sys/terminal";
import {
  INIT_LAUNCHER_PIDFD, INIT_SOCKET_FD, INIT_TARGET_PIDFD,
  type ExecRequest, type InitFailure, type InitMessage, type InitRequest, type PrepareRequest,
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

/**
 * A "cgroup" mount (runc's default config has one at /sys/fs/cgroup): the host's layout again,
 * showing only the container's own cgroup. In a new cgroup namespace each hierarchy is mounted
 * afresh (its root is then the container's cgroup); without one, the container's cgroup directory
 * of each hierarchy is bound there, as runc does, since a fresh mount would show the whole host.
 */
function mountCgroups(dest: string, o: ParsedOptions, ownNamespace: boolean): void {
  const { unifiedOnly, hierarchies } = hostHierarchies();
  const memberships = ownNamespace ? [] : cgroupsOf("self");
  const mountHierarchy = (h: HostHierarchy, target: string): void => {
    if (ownNamespace) {
      libc.mount(h.type, target, h.type, o.flags, h.data === "" ? null : h.data);
      return;
    }
    const path = cgroupPathIn(h, memberships);
    if (path === undefined) throw new NotFoundError("cgroup", `of this process in /sys/fs/cgroup/${h.name}`, "/proc/self/cgroup does not list it");
    libc.mount(join("/sys/fs/cgroup", h.name, path), target, null, MS_BIND);
    libc.mount(null, target, null, MS_BIND | MS_REMOUNT | o.flags);
  };
  if (unifiedOnly) {
    mountHierarchy({ name: "", type: "cgroup2", data: "" }, dest);
    return;
  }
  // The tmpfs stays writable, as in runc: it is the container's own, and "ro" applies to the
  // hierarchies. A hybrid host's cgroup2 "unified" is left out, as runc does.
  libc.mount("tmpfs", dest, "tmpfs", o.flags & ~MS_RDONLY, "mode=755");
  for (const h of hierarchies) {
    if (h.type === "cgroup2") continue;
    const target = join(dest, h.name);
    mkdirSync(target);
    mountHierarchy(h, target);
  }
}

function mountOne(rootfs: string, m: MountSpec, ownCgroupNamespace: boolean): void {
  const dest = resolveInRoot(rootfs, m.destination);
  const o = parseOptions(m);
  if (m.type === "cgroup" || m.type === "cgroup2") {
    mkdirSync(dest, { recursive: true });
    mountCgroups(dest, o, ownCgroupNamespace);
  } else if (o.bind) {
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

function joinNamespaces(spec: ContainerSpec, joinFds: PrepareRequest["joinFds"]): void {
  // A joined pid namespace was entered by the spawning worker (it is fixed at fork); a joined
  // mount namespace is rejected by validateSpec. The rest come as launcher fds, copied here.
  for (const ns of spec.linux?.namespaces ?? []) {
    if (ns.path === undefined || ns.type === "pid") continue;
    const launcherFd = ns.type === "mount" ? undefined : joinFds?.[ns.type];
    if (launcherFd === undefined) throw new ValidationError("linux.namespaces", `joining a ${ns.type} namespace is not supported`);
    const fd = initSys.pidfdGetfd(INIT_LAUNCHER_PIDFD, launcherFd);
    try {
      libc.setns(fd, cloneFlag(ns.type), ns.path);
    } finally {
      closeSync(fd);
    }
  }
  // Unshared only now, after the launcher placed this process in its cgroup: the new cgroup
  // namespace is rooted at the container's own cgroup, as in runc.
  if (spec.linux?.namespaces?.some((n) => n.type === "cgroup" && n.path === undefined) === true) libc.unshare(CLONE_NEWCGROUP);
}

function buildRoot(spec: ContainerSpec): void {
  const rootfs = spec.root.path;
  // Nothing mounted from here on may propagate back to the host's mount namespace.
  step("make / rprivate", () => libc.mount(null, "/", null, MS_REC | MS_PRIVATE));
  step("bind rootfs", () => libc.mount(rootfs, rootfs, null, MS_BIND | MS_REC));
  const ownCgroupNs = spec.linux?.namespaces?.some((n) => n.type === "cgroup" && n.path === undefined) === true;
  for (const m of spec.mounts ?? []) step(`mount ${m.destination}`, () => mountOne(rootfs, m, ownCgroupNs));
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
  // Masked files are bound to the container's own null device: the host's, behind the detached
  // old root, cannot be a bind source (EINVAL: not in this mount namespace).
  const hasNull = step("find /dev/null", () => {
    const own = openNullDevice("/dev/null");
    if (own !== undefined) closeSync(own);
    return own !== undefined;
  });
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
      else if (hasNull) libc.mount("/dev/null", p, null, MS_BIND);
      else throw new ValidationError("linux.maskedPaths", `no null device to mask ${p} with`, "mount a tmpfs on /dev (hostform creates the nodes)");
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

const NULL_RDEV_MAJOR = 1;
const NULL_RDEV_MINOR = 3;

/** An open fd of `path` when it is the null device (char 1:3), else undefined. */
function openNullDevice(path: string): number | undefined {
  let fd: number;
  try {
    // Checked before opening: opening a fifo planted there by the rootfs would block. O_NOFOLLOW
    // for a symlink (libuv adds O_CLOEXEC); the fstat below is what decides.
    if (!lstatSync(path).isCharacterDevice()) return undefined;
    fd = openSync(path, fsConstants.O_RDWR | fsConstants.O_NOFOLLOW);
  } catch (err) {
    if (hasCode(err, "ENOENT") || hasCode(err, "ELOOP") || hasCode(err, "ENXIO") || hasCode(err, "EACCES")) return undefined;
    throw err;
  }
  const st = fstatSync(fd);
  const rdev = st.rdev;
  if (st.isCharacterDevice() && Math.floor(rdev / 256) % 4096 === NULL_RDEV_MAJOR && (rdev & 0xff) === NULL_RDEV_MINOR) return fd;
  closeSync(fd);
  return undefined;
}

/**
 * Points every ignored fd 0-2 at the null device. Left alone they would be whatever the init had
 * (closed at execve, so the program's first open() would become its stdout). The container's own
 * /dev/null is preferred; `fallback` is the host's, opened before pivot_root (a char device: no
 * path to host files goes through it).
 */
function nullStdio(stdio: InitRequest["stdio"], fallback: number | undefined): void {
  if (!stdio.includes(null)) return;
  const fd = openNullDevice("/dev/null") ?? fallback;
  if (fd === undefined) throw new ValidationError("mounts", "the container has no /dev/null for its ignored stdio", "mount a tmpfs on /dev (hostform creates the nodes) or provide /dev/null in the rootfs");
  stdio.forEach((choice, i) => {
    if (choice === null) initSys.dup3(fd, i, 0);
  });
  if (fd !== fallback) closeSync(fd);
}

/** Finds the program in the container (after pivot_root), as execvp would, but reports a miss clearly. */
function resolveProgram(spec: ContainerSpec): string {
  const name = spec.process.args[0] ?? "";
  const X_OK = 1;
  let denied: string | undefined;
  for (const c of programCandidates(spec)) {
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

/** What is left to do at start: the filter (when it can wait until then) and the program. */
interface ReadyToExec {
  program: string;
  /** Loaded right before execve: the waiting init must not run under the container's filter. */
  seccomp?: Buffer;
}

/**
 * Ambient capabilities the kernel would refuse to raise (not in both permitted and inheritable):
 * dropped with a warning, as runc does, so `runc spec`'s default config (ambient, no inheritable)
 * runs the same.
 */
function raisableAmbient(caps: ContainerSpec["process"]["capabilities"], warn: (message: string) => void): string[] {
  const permitted = new Set(caps?.permitted ?? []);
  const inheritable = new Set(caps?.inheritable ?? []);
  const out: string[] = [];
  for (const name of caps?.ambient ?? []) {
    if (permitted.has(name) && inheritable.has(name)) out.push(name);
    else warn(`process.capabilities.ambient: ${name} is not in both the permitted and inheritable sets; not raised`);
  }
  return out;
}

function dropPrivileges(spec: ContainerSpec, lastCap: number, seccomp: Buffer | undefined, warn: (message: string) => void): ReadyToExec {
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
  const ambient = raisableAmbient(p.capabilities, warn);
  step("set capabilities", () => {
    libc.capset({
      effective: capMaskOf(p.capabilities?.effective),
      permitted: capMaskOf(p.capabilities?.permitted),
      inheritable: capMaskOf(p.capabilities?.inheritable),
    });
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL);
    for (const name of ambient) libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAPABILITIES[name]!);
  });
  if (nnp) step("no_new_privs", () => libc.prctl(PR_SET_NO_NEW_PRIVS, 1));
  libc.umask(p.user.umask ?? 0o022);
  return seccomp !== undefined && nnp ? { program, seccomp } : { program };
}

/**
 * The last step: "exec" to the launcher, the deferred filter, execve. "exec" goes first so that
 * between the filter and the program only execve runs: an allow-list needs nothing of the init's.
 * A later failure still reaches the launcher as an "error" (or as the init's exit).
 */
function execProgram(spec: ContainerSpec, ready: ReadyToExec): never {
  send({ kind: "exec" });
  const seccomp = ready.seccomp;
  if (seccomp !== undefined) step("load seccomp filter", () => loadFilterOnCurrentThread(seccomp, { noNewPrivs: false }));
  return step("execve", () => initSys.execve(ready.program, spec.process.args, spec.process.env ?? []));
}

function warner(message: string): void {
  send({ kind: "warning", message });
}

/**
 * OCI "create": builds the whole container around this process, everything but the filter (when
 * no_new_privs lets it wait) and execve, so every setup error is reported before start.
 */
function prepareContainer(req: PrepareRequest, lastCap: number): ReadyToExec {
  const spec = req.spec;
  // Its own session and process group: a signal to the supervisor's group must not reach it.
  step("setsid", () => setsid());
  libc.umask(0);
  step("join namespaces", () => joinNamespaces(spec, req.joinFds));
  // The host's null device, in case the container has none: opened while the host's /dev is here.
  const hostNull = step("open /dev/null", () => openNullDevice("/dev/null"));
  buildRoot(spec);
  if (spec.hostname !== undefined) step("sethostname", () => libc.sethostname(spec.hostname!));
  for (const r of spec.process.rlimits ?? []) {
    step(`rlimit ${r.type}`, () => libc.prlimit(0, RLIMITS[r.type]!, { soft: r.soft, hard: r.hard }));
  }
  step("stdio", () => {
    takeStdio(req.stdio);
    nullStdio(req.stdio, hostNull);
  });
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
  return dropPrivileges(spec, lastCap, seccomp, warner);
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
  const hostNull = req.stdio.includes(null) ? step("open /dev/null", () => openNullDevice("/dev/null")) : undefined;
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
  step("stdio", () => {
    takeStdio(req.stdio);
    nullStdio(req.stdio, hostNull);
  });
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
  return execProgram(spec, dropPrivileges(spec, lastCap, seccomp, warner));
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

/** Blocks until the launcher says "start"; false on EOF (the container was aborted or its launcher died). */
function waitForStart(): boolean {
  // One small read into a buffer allocated before: the waiting init may already be under the
  // container's seccomp filter (without no_new_privs), so it makes as few syscalls as it can.
  const buf = Buffer.alloc(64);
  let line = "";
  for (;;) {
    const n = readSync(INIT_SOCKET_FD, buf, 0, buf.length, null);
    if (n === 0) return false;
    line += buf.toString("latin1", 0, n);
    if (line.endsWith("\n")) return line.includes('"start"');
  }
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
    const ready = prepareContainer(req, lastCap);
    send({ kind: "prepared" });
    if (!waitForStart()) process.exit(0);
    execProgram(req.spec, ready);
  } catch (err) {
    try {
      send(failure(err));
    } finally {
      process.exit(1);
    }
  }
}

main();
