// Run by stateSafety.test.ts inside `unshare -m --propagation private`: mounts a 1 MiB tmpfs on the
// test's state directory (gone with this mount namespace, whatever happens), then runs the CLI with
// that disk full, nearly full and read-only, and prints what it saw as JSON for the test to judge.
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";

const [programDir, stateDir, liveDir] = process.argv.slice(2) as [string, string, string];
const ENTRY = join(__dirname, "cliEntry.js");
const checkpoint = join(stateDir, ".pulumi", "stacks", "files", "dev.json");
const lockDir = join(stateDir, ".pulumi", "locks", "organization", "files", "dev");

function sh(...argv: string[]): void {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
}

function up(content: string): { code: number | null; stderr: string; ms: number } {
  writeFileSync(join(programDir, "Pulumi.dev.yaml"), `config:\n  files:dir: ${liveDir}\n  files:content: ${JSON.stringify(content)}\n`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [ENTRY, "up", "--yes", "--cwd", programDir], {
    encoding: "utf8",
    env: { ...process.env, HOSTFORM_STATE_DIR: stateDir, PULUMI_NODEJS_TRANSPILE_ONLY: "true", HOSTFORM_PROGRAM_TIMEOUT_MS: "90000" },
  });
  return { code: r.status, stderr: r.stderr + r.stdout, ms: Date.now() - t0 };
}

/** Fills the disk; returns the path of a one-page file that, removed, leaves exactly that page free. */
function fill(): string {
  const reserve = join(stateDir, "reserve");
  writeFileSync(reserve, Buffer.alloc(4096));
  const fd = openSync(join(stateDir, "filler"), "w");
  const chunk = Buffer.alloc(4096);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
  } finally {
    closeSync(fd);
  }
  return reserve;
}

function snapshot(): { checkpoint: string; stacks: string[]; locks: string[]; live: string } {
  return {
    checkpoint: readFileSync(checkpoint, "utf8"),
    stacks: readdirSync(join(checkpoint, "..")).sort(),
    locks: existsSync(lockDir) ? readdirSync(lockDir) : [],
    live: readFileSync(join(liveDir, "a.txt"), "utf8"),
  };
}

mkdirSync(stateDir, { recursive: true });
sh("mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "hostform-test-state", stateDir);
const out: Record<string, unknown> = {};
out.first = up("one");
out.afterFirst = snapshot();
const reserve = fill();
out.full = up("two");
out.afterFull = snapshot();
// Room for the lock but not for the checkpoint: the write fails after the lock is taken.
rmSync(reserve);
out.nearlyFull = up("three");
out.afterNearlyFull = snapshot();
rmSync(join(stateDir, "filler"));
out.freed = up("four");
out.afterFreed = snapshot();
sh("mount", "-o", "remount,ro", stateDir);
out.readOnly = up("five");
out.afterReadOnly = snapshot();
process.stdout.write(JSON.stringify(out));
