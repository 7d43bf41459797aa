// bench/engine: wall time of `hostform up`, `drift` and `destroy` for stacks of 1, 10 and 50
// resources, each command a fresh CLI process as a user runs it. Prints the median of 3 runs per
// size and the ratios up(50)/up(1) (target <= 3x) and drift(50)/drift(1) (target <= 1.5x).
//   node <build>/bench/engine/run.js [kind=file|container] [runs=3]
//   HOSTFORM_BENCH_MAIN=<other build>/src/cli/main.js node <build>/bench/engine/run.js   (A/B runs)
// kind "file": dynamic resources that write a file each (the engine's own cost).
// kind "container": real Containers (busybox `sleep 1000` from a BusyboxRootfs), run under a
// supervisor of their own: HOSTFORM_RUN_DIR / HOSTFORM_LIB_DIR / HOSTFORM_STATE_DIR live in a
// prefixed temp dir, the stacks are named with the prefix, and everything (containers, cgroups,
// the supervisor) is removed at the end even when a run fails.
// The programs run with PULUMI_NODEJS_TRANSPILE_ONLY=true (ts-node skips type checking), as a user
// who wants speed would set; type checking is a fixed per-run cost that says nothing about scaling.
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { openCgroupDriver } from "../../src/cgroup/driver";
import { RuntimeClient } from "../../src/runtime/client";
import { testPrefix } from "../../fixtures/prefix";
import { fixtureProgramDir } from "../../fixtures/programs";

const BUILD = join(__dirname, "..", "..");
const REPO = join(BUILD, "..");
// HOSTFORM_BENCH_MAIN points at another build's dist/src/cli/main.js, for before/after comparisons.
const MAIN = process.env.HOSTFORM_BENCH_MAIN ?? join(BUILD, "src", "cli", "main.js");
const SIZES = [1, 10, 50];

/** One stack of the bench: its project dir, state dir and where its live objects are. */
interface Stack {
  dir: string;
  live: string;
  state: string;
  name: string;
}

/** A program whose stack size is set by config `count`, and a way to check what it made. */
interface Kind {
  /** Directory holding Pulumi.yaml and index.ts. */
  fixture: string;
  /** Pulumi.<stack>.yaml contents for a stack of n resources whose live objects go under `live`. */
  stackConfig(n: number, live: string): string;
  /** Live objects the stack has on the host right now (checked after up and after destroy). */
  liveCount(stack: Stack): Promise<number>;
  /** Environment of every CLI run (isolation from the host's real hostform). */
  env: Record<string, string>;
  /** Removes whatever a failed run left on the host. */
  cleanup(): Promise<void>;
}

function fileKind(): Kind {
  return {
    fixture: fixtureProgramDir("files"),
    stackConfig: (n, live) => `config:\n  files:dir: ${live}\n  files:count: "${n}"\n`,
    liveCount: async (s) => readdirSync(s.live).length,
    env: {},
    cleanup: async () => undefined,
  };
}

function containerKind(root: string, prefix: string): Kind {
  const runDir = join(root, "run");
  const client = new RuntimeClient({ runDir });
  const ours = async () => (await client.list()).filter((c) => c.id.includes(prefix));
  return {
    fixture: fixtureProgramDir("containers"),
    stackConfig: (n) => `config:\n  containers:count: "${n}"\n`,
    liveCount: async (s) => (await ours()).filter((c) => c.id.includes(`-${s.name}-`) && c.status === "running").length,
    env: { HOSTFORM_RUN_DIR: runDir, HOSTFORM_LIB_DIR: join(root, "lib") },
    async cleanup() {
      const driver = openCgroupDriver();
      for (const c of await ours().catch(() => [])) {
        await client.delete(c.id, { force: true }).catch(() => undefined);
        await driver.delete(c.cgroup).catch(() => undefined);
      }
      await client.shutdownSupervisor().catch(() => undefined);
    },
  };
}

interface Timed {
  ms: number;
  code: number | null;
  out: string;
}

