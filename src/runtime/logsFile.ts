// Per-container log files: container.log plus rotated container.log.1 ... .N (1 is the newest).
// The container writes straight to container.log through an O_APPEND fd it holds, so rotation is
// copy + truncate: a rename would leave the container writing into the rotated file. With O_APPEND
// each write lands at the current end, so after truncate the writer continues at offset 0. Bytes
// written between the copy and the truncate are lost, the known price of copytruncate.
import { closeSync, copyFileSync, existsSync, openSync, readSync, renameSync, rmSync, statSync, truncateSync } from "node:fs";
import { SysError, hasCode } from "../sys/errors";

/** Default size cap of container.log before it is rotated. */
export const DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024;
/** Default number of rotated files kept. */
export const DEFAULT_LOG_FILES = 3;

/** Opens the log for a container's stdout/stderr: append-only, created if missing. */
export function openLogForAppend(path: string): number {
  try {
    return openSync(path, "a", 0o640);
  } catch (err) {
    throw SysError.fromNode(err, `open log ${path}`);
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch (err) {
    if (hasCode(err, "ENOENT")) return 0;
    throw SysError.fromNode(err, `stat log ${path}`);
  }
}

/** Rotates `path` when it exceeds maxBytes; keeps `files` rotated copies. Returns whether it rotated. */
export function rotateIfNeeded(path: string, maxBytes: number, files: number): boolean {
  if (sizeOf(path) <= maxBytes) return false;
  try {
    if (files <= 0) {
      truncateSync(path, 0);
      return true;
    }
    rmSync(`${path}.${files}`, { force: true });
    for (let i = files - 1; i >= 1; i--) {
      if (existsSync(`${path}.${i}`)) renameSync(`${path}.${i}`, `${path}.${i + 1}`);
    }
    copyFileSync(path, `${path}.1`);
    truncateSync(path, 0);
  } catch (err) {
    throw SysError.fromNode(err, `rotate log ${path}`);
  }
  return true;
}

/** Log files oldest first: container.log.N ... .1, container.log. */
export function logFilesOldestFirst(path: string, files: number): string[] {
  const out: string[] = [];
  for (let i = files; i >= 1; i--) if (existsSync(`${path}.${i}`)) out.push(`${path}.${i}`);
  if (existsSync(path)) out.push(path);
  return out;
}

function readAll(path: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    if (hasCode(err, "ENOENT")) return Buffer.alloc(0);
    throw SysError.fromNode(err, `read log ${path}`);
  }
  try {
    const chunks: Buffer[] = [];
    const buf = Buffer.alloc(65536);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    return Buffer.concat(chunks);
  } finally {
    closeSync(fd);
  }
}

/** The whole log (rotated files included), or its last `lines` lines. */
export function readLog(path: string, files: number, lines?: number): Buffer {
  const all = Buffer.concat(logFilesOldestFirst(path, files).map(readAll));
  if (lines === undefined) return all;
  if (lines <= 0) return Buffer.alloc(0);
  let end = all.length;
  // A final newline ends the last line rather than starting an empty one.
  if (end > 0 && all[end - 1] === 0x0a) end--;
  let pos = end;
  let seen = 0;
  while (pos > 0) {
    if (all[pos - 1] === 0x0a && ++seen === lines) break;
    pos--;
  }
  return all.subarray(pos);
}

/**
 * Follows container.log from `offset`: calls onData with each new chunk until `stop` says so.
 * A file that got shorter was rotated (truncated): reading restarts at 0.
 */
export async function followLog(path: string, offset: number, onData: (chunk: Buffer) => void, stop: () => boolean, intervalMs = 200): Promise<void> {
  let pos = offset;
  const buf = Buffer.alloc(65536);
  for (;;) {
    const size = sizeOf(path);
    if (size < pos) pos = 0;
    if (size > pos) {
      let fd: number | undefined;
      try {
        fd = openSync(path, "r");
        for (;;) {
          const n = readSync(fd, buf, 0, buf.length, pos);
          if (n === 0) break;
          pos += n;
          onData(Buffer.from(buf.subarray(0, n)));
        }
      } catch (err) {
        if (!hasCode(err, "ENOENT")) throw SysError.fromNode(err, `follow log ${path}`);
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
    }
    if (stop()) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
