// Interface flags through the SIOCGIFFLAGS / SIOCSIFFLAGS ioctls on a datagram socket. A socket
// belongs to the network namespace of the thread that opened it, so these act on the caller's
// (thread's) namespace: a worker that has unshared CLONE_NEWNET, or a container's init.
import { closeSync } from "node:fs";
import { checkCall as check, libc } from "./ffi";

type Fn = (...args: unknown[]) => number;

interface Bindings {
  socket: Fn;
  ioctl: Fn;
}

let bound: Bindings | undefined;

function b(): Bindings {
  if (bound !== undefined) return bound;
  const lib = libc();
  bound = {
    socket: lib.func("int socket(int domain, int type, int protocol)"),
    ioctl: lib.func("int ioctl(int fd, unsigned long request, ...)"),
  };
  return bound;
}

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const IFF_UP = 0x1;
/** struct ifreq: a 16-byte name, then a 24-byte union whose first member is the short ifr_flags. */
const IFREQ_SIZE = 40;
const IFNAMSIZ = 16;

function ifreq(name: string): Buffer {
  if (Buffer.byteLength(name) >= IFNAMSIZ) throw new RangeError(`interface name ${name} is longer than ${IFNAMSIZ - 1} bytes`);
  const req = Buffer.alloc(IFREQ_SIZE);
  req.write(name, 0, "utf8");
  return req;
}

function withSocket<T>(fn: (fd: number) => T): T {
  const fd = check(b().socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket", "AF_INET datagram");
  try {
    return fn(fd);
  } finally {
    closeSync(fd);
  }
}

function flagsOf(fd: number, name: string): Buffer {
  const req = ifreq(name);
  check(b().ioctl(fd, SIOCGIFFLAGS, "void *", req), "ioctl(SIOCGIFFLAGS)", name);
  return req;
}

/** Sets the interface up in the calling thread's network namespace (needs CAP_NET_ADMIN there). */
export function setLinkUp(name: string): void {
  withSocket((fd) => {
    const req = flagsOf(fd, name);
    const flags = req.readUInt16LE(IFNAMSIZ);
    if ((flags & IFF_UP) !== 0) return;
    req.writeUInt16LE(flags | IFF_UP, IFNAMSIZ);
    check(b().ioctl(fd, SIOCSIFFLAGS, "void *", req), "ioctl(SIOCSIFFLAGS)", name);
  });
}
