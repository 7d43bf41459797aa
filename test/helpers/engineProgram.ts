// A copy of the files fixture program with its own live and state directories, and the hostform CLI
// run on it in a child process (tests kill it, race two of it, and read its exit code).
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testPrefix } from "../../fixtures/prefix";
import { fixtureProgramDir } from "../../fixtures/programs";

export const REPO = join(__dirname, "..", "..", "..");
const FIXTURE = fixtureProgramDir("files");
export const ENTRY = join(__dirname, "..", "engine", "cliEntry.js");

/** A copy of the fixture program in a temp dir, with its own live dir and state dir. */
export interface Program {
  dir: string;
  live: string;
  state: string;
  configure(values: Record<string, string>): void;
  checkpoint(): { version: number; checkpoint: { latest: { resources?: { urn: string; type: string; id?: string }[]; pending_operations?: unknown[] } } };
  cleanup(): void;
}

export function makeProgram(): Program {
  const dir = join(tmpdir(), testPrefix("engine"));
  const live = join(dir, "live");
  const state = join(dir, "state");
  mkdirSync(live, { recursive: true });
  copyFileSync(join(FIXTURE, "Pulumi.yaml"), join(dir, "Pulumi.yaml"));
  copyFileSync(join(FIXTURE, "index.ts"), join(dir, "index.ts"));
  // Outside the repo, @pulumi/pulumi and typescript are found through this link.
  symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "engine-test", devDependencies: { typescript: "*" } }));
  const p: Program = {
    dir,
    live,
    state,
    configure(values) {
      const lines = ["config:", `  files:dir: ${live}`, ...Object.entries(values).map(([k, v]) => `  files:${k}: ${JSON.stringify(v)}`)];
      writeFileSync(join(dir, "Pulumi.dev.yaml"), lines.join("\n") + "\n");
    },
    checkpoint() {
      return JSON.parse(readFileSync(join(state, ".pulumi", "stacks", "files", "dev.json"), "utf8"));
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  p.configure({});
  return p;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export function start(p: Program, args: string[], env: Record<string, string> = {}): { child: ChildProcess; done: Promise<RunResult> } {
  const t0 = Date.now();
  const child = spawn(process.execPath, [ENTRY, ...args, "--cwd", p.dir], {
    env: { ...process.env, HOSTFORM_STATE_DIR: p.state, PULUMI_NODEJS_TRANSPILE_ONLY: "true", HOSTFORM_PROGRAM_TIMEOUT_MS: "90000", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<RunResult>((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr, ms: Date.now() - t0 })));
  return { child, done };
}

export function run(p: Program, ...args: string[]): Promise<RunResult> {
  return start(p, args).done;
}


/** Runs the CLI entry with `args` in `dir` (--cwd); resolves with its exit code and its stdout and stderr together. */
export function runCli(dir: string, env: Record<string, string>, args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [ENTRY, ...args, "--cwd", dir], {
    env: { ...process.env, ...env, PULUMI_NODEJS_TRANSPILE_ONLY: "true", HOSTFORM_PROGRAM_TIMEOUT_MS: "90000" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, out })));
}
