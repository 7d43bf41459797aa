// Where `hostform-runtime` reports: stderr, plus the --log file in runc's text or json format
// (containerd shims read the json lines back when a command fails).
import { appendFileSync } from "node:fs";
import type { GlobalFlags } from "./globalFlags";

let logUnwritable = false;

/** Writes one message at a level to stderr (errors, or anything with --debug) and to the --log file. */
export function logLine(flags: GlobalFlags, level: "error" | "warning" | "info" | "debug", msg: string): void {
  if (level === "error" || level === "warning" || flags.debug) process.stderr.write(`hostform-runtime: ${msg}\n`);
  if (flags.log === undefined) return;
  const time = new Date().toISOString();
  const line = flags.logFormat === "json" ? JSON.stringify({ level, msg, time }) : `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
  try {
    appendFileSync(flags.log, `${line}\n`);
  } catch (err) {
    // Said once: every later line would fail the same way.
    if (logUnwritable) return;
    logUnwritable = true;
    process.stderr.write(`hostform-runtime: cannot write --log ${flags.log}: ${(err as Error).message}\n`);
  }
}
