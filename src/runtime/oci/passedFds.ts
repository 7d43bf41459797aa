// The fds a container gets beyond stdio, as runc passes them: socket-activation fds first (when
// LISTEN_FDS/LISTEN_PID in hostform-runtime's own environment name this process, as systemd sets
// them), then --preserve-fds N more, each at the number it has here (3, 4, ...).
import { fstatSync } from "node:fs";
import { ValidationError, hasCode } from "../../sys/errors";

export interface PassedFds {
  /** This process's fds, in the order they become the program's 3, 4, ... */
  fds: number[];
  /** How many of them are socket-activation fds (the program's LISTEN_FDS). */
  listenFds: number;
}

export function passedFds(preserve: string | undefined, env: NodeJS.ProcessEnv = process.env): PassedFds {
  let extra = 0;
  if (preserve !== undefined) {
    extra = Number(preserve);
    if (!/^\d+$/.test(preserve) || extra > 900) throw new ValidationError("--preserve-fds", `'${preserve}' is not a count of fds`, "give how many fds after stdio to pass, e.g. 2");
  }
  let listenFds = 0;
  if (env.LISTEN_FDS !== undefined && env.LISTEN_PID === String(process.pid)) {
    listenFds = Number(env.LISTEN_FDS);
    if (!Number.isInteger(listenFds) || listenFds < 0) throw new ValidationError("LISTEN_FDS", `'${env.LISTEN_FDS}' is not a count of fds`);
  }
  const fds = Array.from({ length: listenFds + extra }, (_, i) => 3 + i);
  for (const fd of fds) {
    try {
      fstatSync(fd);
    } catch (err) {
      if (hasCode(err, "EBADF")) throw new ValidationError(fd < 3 + listenFds ? "LISTEN_FDS" : "--preserve-fds", `fd ${fd} is not open`, "open every fd that is to be passed, or pass fewer");
      throw err;
    }
  }
  return { fds, listenFds };
}

/** The program's environment with socket activation: LISTEN_FDS as passed, LISTEN_PID 1 (its pid inside). */
export function withListenEnv(env: readonly string[], listenFds: number): string[] {
  if (listenFds === 0) return [...env];
  return [...env.filter((e) => !e.startsWith("LISTEN_FDS=") && !e.startsWith("LISTEN_PID=")), `LISTEN_FDS=${listenFds}`, "LISTEN_PID=1"];
}
