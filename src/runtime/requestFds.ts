// The fds a request names (stdio, console socket, exec fifo, passed fds), sent to an init in a
// user namespace over its fd channel. Such an init cannot copy them through a pidfd as others do:
// pidfd_getfd needs ptrace rights over the launcher, which root of a user namespace lacks.
import { sendFd } from "../sys/unixSocket";
import type { InitRequest } from "./initProtocol";

/** Sends every launcher fd `req` names, once each, and lists them in req.sentFds in that order. */
export function sendRequestFds(channel: number, req: InitRequest): void {
  const fds = new Set<number>();
  for (const fd of req.stdio) if (fd !== null) fds.add(fd);
  const more = req.kind === "prepare" ? [req.consoleSocket, req.startFifo, ...(req.extraFds ?? []), ...Object.values(req.idmapFds ?? {})] : (req.extraFds ?? []);
  for (const fd of more) if (fd !== undefined) fds.add(fd);
  req.sentFds = [...fds];
  for (const fd of req.sentFds) sendFd(channel, "f", fd);
}
