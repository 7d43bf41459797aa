// Typed wrappers around the libc calls hostform makes. Each throws SysError on failure, with the
// call name and the object it acted on. Credential calls go through syscall(2) on purpose: glibc's
// setresuid/setgroups wrappers change every thread of the process, and in Node that would change the
// credentials of libuv's and V8's threads too. The raw syscalls change only the calling thread.
import { checkCall as check, koffi, libc, syscallFunction } from "./ffi";
import { hasCode, ValidationError } from "./errors";
import { CAPABILITIES, LINUX_CAPABILITY_VERSION_3, SYS } from "./constants";

type Fn = (...args: unknown[]) => number;

interface Bindings {
  unshare: Fn;
  setns: Fn;
  mount: Fn;
  umount2: Fn;
  sethostname: Fn;
  setdomainname: Fn;
  prctl: Fn;
  kill: Fn;
  prlimit: Fn;
  close_range: Fn;
  memfd_create: Fn;
  mknod: Fn;
  chroot: Fn;
  chdir: Fn;
  fchdir: Fn;
  getpid: Fn;
  umask: Fn;
  flock: Fn;
  Rlimit: koffi.TypeObject;
}

let bound: Bindings | undefined;

function b(): Bindings {
  if (bound !== undefined) return bound;
  const lib = libc();
  const Rlimit = koffi.struct("hf_rlimit", { cur: "uint64_t", max: "uint64_t" });
  bound = {
    unshare: lib.func("int unshare(int flags)"),
    setns: lib.func("int setns(int fd, int nstype)"),
    mount: lib.func("int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)"),
    umount2: lib.func("int umount2(const char *target, int flags)"),
    sethostname: lib.func("int sethostname(const char *name, size_t len)"),
    setdomainname: lib.func("int setdomainname(const char *name, size_t len)"),
    prctl: lib.func("int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)"),
    kill: lib.func("int kill(int pid, int sig)"),
    prlimit: lib.func("int prlimit(int pid, int resource, const hf_rlimit *newLimit, _Out_ hf_rlimit *oldLimit)"),
    close_range: lib.func("int close_range(unsigned int first, unsigned int last, int flags)"),
    memfd_create: lib.func("int memfd_create(const char *name, unsigned int flags)"),
    mknod: lib.func("int mknod(const char *path, uint32_t mode, uint64_t dev)"),
    chroot: lib.func("int chroot(const char *path)"),
    chdir: lib.func("int chdir(const char *path)"),
    fchdir: lib.func("int fchdir(int fd)"),
    getpid: lib.func("int getpid()"),
    umask: lib.func("uint32_t umask(uint32_t mask)"),
    flock: lib.func("int flock(int fd, int operation)"),
    Rlimit,
  };
  return bound;
}


export function unshare(flags: number): void {
  check(b().unshare(flags), "unshare", `flags=0x${flags.toString(16)}`);
}

export function setns(fd: number, nstype: number, path?: string): void {
  check(b().setns(fd, nstype), "setns", path ?? `fd ${fd}`);
}

export function mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null = null): void {
  check(b().mount(source, target, fstype, flags, data), "mount", target);
}

export function umount2(target: string, flags: number): void {
  check(b().umount2(target, flags), "umount2", target);
}

/**
 * flock(2) with LOCK_NB added: true when the lock was taken, false when another holder has it
 * (EWOULDBLOCK). Never blocks the event loop.
 */
export function tryFlock(fd: number, operation: number, path: string): boolean {
  const LOCK_NB = 4;
  try {
    check(b().flock(fd, operation | LOCK_NB), "flock", path);
    return true;
  } catch (err) {
    if (hasCode(err, "EWOULDBLOCK") || hasCode(err, "EAGAIN")) return false;
    throw err;
  }
}

export function sethostname(name: string): void {
  check(b().sethostname(name, Buffer.byteLength(name)), "sethostname", name);
}

export function setdomainname(name: string): void {
  check(b().setdomainname(name, Buffer.byteLength(name)), "setdomainname", name);
}

export function prctl(option: number, a2 = 0, a3 = 0, a4 = 0, a5 = 0): number {
  return check(b().prctl(option, a2, a3, a4, a5), "prctl", `option ${option}`);
}

