// Unix stream sockets that carry a file descriptor, the way runc hands a pty master to its caller
// (--console-socket): one message whose data is a name and whose one SCM_RIGHTS control message is
// the fd. Node's net module cannot send or receive fds, so these go through libc. All calls block:
// the init is synchronous, and a receiver calls recvFd once the sender has connected and sent.
import { closeSync } from "node:fs";
import { checkCall as check, koffi, libc } from "./ffi";
import { HostformError } from "./errors";

type Fn = (...args: unknown[]) => number;

interface Bindings {
  socket: Fn;
  connect: Fn;
  bind: Fn;
  listen: Fn;
  accept4: Fn;
  sendmsg: Fn;
  recvmsg: Fn;
  socketpair: Fn;
}

let bound: Bindings | undefined;

function b(): Bindings {
  if (bound !== undefined) return bound;
  const lib = libc();
  bound = {
    socket: lib.func("int socket(int domain, int type, int protocol)"),
    connect: lib.func("int connect(int fd, const void *addr, uint32_t len)"),
    bind: lib.func("int bind(int fd, const void *addr, uint32_t len)"),
    listen: lib.func("int listen(int fd, int backlog)"),
    accept4: lib.func("int accept4(int fd, void *addr, void *len, int flags)"),
    sendmsg: lib.func("intptr_t sendmsg(int fd, const void *msg, int flags)"),
    recvmsg: lib.func("intptr_t recvmsg(int fd, void *msg, int flags)"),
    socketpair: lib.func("int socketpair(int domain, int type, int protocol, _Out_ int *sv)"),
  };
  return bound;
}

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0x80000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_NOSIGNAL = 0x4000;
const MSG_CTRUNC = 0x8;
const MSG_CMSG_CLOEXEC = 0x40000000;

// LP64 layouts (x86_64 and aarch64 agree): sockaddr_un {u16 family; char path[108]},
// iovec {void *base; size_t len}, msghdr {name@0, namelen@8, iov@16, iovlen@24, control@32,
// controllen@40, flags@48} (56 bytes), cmsghdr {size_t len; int level; int type} (16 bytes, then data).
const SUN_PATH_MAX = 108;
const MSGHDR_SIZE = 56;
const CMSGHDR_SIZE = 16;
/** CMSG_LEN(4): the header and one int, unpadded. */
const CMSG_LEN_ONE_FD = CMSGHDR_SIZE + 4;
/** CMSG_SPACE(4): the data padded to the 8-byte alignment of size_t. */
const CMSG_SPACE_ONE_FD = CMSGHDR_SIZE + 8;

function sockaddr(path: string): Buffer {
  const bytes = Buffer.from(path);
  // One byte is kept for the terminating NUL the kernel accepts but does not need.
  if (bytes.length === 0 || bytes.length >= SUN_PATH_MAX) {
    throw new HostformError(`unix socket path '${path}' must be 1 to ${SUN_PATH_MAX - 1} bytes long (it is ${bytes.length})`);
  }
  const addr = Buffer.alloc(2 + SUN_PATH_MAX);
  addr.writeUInt16LE(AF_UNIX, 0);
  bytes.copy(addr, 2);
  return addr;
}

function newSocket(path: string): number {
  return check(b().socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket", path);
}

/** Two connected close-on-exec unix stream sockets. */
export function socketPair(): [number, number] {
  const sv = [0, 0];
  check(b().socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), "socketpair", "unix stream");
  return [sv[0]!, sv[1]!];
}