function hostform(args: string[], s: Stack, env: Record<string, string>): Promise<Timed> {
  const t0 = process.hrtime.bigint();
  const script = `require(${JSON.stringify(MAIN)}).main(process.argv.slice(1)).then((c) => process.exit(c), (e) => { console.error(e); process.exit(1); })`;
  const child = spawn(process.execPath, ["-e", script, ...args, "--cwd", s.dir, "--stack", s.name], {
    env: { ...process.env, ...env, HOSTFORM_STATE_DIR: s.state, PULUMI_NODEJS_TRANSPILE_ONLY: "true" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (out += d));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, code, out }));
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function main(): Promise<void> {
  const kindName = process.argv[2] ?? "file";
  const runs = Number(process.argv[3] ?? 3);
  const prefix = testPrefix("bench-engine");
  const root = join(tmpdir(), prefix);
  const kinds: Record<string, () => Kind> = { file: fileKind, container: () => containerKind(root, prefix) };
  if (kinds[kindName] === undefined) throw new Error(`unknown kind '${kindName}' (known: ${Object.keys(kinds).join(", ")})`);
  const kind = kinds[kindName]();
  const results = new Map<number, { up: number[]; drift: number[]; destroy: number[] }>();
  mkdirSync(root, { recursive: true });
  // "hostform" resolves (by walking up from each project) to the build under test.
  const shim = join(root, "node_modules", "hostform");
  mkdirSync(shim, { recursive: true });
  writeFileSync(join(shim, "package.json"), JSON.stringify({ name: "hostform", main: "index.js" }));
  writeFileSync(join(shim, "index.js"), `module.exports = require(${JSON.stringify(join(BUILD, "providers", "index.js"))});\n`);
  try {
    const stacks = new Map<number, Stack>();
    for (const n of SIZES) {
      const dir = join(root, `n${n}`);
      const s: Stack = { dir, live: join(dir, "live"), state: join(dir, "state"), name: `${prefix}-n${n}` };
      mkdirSync(s.live, { recursive: true });
      for (const f of readdirSync(kind.fixture)) copyFileSync(join(kind.fixture, f), join(dir, f));
      symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"));
      writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "bench-engine", devDependencies: { typescript: "*" } }));
      writeFileSync(join(dir, `Pulumi.${s.name}.yaml`), kind.stackConfig(n, s.live));
      stacks.set(n, s);
      results.set(n, { up: [], drift: [], destroy: [] });
    }
    // Sizes alternate within each round, so the machine's noise falls on all of them alike.
    for (let i = 0; i < runs; i++) {
      for (const n of SIZES) {
        const s = stacks.get(n)!;
        const r = results.get(n)!;
        for (const [op, args] of [
          ["up", ["up", "--yes"]],
          ["drift", ["drift", "--exit-code"]],
          ["destroy", ["destroy", "--yes"]],
        ] as const) {
          const t = await hostform([...args], s, kind.env);
          if (t.code !== 0) throw new Error(`${op} of ${n} resources exited ${t.code}:\n${t.out}`);
          r[op].push(t.ms);
          if (op === "up" && (await kind.liveCount(s)) !== n) throw new Error(`up of ${n} left ${await kind.liveCount(s)} live objects`);
          if (op === "destroy" && (await kind.liveCount(s)) !== 0) throw new Error(`destroy of ${n} left ${await kind.liveCount(s)} live objects`);
        }
      }
    }
  } finally {
    await kind.cleanup();
    rmSync(root, { recursive: true, force: true });
  }
  console.log(`kind=${kindName} runs=${runs} (medians, ms; PULUMI_NODEJS_TRANSPILE_ONLY=true)`);
  console.log(`${"size".padStart(5)} ${"up".padStart(8)} ${"drift".padStart(8)} ${"destroy".padStart(8)}`);
  for (const [n, r] of results) console.log(`${String(n).padStart(5)} ${median(r.up).toFixed(0).padStart(8)} ${median(r.drift).toFixed(0).padStart(8)} ${median(r.destroy).toFixed(0).padStart(8)}`);
  const first = results.get(SIZES[0]!)!;
  const last = results.get(SIZES[SIZES.length - 1]!)!;
  const upRatio = median(last.up) / median(first.up);
  const driftRatio = median(last.drift) / median(first.drift);
  console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(" ")} (${cpus().length} CPUs)`);
  console.log(`up(${SIZES.at(-1)})/up(${SIZES[0]}) = ${upRatio.toFixed(2)}x (target <= 3x)`);
  console.log(`drift(${SIZES.at(-1)})/drift(${SIZES[0]}) = ${driftRatio.toFixed(2)}x (target <= 1.5x)`);
}

main().catch((err: unknown) => {
  console.error((err as Error).stack ?? String(err));
  process.exit(1);
});
