// The libc calls a process makes to become another program: execve, descriptors copied from another
// process, and the signal state that execve would otherwise carry over (Node ignores some signals).
// The container init (src/runtime/init/) is their caller.
import { checkCall as check, libc, lastErrno, syscallFunction } from "./ffi";
import { SysError } from "./errors";
import { SYS } from "./constants";

type Fn = (...args: unknown[]) => number;

interface Bindings {
  execve: Fn;
  dup3: Fn;
  signal: Fn;
  sigprocmask: Fn;
  access: Fn;
  fcntl: Fn;
}

let bound: Bindings | undefined;

function b(): Bindings {
  if (bound !== undefined) return bound;
  const lib = libc();
  bound = {
    execve: lib.func("int execve(const char *path, const char **argv, const char **envp)"),
    dup3: lib.func("int dup3(int oldfd, int newfd, int flags)"),
    signal: lib.func("intptr_t signal(int sig, intptr_t handler)"),
    sigprocmask: lib.func("int sigprocmask(int how, const void *set, void *oldset)"),
    access: lib.func("int access(const char *path, int mode)"),
    fcntl: lib.func("int fcntl(int fd, int cmd, int arg)"),
  };
  return bound;
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



const F_DUPFD_CLOEXEC = 1030;

/** A close-on-exec duplicate of fd at the lowest free number (fcntl F_DUPFD_CLOEXEC). */
export function dupCloexec(fd: number): number {
  return check(b().fcntl(fd, F_DUPFD_CLOEXEC, 0), "fcntl(F_DUPFD_CLOEXEC)", `fd ${fd}`);
}

/** pidfd_getfd(2): a copy of another process's fd, sharing its open file description. */
export function pidfdGetfd(pidfd: number, targetFd: number): number {
  return check(syscallFunction()(SYS.pidfd_getfd, "int", pidfd, "int", targetFd, "unsigned int", 0), "pidfd_getfd", `fd ${targetFd}`);
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