/** A close-on-exec stream socket connected to the unix socket at path. */
export function connectUnix(path: string): number {
  const addr = sockaddr(path);
  const fd = newSocket(path);
  try {
    check(b().connect(fd, addr, addr.length), "connect", path);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}

/** A close-on-exec stream socket bound to path (which must not exist) and listening. */
export function listenUnix(path: string, backlog = 4): number {
  const addr = sockaddr(path);
  const fd = newSocket(path);
  try {
    check(b().bind(fd, addr, addr.length), "bind", path);
    check(b().listen(fd, backlog), "listen", path);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}

/** The next connection on a listening socket, close-on-exec; blocks until there is one. */
export function acceptUnix(listener: number): number {
  return check(b().accept4(listener, null, null, SOCK_CLOEXEC), "accept4", `fd ${listener}`);
}

/** A msghdr over one data buffer and one control buffer; the caller keeps both referenced during the call. */
function msghdr(iov: Buffer, data: Buffer, control: Buffer): Buffer {
  iov.writeBigUInt64LE(koffi.address(data), 0);
  iov.writeBigUInt64LE(BigInt(data.length), 8);
  const msg = Buffer.alloc(MSGHDR_SIZE);
  msg.writeBigUInt64LE(koffi.address(iov), 16);
  msg.writeBigUInt64LE(1n, 24);
  msg.writeBigUInt64LE(koffi.address(control), 32);
  msg.writeBigUInt64LE(BigInt(control.length), 40);
  return msg;
}

/**
 * Sends data and one fd in a single message (sendmsg with one SCM_RIGHTS control message), as
 * runc's utils.SendFd does. data must not be empty: a stream socket drops a message with no data.
 */
export function sendFd(sock: number, data: string, fd: number): void {
  const payload = Buffer.from(data);
  if (payload.length === 0) throw new HostformError("sendFd needs data: a message with only an fd is not delivered on a stream socket");
  const control = Buffer.alloc(CMSG_SPACE_ONE_FD);
  control.writeBigUInt64LE(BigInt(CMSG_LEN_ONE_FD), 0);
  control.writeInt32LE(SOL_SOCKET, 8);
  control.writeInt32LE(SCM_RIGHTS, 12);
  control.writeInt32LE(fd, CMSGHDR_SIZE);
  const iov = Buffer.alloc(16);
  const msg = msghdr(iov, payload, control);
  const sent = check(b().sendmsg(sock, msg, MSG_NOSIGNAL), "sendmsg", `fd ${sock}`);
  // Keep the buffers whose addresses msg holds alive across the call.
  void [payload, control, iov];
  if (sent !== payload.length) throw new HostformError(`sendmsg on fd ${sock} sent ${sent} of ${payload.length} bytes`);
}

/** A message received by recvFd: its data and the fd it carried (close-on-exec, owned by the caller). */
export interface ReceivedFd {
  data: string;
  fd: number;
}

/**
 * Receives one message that carries exactly one fd (see sendFd). A message without an fd, or with
 * more fds or control data than one fd, is refused; fds that did arrive are closed first.
 */
export function recvFd(sock: number, maxData = 4096): ReceivedFd {
  const payload = Buffer.alloc(maxData);
  // Room for a few fds, so that a sender that sends more is detected rather than truncated.
  const control = Buffer.alloc(CMSGHDR_SIZE + 8 * 4);
  const iov = Buffer.alloc(16);
  const msg = msghdr(iov, payload, control);
  const n = check(b().recvmsg(sock, msg, MSG_CMSG_CLOEXEC), "recvmsg", `fd ${sock}`);
  void [payload, control, iov];
  const flags = msg.readInt32LE(48);
  const controlLen = Number(msg.readBigUInt64LE(40));
  const fds: number[] = [];
  let offset = 0;
  while (offset + CMSGHDR_SIZE <= controlLen) {
    const len = Number(control.readBigUInt64LE(offset));
    if (len < CMSGHDR_SIZE) break;
    if (control.readInt32LE(offset + 8) === SOL_SOCKET && control.readInt32LE(offset + 12) === SCM_RIGHTS) {
      for (let p = offset + CMSGHDR_SIZE; p + 4 <= offset + len; p += 4) fds.push(control.readInt32LE(p));
    }
    offset += (len + 7) & ~7;
  }
  const data = payload.subarray(0, n).toString();
  if (fds.length === 1 && (flags & MSG_CTRUNC) === 0) return { data, fd: fds[0]! };
  for (const fd of fds) closeSync(fd);
  const what = n === 0 && fds.length === 0 ? "the connection was closed" : `got ${fds.length} fds${(flags & MSG_CTRUNC) !== 0 ? " (control data truncated)" : ""} with ${n} bytes of data`;
  throw new HostformError(`expected one fd on unix socket fd ${sock}: ${what}`);
}
