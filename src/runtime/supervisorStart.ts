// Starting the supervisor on demand: the first client that finds no socket spawns one, detached in
// its own session with stdio on a log file under the run dir, and waits until it answers. Two
// clients racing both spawn; the supervisor's lock lets one win and the other exit at once.
import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { SysError, TimeoutError } from "../sys/errors";
import { supervisorSocketPath } from "./socketProtocol";

/**
 * V8 flags of the supervisor, chosen by bench/memory (50 containers: RSS 84 MB with no flags, 80 MB
 * with the heap flags, 69 MB adding --jitless): a small young generation, a heap cap, and no JIT
 * code space. It does little JavaScript work and no WebAssembly, so nothing is lost.
 */
export const SUPERVISOR_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=1", "--max-old-space-size=64", "--jitless"];

/** Whether something answers on the socket. */
export function socketAlive(path: string): Promise<boolean> {
  return new Promise((res) => {
    const s = connect(path);
    s.once("connect", () => {
      s.destroy();
      res(true);
    });
    // Refused, or no socket file: that is the answer, nothing failed.
    s.once("error", () => res(false));
  });
}

/** Spawns a supervisor for runDirectory (if none answers) and waits until it listens. */
export async function ensureSupervisor(runDirectory: string, timeoutMs = 15_000): Promise<void> {
  const sock = supervisorSocketPath(runDirectory);
  if (await socketAlive(sock)) return;
  mkdirSync(runDirectory, { recursive: true, mode: 0o711 });
  const logPath = join(runDirectory, "supervisor.log");
  let logFd: number;
  try {
    logFd = openSync(logPath, "a", 0o600);
  } catch (err) {
    throw SysError.fromNode(err, "open the supervisor log");
  }
  try {
    const env = { ...process.env, HOSTFORM_RUN_DIR: runDirectory };
    // HOSTFORM_SUPERVISOR_NODE_FLAGS replaces the flags (bench/memory compares variants with it).
    const override = process.env.HOSTFORM_SUPERVISOR_NODE_FLAGS;
    const flags = override !== undefined ? override.split(" ").filter((x) => x !== "") : SUPERVISOR_NODE_FLAGS;
    const child = spawn(process.execPath, [...flags, join(__dirname, "supervisorMain.js"), runDirectory], {
      detached: true,
      stdio: ["ignore", logFd, logFd],
      env,
      cwd: "/",
    });
    child.unref();
  } finally {
    closeSync(logFd);
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await socketAlive(sock)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new TimeoutError("start the supervisor", timeoutMs, `nothing answers on ${sock} (see ${logPath})`);
}
