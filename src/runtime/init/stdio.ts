// The process's fd table at execve: fds 0-2 copied from the launcher (through its pidfd) or
// pointed at the null device, and every other fd closed on exec.
import { closeSync } from "node:fs";
import * as libc from "../../sys/libc";
import { CLOSE_RANGE_CLOEXEC } from "../../sys/constants";
import { O_CLOEXEC } from "../../sys/terminal";
import { ValidationError } from "../../sys/errors";
import * as initSys from "../../sys/process";
import { INIT_LAUNCHER_PIDFD, type InitRequest } from "../initProtocol";
import { recvFd } from "../../sys/unixSocket";
import { openNullDevice } from "./devices";

// Launcher fd → this process's copy, for fds the launcher sent (PrepareRequest.sentFds).
const sent = new Map<number, number>();

/** Receives the fds the launcher sent before the request, in its order. */
export function receiveLauncherFds(launcherFds: readonly number[]): void {
  for (const fd of launcherFds) sent.set(fd, recvFd(INIT_LAUNCHER_PIDFD, 1).fd);
}

/** A new fd (close-on-exec) of this process for a launcher fd: a copy of a sent one, or taken through the launcher's pidfd. */
function takeLauncherFd(fd: number): number {
  const received = sent.get(fd);
  return received === undefined ? initSys.pidfdGetfd(INIT_LAUNCHER_PIDFD, fd) : initSys.dupCloexec(received);
}

/**
 * Sets fds 0-2: each launcher fd in `stdio` is copied into place; each null goes to the null
 * device. Left alone, a null slot would be whatever the init had (closed at execve, so the
 * program's first open() would become its stdout). The container's /dev/null is preferred;
 * `hostNull` is the host's, opened before pivot_root (a char device: no path to host files goes
 * through it).
 */
export function setStdio(stdio: InitRequest["stdio"], hostNull: number | undefined): void {
  stdio.forEach((fd, i) => {
    if (fd === null) return;
    const copy = takeLauncherFd(fd);
    initSys.dup3(copy, i, 0);
    closeSync(copy);
  });
  if (!stdio.includes(null)) return;
  const fd = openNullDevice("/dev/null") ?? hostNull;
  if (fd === undefined) throw new ValidationError("mounts", "the container has no /dev/null for its ignored stdio", "mount a tmpfs on /dev (hostform creates the nodes) or provide /dev/null in the rootfs");
  stdio.forEach((choice, i) => {
    if (choice === null) initSys.dup3(fd, i, 0);
  });
  if (fd !== hostNull) closeSync(fd);
}

/** Copies a launcher fd into this process (close-on-exec), at `at` when given. */
export function copyLauncherFd(fd: number, at?: number): number {
  const copy = takeLauncherFd(fd);
  if (at === undefined || at === copy) return copy;
  initSys.dup3(copy, at, O_CLOEXEC);
  closeSync(copy);
  return at;
}

/**
 * Every fd but stdio closes at exec: the launcher socket (whose EOF then says "exec done"), the
 * launcher pidfd, and Node's own epoll/eventfd/pipe fds.
 */
export function closeOnExecAboveStdio(): void {
  libc.closeRange(3, 0xffffffff, CLOSE_RANGE_CLOEXEC);
}
