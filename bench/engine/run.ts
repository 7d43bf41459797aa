// bench/engine: wall time of `hostform up`, `drift` and `destroy` for stacks of 1, 10 and 50
// resources, each command a fresh CLI process as a user runs it. Prints the median of 3 runs per
// size and the ratios up(50)/up(1) (target <= 3x) and drift(50)/drift(1) (target <= 1.5x).
//   node dist/bench/engine/run.js [kind=file] [runs=3]
//   HOSTFORM_BENCH_MAIN=<other build>/src/cli/main.js node dist/bench/engine/run.js   (A/B runs)
// The programs run with PULUMI_NODEJS_TRANSPILE_ONLY=true (ts-node skips type checking), as a user
// who wants speed would set; type checking is a fixed per-run cost that says nothing about scaling.
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { testPrefix } from "../../test/helpers/prefix";

const REPO = join(__dirname, "..", "..", "..");
// HOSTFORM_BENCH_MAIN points at another build's dist/src/cli/main.js, for before/after comparisons.
const MAIN = process.env.HOSTFORM_BENCH_MAIN ?? join(__dirname, "..", "..", "src", "cli", "main.js");
const SIZES = [1, 10, 50];

/** A program whose stack size is set by config `count`, and a way to check what it made. */
interface Kind {
  /** Directory holding Pulumi.yaml and index.ts. */
  fixture: string;
  /** Pulumi.<stack>.yaml contents for a stack of n resources whose live objects go under `live`. */
  stackConfig(n: number, live: string): string;
  /** Live objects the stack has on the host right now (checked after up and after destroy). */
  liveCount(live: string): number;
}

// To bench real containers, add a kind whose fixture declares `count` Container resources.
const KINDS: Record<string, Kind> = {
  file: {
    fixture: join(REPO, "test", "engine", "fixtures", "files"),
    stackConfig: (n, live) => `config:\n  files:dir: ${live}\n  files:count: "${n}"\n`,
    liveCount: (live) => readdirSync(live).length,
  },
};

interface Timed {
  ms: number;
  code: number | null;
  out: string;
}

function hostform(args: string[], cwd: string, state: string): Promise<Timed> {
  const t0 = process.hrtime.bigint();
  const script = `require(${JSON.stringify(MAIN)}).main(process.argv.slice(1)).then((c) => process.exit(c), (e) => { console.error(e); process.exit(1); })`;
  const child = spawn(process.execPath, ["-e", script, ...args, "--cwd", cwd], {
    env: { ...process.env, HOSTFORM_STATE_DIR: state, PULUMI_NODEJS_TRANSPILE_ONLY: "true" },
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
  const kind = KINDS[kindName];
  if (kind === undefined) throw new Error(`unknown kind '${kindName}' (known: ${Object.keys(KINDS).join(", ")})`);
  const root = join(tmpdir(), testPrefix("bench-engine"));
  const results = new Map<number, { up: number[]; drift: number[]; destroy: number[] }>();
  try {
    const dirs = new Map<number, { dir: string; live: string; state: string }>();
    for (const n of SIZES) {
      const dir = join(root, `n${n}`);
      const live = join(dir, "live");
      const state = join(dir, "state");
      mkdirSync(live, { recursive: true });
      for (const f of readdirSync(kind.fixture)) copyFileSync(join(kind.fixture, f), join(dir, f));
      symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"));
      writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "bench-engine", devDependencies: { typescript: "*" } }));
      writeFileSync(join(dir, "Pulumi.dev.yaml"), kind.stackConfig(n, live));
      dirs.set(n, { dir, live, state });
      results.set(n, { up: [], drift: [], destroy: [] });
    }
    // Sizes alternate within each round, so the machine's noise falls on all of them alike.
    for (let i = 0; i < runs; i++) {
      for (const n of SIZES) {
        const { dir, live, state } = dirs.get(n)!;
        const r = results.get(n)!;
        for (const [op, args] of [
          ["up", ["up", "--yes"]],
          ["drift", ["drift", "--exit-code"]],
          ["destroy", ["destroy", "--yes"]],
        ] as const) {
          const t = await hostform([...args], dir, state);
          if (t.code !== 0) throw new Error(`${op} of ${n} resources exited ${t.code}:\n${t.out}`);
          r[op].push(t.ms);
          if (op === "up" && kind.liveCount(live) !== n) throw new Error(`up of ${n} left ${kind.liveCount(live)} live objects`);
          if (op === "destroy" && kind.liveCount(live) !== 0) throw new Error(`destroy of ${n} left ${kind.liveCount(live)} live objects`);
        }
      }
    }
  } finally {
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
