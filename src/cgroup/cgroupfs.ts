// Reading and writing cgroupfs files. Every cgroup file is one value, a flat-keyed list ("key value"
// lines) or a nested-keyed list ("8:0 rbps=1 wbps=max"); these functions parse the three shapes and turn
// Node fs errors into SysError carrying the file's path.
import { closeSync, existsSync, openSync, readFileSync, writeSync, constants } from "node:fs";
import { CorruptFileError, SysError } from "../sys/errors";

/** Reads a cgroup file, trimmed. Throws SysError naming the file. */
export function readCgroupFile(path: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch (err) {
    throw SysError.fromNode(err);
  }
}

/** Reads a cgroup file, or undefined when the file does not exist (controller not enabled there). */
export function readOptional(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  return readCgroupFile(path);
}

/**
 * Writes one value with a single write(2): the kernel parses each write on its own, so a value must
 * never be split. O_WRONLY without O_CREAT: a missing file means a missing controller, never a new file
 * (O_TRUNC is a no-op on cgroupfs and keeps fixture files exact).
 */
export function writeCgroupFile(path: string, value: string): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_TRUNC);
  } catch (err) {
    throw SysError.fromNode(err);
  }
  try {
    writeSync(fd, value);
  } catch (err) {
    throw fileError(err, path);
  } finally {
    closeSync(fd);
  }
}

/**
 * A failed read or write of a cgroup file as a SysError naming the file: Node's write errors carry
 * no path, and the file is what the reader needs to see.
 */
export function fileError(err: unknown, path: string, context?: string): unknown {
  const e = SysError.fromNode(err, context);
  if (e instanceof SysError && e.path === undefined) return new SysError(e.syscall === "fs" ? "write" : e.syscall, e.errno, path, context, { cause: err });
  return e;
}

/** Parses "key value" lines into a map of numbers (non-numeric values are skipped). */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const [key, value] = line.trim().split(/\s+/);
    if (key === undefined || key === "" || value === undefined) continue;
    const n = Number(value);
    if (Number.isFinite(n)) out.set(key, n);
  }
  return out;
}

/** Reads a flat-keyed file; a missing file gives an empty map. */
export function readFlatKeyed(path: string): Map<string, number> {
  const text = readOptional(path);
  return text === undefined ? new Map() : parseFlatKeyed(text);
}

/** Parses "MAJ:MIN key=value ..." lines (io.max, io.stat). */
export function parseNestedKeyed(text: string): { major: number; minor: number; values: Map<string, string> }[] {
  const out: { major: number; minor: number; values: Map<string, string> }[] = [];
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    const dev = /^(\d+):(\d+)$/.exec(fields[0] ?? "");
    if (dev === null) continue;
    const values = new Map<string, string>();
    for (const f of fields.slice(1)) {
      const eq = f.indexOf("=");
      if (eq > 0) values.set(f.slice(0, eq), f.slice(eq + 1));
    }
    out.push({ major: Number(dev[1]), minor: Number(dev[2]), values });
  }
  return out;
}

/** Parses an integer the kernel printed; values beyond 2^53 come back as bigint for the caller to judge. */
export function parseKernelInt(text: string, path: string): number | bigint {
  if (!/^-?\d+$/.test(text)) throw new CorruptFileError(path, `unexpected value "${text}", not an integer`);
  const big = BigInt(text);
  return big <= BigInt(Number.MAX_SAFE_INTEGER) && big >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(big) : big;
}

/** Reads a file holding one integer. */
export function readInt(path: string): number {
  const v = parseKernelInt(readCgroupFile(path), path);
  return typeof v === "bigint" ? Number(v) : v;
}

/** Process ids listed in a cgroup.procs file (empty when the file is missing). */
export function readPids(path: string): number[] {
  const text = readOptional(path);
  if (text === undefined || text === "") return [];
  return text.split("\n").map(Number).filter((n) => Number.isInteger(n) && n > 0);
}
