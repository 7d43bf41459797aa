import { closeSync, fsyncSync, linkSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { link, open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { errnoName, hasCode, isErrnoException, SysError } from "./errors";

/**
 * A file that could not be replaced. The file itself is unchanged (the new text went to a temp file
 * that is removed again); the message names the file, the call and errno, and what to do about it.
 */
export class FileWriteError extends SysError {
  readonly hint?: string;

  constructor(file: string, err: NodeJS.ErrnoException & { errno: number }, what = `could not write ${file} (it is unchanged)`) {
    super(err.syscall ?? "write", Math.abs(err.errno), file, what, { cause: err });
    const hint = writeFailureHint(errnoName(Math.abs(err.errno)), dirname(file));
    if (hint !== undefined) {
      this.hint = hint;
      this.message = `${this.message}; ${hint}`;
    }
  }
}

/** What a user can do about a failed write, by errno; undefined when there is nothing to say. */
function writeFailureHint(code: string, dir: string): string | undefined {
  switch (code) {
    case "ENOSPC":
    case "EDQUOT":
      return `the filesystem holding ${dir} is full: free space there (df -h ${dir}) and run the command again`;
    case "EROFS":
      return `the filesystem holding ${dir} is read-only: remount it read-write, or point HOSTFORM_STATE_DIR at a writable directory`;
    case "EACCES":
    case "EPERM":
      return `no permission to write in ${dir}: run as the user that owns it, or fix its permissions`;
    case "EIO":
      return `the disk holding ${dir} reported an I/O error: check it (dmesg) before running again`;
    default:
      return undefined;
  }
}

export interface AtomicWriteOptions {
  /** Keep the file's previous version as `<file>.bak` (Pulumi's file backend does the same). */
  backup?: boolean;
  mode?: number;
}

/** Where atomicWrite keeps the previous version of `file`. */
export function backupPath(file: string): string {
  return `${file}.bak`;
}

/**
 * Replaces `file` with `text` so that a crash or a failed write at any point leaves either the old
 * or the new file, never a torn one: temp file in the same directory, fsync, rename, fsync of the
 * directory. With `backup`, the old version is hard-linked to `<file>.bak` first: no copy is made,
 * and the rename that follows only drops the old name.
 */
export function atomicWrite(file: string, text: string, options: AtomicWriteOptions = {}): void {
  const tmp = tempPath(file);
  try {
    const fd = openSync(tmp, "w", options.mode ?? 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (options.backup === true) keepBackupSync(file);
    renameSync(tmp, file);
    const dfd = openSync(dirname(file), "r");
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch (err) {
    rmSync(tmp, { force: true });
    throw writeError(file, err);
  }
}

/** atomicWrite on the thread pool: the caller's event loop keeps running during the fsyncs. */
export async function atomicWriteAsync(file: string, text: string, options: AtomicWriteOptions = {}): Promise<void> {
  const tmp = tempPath(file);
  try {
    const fh = await open(tmp, "w", options.mode ?? 0o600);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (options.backup === true) await keepBackup(file);
    await rename(tmp, file);
    const dh = await open(dirname(file), "r");
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch (err) {
    await rm(tmp, { force: true });
    throw writeError(file, err);
  }
}

/**
 * Creates `file` holding `text`, failing with EEXIST when it exists, and never leaving it empty or
 * cut short: the text is written to a temp file that is then hard-linked to the name (link() is
 * atomic and refuses an existing name, as O_EXCL does). For lock files, whose readers must never
 * see one half-written.
 */
export function createExclusive(file: string, text: string, mode = 0o600): void {
  const tmp = tempPath(file);
  try {
    const fd = openSync(tmp, "w", mode);
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
    linkSync(tmp, file);
  } catch (err) {
    // EEXIST is the caller's answer (someone holds the name), not a failed write.
    if (hasCode(err, "EEXIST")) throw err;
    throw writeError(file, err, `could not create ${file}`);
  } finally {
    rmSync(tmp, { force: true });
  }
}

function tempPath(file: string): string {
  return `${file}.${process.pid}.tmp`;
}

function keepBackupSync(file: string): void {
  const tmp = `${backupPath(file)}.${process.pid}.tmp`;
  try {
    linkSync(file, tmp);
  } catch (err) {
    if (hasCode(err, "ENOENT")) return;
    throw err;
  }
  renameSync(tmp, backupPath(file));
}

async function keepBackup(file: string): Promise<void> {
  const tmp = `${backupPath(file)}.${process.pid}.tmp`;
  try {
    await link(file, tmp);
  } catch (err) {
    if (hasCode(err, "ENOENT")) return;
    throw err;
  }
  await rename(tmp, backupPath(file));
}

function writeError(file: string, err: unknown, what?: string): unknown {
  if (isErrnoException(err) && typeof err.errno === "number") return new FileWriteError(file, err as NodeJS.ErrnoException & { errno: number }, what);
  return SysError.fromNode(err, `write ${file}`);
}
