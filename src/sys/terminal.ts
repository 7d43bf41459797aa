// The libc calls behind `exec -t`: opening a pty master inside a container's devpts without
// following the container's symlinks to the host, getting its slave without a path lookup, window
// sizes, and making a slave the controlling terminal.
import { checkCall as check, libc, syscallFunction } from "./ffi";

type Fn = (...args: unknown[]) => number;

interface Bindings {
  ioctl: Fn;
  setsid: Fn;
}

let bound: Bindings | undefined;

function b(): Bindings {
  if (bound !== undefined) return bound;
  const lib = libc();
  bound = {
    ioctl: lib.func("int ioctl(int fd, unsigned long request, ...)"),
    setsid: lib.func("int setsid()"),
  };
  return bound;
}


// asm-generic ioctl numbers, shared by x86_64 and aarch64.
const TIOCSWINSZ = 0x5414;
const TIOCGWINSZ = 0x5413;
const TIOCSCTTY = 0x540e;
const TIOCGPTN = 0x80045430;
const TIOCSPTLCK = 0x40045431;
const TIOCGPTPEER = 0x5441;
// openat2 has one number on every architecture (added after the tables were unified).
const SYS_OPENAT2 = 437;

export const O_RDWR = 0x2;
export const O_NOCTTY = 0x100;
export const O_CLOEXEC = 0x80000;
export const O_DIRECTORY = 0x10000;
export const O_PATH = 0x200000;
/** Resolve as if dirfd were "/": absolute symlinks and ".." stay inside it. */
export const RESOLVE_IN_ROOT = 0x10;
export const RESOLVE_NO_MAGICLINKS = 0x02;

/** openat2(2) with struct open_how {flags, mode, resolve}. */
export function openat2(dirfd: number, path: string, flags: number, resolve: number): number {
  const how = Buffer.alloc(24);
  how.writeBigUInt64LE(BigInt(flags), 0);
  how.writeBigUInt64LE(BigInt(resolve), 16);
  return check(syscallFunction()(SYS_OPENAT2, "int", dirfd, "const char *", path, "void *", how, "size_t", 24), "openat2", path);
}

/** unlockpt(3): clears the lock a new pty pair starts with. */
export function unlockPty(master: number): void {
  const zero = Buffer.alloc(4);
  check(b().ioctl(master, TIOCSPTLCK, "void *", zero), "ioctl(TIOCSPTLCK)", `fd ${master}`);
}

/** ptsname(3) as a number: the N of /dev/pts/N in the master's devpts instance. */
export function ptyNumber(master: number): number {
  const out = Buffer.alloc(4);
  check(b().ioctl(master, TIOCGPTN, "void *", out), "ioctl(TIOCGPTN)", `fd ${master}`);
  return out.readUInt32LE(0);
}

/**
 * Opens the slave of a master by the master itself (TIOCGPTPEER), with no path lookup: a path
 * would be resolved in the caller's mount namespace, where the container's devpts is not mounted.
 */
export function openPtyPeer(master: number, flags: number): number {
  return check(b().ioctl(master, TIOCGPTPEER, "int", flags), "ioctl(TIOCGPTPEER)", `fd ${master}`);
}

/**
 * The other end of a new master, ready to use: unlocked, sized when asked, and opened by the master
 * itself (read-write, not a controlling terminal by this open, close-on-exec).
 */
export function openUnlockedPeer(master: number, size?: WindowSize): number {
  unlockPty(master);
  if (size !== undefined) setWindowSize(master, size);
  return openPtyPeer(master, O_RDWR | O_NOCTTY | O_CLOEXEC);
}

/** A terminal's size in character cells. */
export interface WindowSize {
  rows: number;
  cols: number;
}

export function setWindowSize(fd: number, size: WindowSize): void {
  const ws = Buffer.alloc(8);
  ws.writeUInt16LE(size.rows, 0);
  ws.writeUInt16LE(size.cols, 2);
  check(b().ioctl(fd, TIOCSWINSZ, "void *", ws), "ioctl(TIOCSWINSZ)", `fd ${fd}`);
}

export function getWindowSize(fd: number): WindowSize {
  const ws = Buffer.alloc(8);
  check(b().ioctl(fd, TIOCGWINSZ, "void *", ws), "ioctl(TIOCGWINSZ)", `fd ${fd}`);
  return { rows: ws.readUInt16LE(0), cols: ws.readUInt16LE(2) };
}

/** setsid(2): a new session with no controlling terminal, led by the caller. */
export function setsid(): void {
  check(b().setsid(), "setsid");
}

/** Makes the terminal on fd the controlling terminal of the caller's session (it must lead it). */
export function setControllingTerminal(fd: number): void {
  check(b().ioctl(fd, TIOCSCTTY, "int", 0), "ioctl(TIOCSCTTY)", `fd ${fd}`);
}