/** pivot_root(2): glibc has no wrapper. */
export function pivotRoot(newRoot: string, putOld: string): void {
  check(syscallFunction()(SYS.pivot_root, "const char *", newRoot, "const char *", putOld), "pivot_root", newRoot);
}

/** Changes the real, effective and saved uid of the calling thread only. */
export function setresuid(uid: number): void {
  check(syscallFunction()(SYS.setresuid, "int", uid, "int", uid, "int", uid), "setresuid", `uid ${uid}`);
}

/** Changes the real, effective and saved gid of the calling thread only. */
export function setresgid(gid: number): void {
  check(syscallFunction()(SYS.setresgid, "int", gid, "int", gid, "int", gid), "setresgid", `gid ${gid}`);
}

/** Sets the supplementary groups of the calling thread only. */
export function setgroups(gids: readonly number[]): void {
  const arr = Uint32Array.from(gids);
  check(syscallFunction()(SYS.setgroups, "long", gids.length, "uint32_t *", gids.length > 0 ? arr : null), "setgroups", gids.join(","));
}

export function gettid(): number {
  return check(syscallFunction()(SYS.gettid), "gettid");
}

export function getpid(): number {
  return check(b().getpid(), "getpid");
}

export function kill(pid: number, signal: number): void {
  check(b().kill(pid, signal), "kill", `pid ${pid}`);
}

/** A pidfd for pid: signals sent through it can never reach a recycled PID. */
export function pidfdOpen(pid: number): number {
  return check(syscallFunction()(SYS.pidfd_open, "int", pid, "unsigned int", 0), "pidfd_open", `pid ${pid}`);
}

export function pidfdSendSignal(pidfd: number, signal: number): void {
  check(syscallFunction()(SYS.pidfd_send_signal, "int", pidfd, "int", signal, "void *", null, "unsigned int", 0), "pidfd_send_signal", `pidfd ${pidfd}`);
}

export function closeRange(first: number, last: number, flags: number): void {
  check(b().close_range(first, last, flags), "close_range", `${first}-${last}`);
}

export function memfdCreate(name: string, flags: number): number {
  return check(b().memfd_create(name, flags), "memfd_create", name);
}

export function mknod(path: string, mode: number, major: number, minor: number): void {
  // glibc's makedev layout: low 8 bits of minor, then 12 bits of major, then the rest of minor.
  const dev = (BigInt(minor & 0xff) | (BigInt(major & 0xfff) << 8n) | (BigInt(minor & ~0xff) << 12n) | (BigInt(major & ~0xfff) << 32n));
  check(b().mknod(path, mode, dev), "mknod", path);
}

export function chroot(path: string): void {
  check(b().chroot(path), "chroot", path);
}

export function chdir(path: string): void {
  check(b().chdir(path), "chdir", path);
}

export function fchdir(fd: number): void {
  check(b().fchdir(fd), "fchdir", `fd ${fd}`);
}

export function umask(mask: number): number {
  return b().umask(mask);
}

export interface Rlimit {
  /** Soft limit; Infinity for RLIM_INFINITY. */
  soft: number;
  /** Hard limit; Infinity for RLIM_INFINITY. */
  hard: number;
}

const RLIM_INFINITY = 0xffffffffffffffffn;

function toRlim(v: number): bigint {
  return v === Infinity ? RLIM_INFINITY : BigInt(v);
}

function fromRlim(v: bigint | number): number {
  return BigInt(v) === RLIM_INFINITY ? Infinity : Number(v);
}

/** Reads (and optionally sets) a resource limit of any process, as prlimit(2). */
export function prlimit(pid: number, resource: number, next?: Rlimit): Rlimit {
  const old = { cur: 0n, max: 0n };
  const nextStruct = next === undefined ? null : { cur: toRlim(next.soft), max: toRlim(next.hard) };
  check(b().prlimit(pid, resource, nextStruct, old), "prlimit", `pid ${pid} resource ${resource}`);
  return { soft: fromRlim(old.cur), hard: fromRlim(old.max) };
}

export interface CapSets {
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
}

