// Starting the supervisor on demand: the first client that finds no socket spawns one, detached in
// its own session with stdio on a log file under the run dir, and waits until it answers. Two
// clients racing both spawn; the supervisor's lock lets one win and the other exit at once.
import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { HostformError, SysError } from "../sys/errors";
import { supervisorSocketPath } from "./socketProtocol";

/**
 * V8 flags of the supervisor, chosen by bench/memory: a small young generation and heap cap keep an
 * idle supervisor's footprint low; it does little JavaScript work, so nothing is lost.
 */
export const SUPERVISOR_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=1", "--max-old-space-size=64"];

/** Whether something answers on the socket. */
export function socketAlive(path: string): Promise<boolean> {
  return new Promise((res) => {
    const s = connect(path);
    s.once("connect", () => {
      s.destroy();
      res(true);
    });
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
    const child = spawn(process.execPath, [...SUPERVISOR_NODE_FLAGS, join(__dirname, "supervisorMain.js"), runDirectory], {
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
  throw new HostformError(`the supervisor did not start within ${timeoutMs} ms (see ${logPath})`);
}
