// An init in a user namespace runs Node and hostform's own files as the container's root, an
// unprivileged uid on the host: every directory on the way to them must let "others" through
// (a home directory of mode 0700 does not). Found out here, by name, before a container fails
// to start with a bare EACCES from deep inside nsspawn's execve.
import { statSync } from "node:fs";
import { dirname } from "node:path";
import { ValidationError } from "../sys/errors";
import { INIT_ENTRY_PATH } from "./initProtocol";

/** The files an init opens before it can say anything: Node, the init's entry and the FFI it loads. */
function initFiles(): string[] {
  return [process.execPath, INIT_ENTRY_PATH, require.resolve("koffi")];
}

/** The first directory on the way to `file` that others may not enter, or undefined. */
function closedDirectory(file: string): { dir: string; mode: number } | undefined {
  const dirs: string[] = [];
  for (let d = dirname(file); ; d = dirname(d)) {
    dirs.unshift(d);
    if (d === dirname(d)) break;
  }
  for (const dir of dirs) {
    const mode = statSync(dir).mode & 0o777;
    if ((mode & 0o001) === 0) return { dir, mode };
  }
  return undefined;
}

let checked: string | false | undefined;

/**
 * Why an init in a user namespace could not start from where hostform is installed, or false.
 * Checked once per process: installs do not move under a running one.
 */
export function initUnreachable(): string | false {
  if (checked !== undefined) return checked;
  checked = false;
  for (const file of initFiles()) {
    const closed = closedDirectory(file);
    if (closed !== undefined) {
      checked = `${closed.dir} (mode ${closed.mode.toString(8).padStart(4, "0")}) keeps the container's root, an unprivileged uid on the host, from ${file}`;
      break;
    }
  }
  return checked;
}

/** Throws a ValidationError naming `field` when an init in a user namespace could not start here. */
export function assertInitReachable(field: string): void {
  const why = initUnreachable();
  if (why === false) return;
  throw new ValidationError(field, `cannot be used from this install: ${why}`, "install hostform and Node under a directory others may enter (e.g. /opt, /srv), or let others enter it: chmod o+x on the directory named");
}
