// A pseudo-terminal for `exec -t`, allocated in the container's own devpts instance so that the
// program inside sees a /dev/pts/N that exists in its /dev (`tty` prints it, ttyname(3) finds it).
import { closeSync, openSync } from "node:fs";
import { SysError, hasCode } from "../sys/errors";
import {
  O_CLOEXEC, O_DIRECTORY, O_NOCTTY, O_PATH, O_RDWR, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS,
  openUnlockedPeer, openat2, ptyNumber, type WindowSize,
} from "../sys/terminal";

/** Both ends of a new pty; the caller closes them. */
export interface PtyPair {
  master: number;
  slave: number;
  /** The slave's path as seen from inside the container (or the host, for a host pty). */
  name: string;
  /** Whether the pair lives in the container's devpts (false: the host's, the container has none). */
  inContainer: boolean;
}

function openMaster(pid: number): { master: number; inContainer: boolean } {
  // openat2 with RESOLVE_IN_ROOT: a container that made /dev/pts a symlink to "/" still only
  // reaches its own files, never the host's.
  let root: number;
  try {
    root = openSync(`/proc/${pid}/root`, O_PATH | O_DIRECTORY | O_CLOEXEC);
  } catch (err) {
    throw SysError.fromNode(err, "open container root for a pty");
  }
  try {
    return { master: openat2(root, "dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), inContainer: true };
  } catch (err) {
    if (!hasCode(err, "ENOENT")) throw err;
  } finally {
    closeSync(root);
  }
  // No devpts in the container: a host pty still gives a working terminal, only its name is unknown inside.
  try {
    return { master: openSync("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC), inContainer: false };
  } catch (err) {
    throw SysError.fromNode(err, "open /dev/ptmx");
  }
}

/**
 * Opens a pty pair in the devpts of the container whose PID 1 has host pid `pid`, unlocked and
 * sized. The caller must have verified that pid is the container (see execTarget.ts).
 */
export function openContainerPty(pid: number, size?: WindowSize): PtyPair {
  const { master, inContainer } = openMaster(pid);
  try {
    const slave = openUnlockedPeer(master, size);
    return { master, slave, name: `/dev/pts/${ptyNumber(master)}`, inContainer };
  } catch (err) {
    closeSync(master);
    throw err;
  }
}
