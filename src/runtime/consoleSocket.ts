// runc's --console-socket message: the pty master of a process.terminal container or a `exec
// --tty`, sent to the caller's unix socket as one message whose data names the multiplexer the
// master came from and whose one SCM_RIGHTS fd is the master; the connection closes after it.
// conmon and containerd's shim take the terminal over from there.
import { closeSync } from "node:fs";
import { withContext } from "../sys/errors";
import { connectUnix, sendFd } from "../sys/unixSocket";

/** The data runc sends with the master (utils.SendFd(socket, pty.Name(), ...): it always opens /dev/ptmx). */
export const CONSOLE_MESSAGE = "/dev/ptmx";

/** Sends a pty master over an already connected socket; the caller still owns both fds. */
export function sendConsoleOn(socket: number, master: number): void {
  sendFd(socket, CONSOLE_MESSAGE, master);
}

/**
 * Connects to the unix socket at socketPath (a --console-socket), sends the master and closes the
 * connection. The caller keeps its master fd (close it: the receiver has its own copy).
 */
export function sendConsole(socketPath: string, master: number): void {
  let sock: number;
  try {
    sock = connectUnix(socketPath);
  } catch (err) {
    throw withContext(err, "console socket");
  }
  try {
    sendConsoleOn(sock, master);
  } catch (err) {
    throw withContext(err, `send the terminal to console socket ${socketPath}`);
  } finally {
    closeSync(sock);
  }
}
