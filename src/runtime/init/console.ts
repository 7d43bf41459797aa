// process.terminal: the container's terminal, as runc makes it. A pty pair of the container's own
// devpts (opened after pivot_root, so /dev/ptmx is the container's), the slave as fds 0-2, the
// controlling terminal and /dev/console; the master goes to the caller over the console socket
// (runc's message, see consoleSocket.ts) and the init keeps no copy.
import { closeSync, constants as fsConstants, fchownSync, fstatSync, openSync } from "node:fs";
import * as libc from "../../sys/libc";
import { MS_BIND } from "../../sys/constants";
import { SysError, ValidationError, hasCode } from "../../sys/errors";
import * as initSys from "../../sys/process";
import { O_CLOEXEC, O_NOCTTY, O_RDWR, openUnlockedPeer, ptyNumber, setControllingTerminal } from "../../sys/terminal";
import { sendConsoleOn } from "../consoleSocket";
import { copyLauncherFd } from "./stdio";
import type { ContainerSpec } from "../spec";
import { step } from "./steps";

/** The container's pty multiplexer: /dev/ptmx (the link to pts/ptmx a /dev tmpfs gets), else devpts' own node. */
function openMaster(): number {
  for (const path of ["/dev/ptmx", "/dev/pts/ptmx"]) {
    try {
      return openSync(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    } catch (err) {
      if (!hasCode(err, "ENOENT")) throw SysError.fromNode(err, "open the container's pty multiplexer");
    }
  }
  throw new ValidationError("process.terminal", "the container has no /dev/ptmx or /dev/pts/ptmx to open its terminal on", "mount devpts (newinstance) on /dev/pts, or set process.terminal to false");
}

/** As runc's mountConsole: the terminal is also /dev/console (created empty if the rootfs has none). */
function mountConsole(slavePath: string): void {
  const old = libc.umask(0);
  try {
    closeSync(openSync("/dev/console", fsConstants.O_CREAT | fsConstants.O_WRONLY | O_CLOEXEC, 0o666));
  } catch (err) {
    throw SysError.fromNode(err, "create /dev/console");
  } finally {
    libc.umask(old);
  }
  libc.mount(slavePath, "/dev/console", null, MS_BIND);
}

/**
 * Gives this process (a session leader without a terminal) the container's terminal on fds 0-2
 * and sends the master over `socket`, a launcher fd of a connected unix socket. Run inside the
 * container, after pivot_root and before the root is made read-only.
 */
export function setupConsole(spec: ContainerSpec, socket: number): void {
  const sock = step("console socket", () => copyLauncherFd(socket));
  try {
    const master = step("open pty", () => openMaster());
    try {
      const size = spec.process.consoleSize;
      const slave = step("open pty", () => openUnlockedPeer(master, size === undefined ? undefined : { rows: size.height, cols: size.width }));
      try {
        // As runc's fixStdioPermissions: the program's user owns its terminal (the group stays devpts' gid=).
        step("chown pty", () => fchownSync(slave, spec.process.user.uid, fstatSync(slave).gid));
        step("mount /dev/console", () => mountConsole(`/dev/pts/${ptyNumber(master)}`));
        step("send pty master", () => sendConsoleOn(sock, master));
        step("stdio", () => {
          for (const fd of [0, 1, 2]) initSys.dup3(slave, fd, 0);
        });
        step("controlling terminal", () => setControllingTerminal(0));
      } finally {
        closeSync(slave);
      }
    } finally {
      closeSync(master);
    }
  } finally {
    closeSync(sock);
  }
}
