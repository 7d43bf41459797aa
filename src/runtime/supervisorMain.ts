// Entry of the detached supervisor process (started by supervisorStart.ts):
//   node supervisorMain.js <runDir>
// Exits 0 at once if another supervisor already holds the run dir.
import { Supervisor } from "./supervisor/supervisor";

function numberEnv(name: string): number | undefined {
  const v = process.env[name];
  return v === undefined || v === "" ? undefined : Number(v);
}

async function main(): Promise<void> {
  const runDir = process.argv[2];
  if (runDir === undefined) throw new Error("usage: supervisorMain.js <runDir>");
  const opts: ConstructorParameters<typeof Supervisor>[0] = { runDir };
  const idle = numberEnv("HOSTFORM_SUPERVISOR_IDLE_MS");
  const pool = numberEnv("HOSTFORM_SUPERVISOR_POOL_IDLE_MS");
  if (idle !== undefined) opts.idleExitMs = idle;
  if (pool !== undefined) opts.poolIdleMs = pool;
  const sup = new Supervisor(opts);
  // Signals that would end the process end it the graceful way: containers keep running.
  for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    process.on(sig, () => void sup.shutdown().then(() => process.exit(0)));
  }
  if (!(await sup.serve())) process.exit(0);
  process.stderr.write(`${new Date().toISOString()} supervisor ${process.pid} listening in ${runDir}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${new Date().toISOString()} supervisor: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
