// The libc calls only the container init makes, right before it becomes the user's program. They
// live here rather than in src/sys/libc.ts because that file was being extended concurrently by
// others; they use the one koffi loader of src/sys/ffi.ts and can move there unchanged.
import { koffi, libc, lastErrno } from "../sys/ffi";
import { SysError } from "../sys/errors";

type Fn = (...args: unknown[]) => number;

interface Bindings {
  execve: Fn;
  dup3: Fn;
  signal: Fn;
  sigprocmask: Fn;
  access: Fn;
  syscall: Fn;
  prctlFilter: Fn;
}

let bound: Bindings | undefined;

function b(): Bindings {
  if (bound !== undefined) return bound;
  const lib = libc();
  const SockFprog = koffi.struct("hf_sock_fprog", { len: "uint16_t", filter: "void *" });
  bound = {
    execve: lib.func("int execve(const char *path, const char **argv, const char **envp)"),
    dup3: lib.func("int dup3(int oldfd, int newfd, int flags)"),
    signal: lib.func("intptr_t signal(int sig, intptr_t handler)"),
    sigprocmask: lib.func("int sigprocmask(int how, const void *set, void *oldset)"),
    access: lib.func("int access(const char *path, int mode)"),
    syscall: lib.func("long syscall(long number, ...)"),
    prctlFilter: lib.func("prctl", "int", ["int", "unsigned long", koffi.pointer(SockFprog), "unsigned long", "unsigned long"]),
  };
  return bound;
}

function check(ret: number | bigint, syscall: string, path?: string): number {
  const n = Number(ret);
  if (n < 0) throw new SysError(syscall, lastErrno(), path);
  return n;
}

/**
 * execve(2); returns only by throwing. Sound from multi-threaded Node: the kernel ends every other
 * thread, and the calling thread carries on with its own (per-thread) credentials and filters.
 */
export function execve(path: string, argv: readonly string[], env: readonly string[]): never {
  b().execve(path, [...argv, null], [...env, null]);
  throw new SysError("execve", lastErrno(), path);
}

/** dup3(2): flags 0 clears close-on-exec on newfd (Node sets it on fds 0-2). */
export function dup3(oldfd: number, newfd: number, flags = 0): void {
  check(b().dup3(oldfd, newfd, flags), "dup3", `fd ${oldfd} -> ${newfd}`);
}

const SYS_PIDFD_GETFD = 438;


/** pidfd_getfd(2): a copy of another process's fd, sharing its open file description. */
export function pidfdGetfd(pidfd: number, targetFd: number): number {
  return check(b().syscall(SYS_PIDFD_GETFD, "int", pidfd, "int", targetFd, "unsigned int", 0), "pidfd_getfd", `fd ${targetFd}`);
}

/**
 * Puts a signal back to its default action. execve keeps ignored signals ignored, and Node ignores
 * SIGPIPE and SIGXFSZ, so without this the user's program would inherit both ignored.
 */
export function resetSignal(signal: number): void {
  if (Number(b().signal(signal, 0)) === -1) throw new SysError("signal", lastErrno(), `signal ${signal}`);
}

/** Unblocks every signal of the calling thread: the signal mask survives execve. */
export function unblockAllSignals(): void {
  const SIG_SETMASK = 2;
  check(b().sigprocmask(SIG_SETMASK, Buffer.alloc(128), null), "sigprocmask");
}

/** access(2), checked with the calling thread's real ids. */
export function access(path: string, mode: number): void {
  check(b().access(path, mode), "access", path);
}

/**
 * Installs a compiled classic-BPF seccomp program (8-byte sock_filter records) on the calling
 * thread only. Needs no_new_privs or CAP_SYS_ADMIN. A stand-in until src/seccomp offers a loader.
 */
export function loadSeccompFilter(bpf: Buffer): void {
  if (bpf.length === 0 || bpf.length % 8 !== 0) throw new SysError("seccomp", 22, `program of ${bpf.length} bytes`);
  const PR_SET_SECCOMP = 22;
  const SECCOMP_MODE_FILTER = 2;
  check(b().prctlFilter(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, { len: bpf.length / 8, filter: bpf }, 0, 0), "seccomp", "SECCOMP_SET_MODE_FILTER");
}

