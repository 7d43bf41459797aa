// Asking the run dir's supervisor to exit and waiting until it has: running containers are left
// alone, and the next request starts a new supervisor that adopts them from their state files.
// Two workarounds need it until the runtime grows the requests (see providers/README.md).
import type { RuntimeClient } from "../../../src/runtime/client";
import { isSameProcess, processStartTime } from "../../../src/runtime/state";
import { HostformError } from "../../../src/sys/errors";

/** Shuts the supervisor down and waits (up to timeoutMs) for its process to be gone. */
export async function stopSupervisor(client: RuntimeClient, timeoutMs = 10_000): Promise<void> {
  const pid = await client.supervisorPid();
  const started = processStartTime(pid);
  await client.shutdownSupervisor();
  if (started === undefined) return;
  const deadline = Date.now() + timeoutMs;
  while (isSameProcess(pid, started)) {
    if (Date.now() > deadline) throw new HostformError(`the supervisor (pid ${pid}) did not exit within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
