// `hostform-runtime --root <root> ...args` as its own process, as tools run it, from the compiled
// entry next to the tests. Output goes through files in `dir`: a created container's init holds
// create's stdio (as runc's does), so a pipe would not reach EOF until the container exits.
import { spawnSync } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";

const RUNTIME_MAIN = join(__dirname, "..", "..", "src", "cli", "runtimeMain.js");

export interface RuntimeResult {
  code: number;
  out: string;
  err: string;
}

export function runtimeCli(root: string, dir: string, args: string[]): RuntimeResult {
  const script = `require(${JSON.stringify(RUNTIME_MAIN)}).main(process.argv.slice(1)).then((c) => process.exit(c), (e) => { console.error(e); process.exit(99); })`;
  const outPath = join(dir, "runtime.stdout");
  const errPath = join(dir, "runtime.stderr");
  const out = openSync(outPath, "w+");
  const err = openSync(errPath, "w+");
  try {
    const r = spawnSync(process.execPath, ["-e", script, "--", "--root", root, ...args], { stdio: ["ignore", out, err], timeout: 30_000 });
    return { code: r.status ?? -1, out: readFileSync(outPath, "utf8"), err: readFileSync(errPath, "utf8") };
  } finally {
    closeSync(out);
    closeSync(err);
  }
}

/** Any OCI runtime's command line (runc's, or hostform-runtime's through its bin), run to completion with output through files in dir. */
export function runtimeCommand(argv: readonly string[], dir: string, args: string[], timeoutMs = 120_000): RuntimeResult {
  const outPath = join(dir, "command.stdout");
  const errPath = join(dir, "command.stderr");
  const out = openSync(outPath, "w+");
  const err = openSync(errPath, "w+");
  try {
    const r = spawnSync(argv[0]!, [...argv.slice(1), ...args], { stdio: ["ignore", out, err], timeout: timeoutMs });
    return { code: r.status ?? -1, out: readFileSync(outPath, "utf8"), err: readFileSync(errPath, "utf8") };
  } finally {
    closeSync(out);
    closeSync(err);
  }
}