// struct __user_cap_header_struct { u32 version; int pid; } followed by two
// struct __user_cap_data_struct { u32 effective, permitted, inheritable; } (capability.h, v3).
function capHeader(tid: number): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32LE(LINUX_CAPABILITY_VERSION_3, 0);
  h.writeInt32LE(tid, 4);
  return h;
}

/** Capability sets of a thread (0 = the calling thread). */
export function capget(tid = 0): CapSets {
  const data = Buffer.alloc(24);
  check(syscallFunction()(SYS.capget, "void *", capHeader(tid), "void *", data), "capget", `tid ${tid}`);
  const join = (off: number): bigint => BigInt(data.readUInt32LE(off)) | (BigInt(data.readUInt32LE(12 + off)) << 32n);
  return { effective: join(0), permitted: join(4), inheritable: join(8) };
}

/** Sets the capability sets of the calling thread (capset is per thread by nature). */
export function capset(sets: CapSets): void {
  const data = Buffer.alloc(24);
  const put = (off: number, v: bigint): void => {
    data.writeUInt32LE(Number(v & 0xffffffffn), off);
    data.writeUInt32LE(Number((v >> 32n) & 0xffffffffn), 12 + off);
  };
  put(0, sets.effective);
  put(4, sets.permitted);
  put(8, sets.inheritable);
  check(syscallFunction()(SYS.capset, "void *", capHeader(0), "void *", data), "capset");
}

/** Bit mask for a list of CAP_* names; an unknown name is a ValidationError of `field` naming it. */
export function capMask(names: readonly string[], field = "capabilities"): bigint {
  let mask = 0n;
  for (const name of names) {
    const bit = CAPABILITIES[name];
    if (bit === undefined) throw new ValidationError(field, `unknown capability ${name}`, "use the CAP_* names of capabilities(7)");
    mask |= 1n << BigInt(bit);
  }
  return mask;
}

let waitidFn: Fn | undefined;

/** How a reaped child ended: its exit code, or the signal that killed it. */
export interface ReapedStatus {
  code: number | null;
  signal: number | null;
}

/**
 * waitid(P_PIDFD, pidfd, WEXITED): reaps an exited child known by its pidfd (the pid can never
 * be a recycled one), and says how it ended. With noHang, returns undefined while the child still
 * runs. Throws ECHILD when the process is not a child of this process (a child subreaper counts
 * orphans it inherited as its children).
 */
export function reapPidfd(pidfd: number, options: { noHang?: boolean } = {}): ReapedStatus | undefined {
  waitidFn ??= libc().func("int waitid(int idtype, uint32_t id, void *infop, int options)") as Fn;
  const P_PIDFD = 3;
  const WEXITED = 4;
  const WNOHANG = 1;
  // siginfo_t is 128 bytes; for SIGCHLD si_code is at offset 8, si_pid at 16 (0 when nothing was
  // reaped) and si_status at 24.
  const info = Buffer.alloc(128);
  check(waitidFn(P_PIDFD, pidfd, info, WEXITED | (options.noHang === true ? WNOHANG : 0)), "waitid", `pidfd ${pidfd}`);
  if (info.readInt32LE(16) === 0) return undefined;
  const CLD_EXITED = 1;
  const status = info.readInt32LE(24);
  return info.readInt32LE(8) === CLD_EXITED ? { code: status, signal: null } : { code: null, signal: status };
}

/** reapPidfd that only says whether a child was reaped. */
export function waitidPidfd(pidfd: number, options: { noHang?: boolean } = {}): boolean {
  return reapPidfd(pidfd, options) !== undefined;
}

let openFn: Fn | undefined;

/**
 * open(path, O_RDONLY | O_CLOEXEC) outside Node's descriptor bookkeeping: Node closes every fd a
 * worker thread opened through node:fs when that worker exits, while one opened here stays open
 * (the fd table is the process's) until the caller closes it (fs.closeSync).
 */
export function openReadOnly(path: string): number {
  openFn ??= libc().func("int open(const char *path, int flags)") as Fn;
  const O_CLOEXEC = 0o2000000;
  return check(openFn(path, O_CLOEXEC), "open", path);
}
