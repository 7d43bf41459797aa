// Running an example program through the hostform CLI in isolation: a copy of the example in a
// prefixed temp dir whose "hostform" is the build under test, its own state dir, lib dir and run
// dir (so its supervisor is never the one real use talks to).
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The build under test (dist/ under npm test, .build-<name>/ for a private build). */
export const BUILD = join(__dirname, "..", "..");
export const REPO = join(BUILD, "..");

/** One isolated copy of an example. */
export interface ExampleRun {
  /** The copied project directory (--cwd). */
  project: string;
  /** Stack name: the test prefix, which every pinned name in the examples carries. */
  stack: string;
  env: Record<string, string>;
  stateDir: string;
  runDir: string;
}

export interface CliResult {
  code: number | null;
  out: string;
  ms: number;
}

/**
 * Copies examples/<name> to <base>/<name>: the project gets the repository's node_modules, and
 * <base>/node_modules/hostform re-exports the build under test (found by walking up, as an
 * installed package would be).
 */
export function prepareExample(name: string, base: string, stack: string, runDir: string): ExampleRun {
  const project = join(base, name);
  mkdirSync(project, { recursive: true });
  for (const f of readdirSync(join(REPO, "examples", name))) copyFileSync(join(REPO, "examples", name, f), join(project, f));
  symlinkSync(join(REPO, "node_modules"), join(project, "node_modules"));
  const shim = join(base, "node_modules", "hostform");
  mkdirSync(shim, { recursive: true });
  writeFileSync(join(shim, "package.json"), JSON.stringify({ name: "hostform", main: "index.js" }));
  writeFileSync(join(shim, "index.js"), `module.exports = require(${JSON.stringify(join(BUILD, "providers", "index.js"))});\n`);
  const stateDir = join(base, "state");
  const env = {
    PULUMI_NODEJS_TRANSPILE_ONLY: "true",
    HOSTFORM_STATE_DIR: stateDir,
    HOSTFORM_LIB_DIR: join(base, "lib"),
    HOSTFORM_RUN_DIR: runDir,
    HOSTFORM_STACK: stack,
    HOSTFORM_PROGRAM_TIMEOUT_MS: "90000",
    // The pod example's secret is sealed in its state with the stack's passphrase.
    PULUMI_CONFIG_PASSPHRASE: `passphrase of ${stack}`,
  };
  return { project, stack, env, stateDir, runDir };
}

/** Runs `hostform <args>` of the build under test (bin/hostform's entry, main(argv)). */
export function hostform(run: ExampleRun, ...args: string[]): Promise<CliResult> {
  const main = join(BUILD, "src", "cli", "main.js");
  const script = "require(process.argv[1]).main(process.argv.slice(2)).then((c) => process.exit(c), (e) => { console.error(e); process.exit(1); })";
  const started = Date.now();
  const child = spawn(process.execPath, ["-e", script, main, ...args], {
    cwd: run.project,
    env: { ...process.env, ...run.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, out, ms: Date.now() - started })));
}

/** The JSON event lines of a --json run. */
export function events(out: string): Array<{ type: string; [k: string]: unknown }> {
  return out
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { type: string });
}
