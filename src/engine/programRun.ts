import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { HostformError } from "../sys/errors";
import type { Project } from "./project";
import { EXIT_WITH_PARENT, signalProcessGroup, trackProcessGroup, untrackProcessGroup } from "./processGroups";

/** cmd/run's exit code for "the error was already reported through Engine.Log". */
export const EXIT_REPORTED = 32;

/** Preload that spares the SDK's promise-leak stacks the source-map formatting (see the module). */
const PROMISE_STACK_TRACES = require.resolve("./promiseStackTraces");

export interface ProgramRunOptions {
  project: Project;
  stack: string;
  monitorAddress: string;
  engineAddress: string;
  dryRun: boolean;
  parallel: number;
  env: Record<string, string>;
  /** Lines the program printed (stdout and stderr), shown as diagnostics. */
  onOutput(line: string, stream: "stdout" | "stderr"): void;
  /** Hard limit: the program is killed after this long, whatever it is doing. */
  timeoutMs: number;
}

/** A running program; `stop` interrupts it (SIGINT, then SIGKILL to its process group). */
export interface ProgramRun {
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; timedOut: boolean }>;
  stop(): void;
}

/** Resolves `@pulumi/pulumi/cmd/run` from the program directory, as the Pulumi CLI's language host does. */
export function resolveFromProgram(project: Project, request: string): string {
  const req = createRequire(join(project.dir, "noop.js"));
  try {
    return req.resolve(request);
  } catch (err) {
    throw new HostformError(`cannot resolve ${request} from ${project.dir}: install @pulumi/pulumi in the project (npm install @pulumi/pulumi)`, { cause: err });
  }
}

/** Starts cmd/run for the project in its own process group. */
export function runProgram(o: ProgramRunOptions): ProgramRun {
  const runScript = resolveFromProgram(o.project, "@pulumi/pulumi/cmd/run");
  const args = [
    runScript,
    `--monitor=${o.monitorAddress}`,
    `--engine=${o.engineAddress}`,
    "--organization=organization",
    `--project=${o.project.name}`,
    `--root-directory=${o.project.dir}`,
    `--stack=${o.stack}`,
    `--pwd=${o.project.dir}`,
    `--parallel=${o.parallel}`,
  ];
  if (o.dryRun) args.push("--dry-run");
  args.push(o.project.main);
  const child: ChildProcess = spawn(process.execPath, ["--require", EXIT_WITH_PARENT, "--require", PROMISE_STACK_TRACES, ...args], {
    cwd: o.project.dir,
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, PULUMI_NODEJS_TYPESCRIPT: "true", ...o.env },
  });
  if (child.pid !== undefined) trackProcessGroup(child.pid);
  forwardLines(child.stdout, (l) => o.onOutput(l, "stdout"));
  forwardLines(child.stderr, (l) => o.onOutput(l, "stderr"));
  let timedOut = false;
  let killTimer: NodeJS.Timeout | undefined;
  const signalGroup = (sig: NodeJS.Signals): void => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    signalProcessGroup(child.pid, sig);
  };
  const stop = (): void => {
    signalGroup("SIGINT");
    killTimer ??= setTimeout(() => signalGroup("SIGKILL"), 3000);
  };
  const hardTimer = setTimeout(() => {
    timedOut = true;
    stop();
  }, o.timeoutMs);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; timedOut: boolean }>((resolve, reject) => {
    child.on("error", (err) => reject(new HostformError(`start program ${runScript}: ${err.message}`, { cause: err })));
    child.on("close", (code, signal) => {
      clearTimeout(hardTimer);
      if (killTimer !== undefined) clearTimeout(killTimer);
      // Anything the program left behind in its group goes with it.
      if (child.pid !== undefined) {
        signalProcessGroup(child.pid, "SIGKILL");
        untrackProcessGroup(child.pid);
      }
      resolve({ code, signal, timedOut });
    });
  });
  return { done, stop };
}

function forwardLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (stream === null) return;
  let buf = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  stream.on("end", () => {
    if (buf !== "") onLine(buf);
  });
}
