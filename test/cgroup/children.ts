// Child processes for cgroup tests: a shell that waits for a go line on stdin, so the test can move it
// into a cgroup before it does anything. Tests only ever signal the pids they started here.
import { spawn, type ChildProcess } from "node:child_process";

export interface WaitingChild {
  child: ChildProcess;
  pid: number;
  /** Lets the script run (after the child was placed in its cgroup). */
  go(): void;
  /** Resolves when the child exits. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILLs the child if it still runs and waits for it. */
  stop(): Promise<void>;
}

/** Starts `sh -c 'read _; <script>'`. */
export function spawnWaiting(script: string): WaitingChild {
  const child = spawn("/bin/sh", ["-c", `read _; ${script}`], { stdio: ["pipe", "ignore", "pipe"] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("exit", (code, signal) => resolve({ code, signal }));
  });
  let ended = false;
  void exited.then(() => (ended = true));
  return {
    child,
    pid: child.pid!,
    go: () => child.stdin!.end("go\n"),
    exited,
    stop: async () => {
      if (!ended) child.kill("SIGKILL");
      await exited;
    },
  };
}
