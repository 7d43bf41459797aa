// bench/ociRuntime: hostform-runtime as podman and containerd's shim call it, whole processes timed
// from outside, beside runc and crun on the same bundle in alternating order (this machine is
// noisy): `run` of /bin/true to its exit, `create` + `start` + `delete --force`, and `state`.
// crun refuses this hybrid host's cgroup layout (it reads cgroup.controllers of the unified
// hierarchy and finds it empty), so it runs in a private mount namespace with an empty file bound
// over that file; what that wrapper costs alone is printed too.
//   node dist/bench/ociRuntime/run.js [runs=20]
import { spawn, spawnSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { testPrefix } from "../../fixtures/prefix";
import { makeBusyboxBundle } from "../../fixtures/busyboxRootfs";
import { RUNC_SPEC_CONFIG } from "../../fixtures/runcSpec";
import { removeCgroupTrees } from "../../fixtures/ociClients/cgroupTrees";

interface Runtime {
  name: string;
  argv: string[];
  skipped?: string;
  samples: Record<string, number[]>;
}

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

function timed(argv: readonly string[]): Promise<{ ms: number; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    const c = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    c.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    c.on("error", reject);
    // "exit", not "close": a created container's init holds create's stderr until it exits.
    c.on("exit", (code) => resolve({ ms: ms(t), code, stderr }));
  });
}

async function must(r: Runtime, args: string[]): Promise<number> {
  const res = await timed([...r.argv, ...args]);
  if (res.code !== 0) throw new Error(`${r.name} ${args[0]} exited ${res.code}: ${res.stderr.trim().split("\n")[0]}`);
  return res.ms;
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 20);
  const prefix = testPrefix("bench-oci");
  const { bundle, rootfs } = makeBusyboxBundle(prefix);
  const empty = join(bundle, "empty");
  writeFileSync(empty, "");
  const config = JSON.parse(JSON.stringify(RUNC_SPEC_CONFIG)) as { process: { args: string[]; terminal: boolean }; root: { path: string }; linux: Record<string, unknown>; mounts: Array<{ type: string }> };
  config.process.args = ["/bin/true"];
  config.process.terminal = false;
  config.root.path = rootfs;
  // Every runtime the same cgroup work, under a parent this bench removes.
  config.linux.cgroupsPath = `/${prefix}/c`;
  writeFileSync(join(bundle, "config.json"), JSON.stringify(config));
  const state = (n: string) => join(bundle, `state-${n}`);
  const hostform = join(__dirname, "..", "..", "..", "bin", "hostform-runtime");
  const runtimes: Runtime[] = [
    { name: "runc", argv: ["runc", "--root", state("runc")], samples: {} },
    {
      name: "crun",
      argv: ["unshare", "--mount", "--propagation", "private", "sh", "-c", `mount --bind ${empty} /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null; exec crun "$@"`, "sh", "--root", state("crun")],
      samples: {},
    },
    { name: "hostform-runtime", argv: [process.execPath, hostform, "--root", state("hostform")], samples: {} },
  ];
  const wrapper = ["unshare", "--mount", "--propagation", "private", "sh", "-c", `mount --bind ${empty} /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null; exec true`];
  const wrapperSamples: number[] = [];
  let seq = 0;
  try {
    for (const r of runtimes) {
      try {
        await must(r, ["run", "--bundle", bundle, `${prefix}-${r.name}-try`]);
      } catch (err) {
        r.skipped = (err as Error).message;
      }
    }
    for (let i = 0; i < runs; i++) {
      wrapperSamples.push((await timed(wrapper)).ms);
      for (const r of runtimes) {
        if (r.skipped !== undefined) continue;
        const id = `${prefix}-${r.name}-${seq++}`;
        (r.samples.run ??= []).push(await must(r, ["run", "--bundle", bundle, id]));
        const id2 = `${prefix}-${r.name}-${seq++}`;
        const create = await must(r, ["create", "--bundle", bundle, id2]);
        const stateMs = await must(r, ["state", id2]);
        const start = await must(r, ["start", id2]);
        const del = await must(r, ["delete", "--force", id2]);
        (r.samples["create+start+delete"] ??= []).push(create + start + del);
        (r.samples.create ??= []).push(create);
        (r.samples.start ??= []).push(start);
        (r.samples.state ??= []).push(stateMs);
      }
    }
    const runc = runtimes[0]!;
    console.log(`whole processes, busybox bundle (runc spec), /bin/true, cgroupsPath set, ${runs} alternating rounds; medians in ms`);
    console.log(`  crun's mount-namespace wrapper alone: ${median(wrapperSamples).toFixed(1)} ms (included in crun's figures)`);
    for (const what of ["run", "create+start+delete", "create", "start", "state"]) {
      const cells = runtimes.map((r) => {
        if (r.skipped !== undefined) return `${r.name}: skipped (${r.skipped})`;
        const m = median(r.samples[what] ?? []);
        const ratio = r === runc || runc.skipped !== undefined ? "" : ` (${(m / median(runc.samples[what] ?? [])).toFixed(2)}x runc)`;
        return `${r.name} ${m.toFixed(1)}${ratio}`;
      });
      console.log(`  ${what.padEnd(20)} ${cells.join("   ")}`);
    }
  } finally {
    for (const r of runtimes) {
      for (let i = 0; i < seq; i++) spawnSync(r.argv[0]!, [...r.argv.slice(1), "delete", "--force", `${prefix}-${r.name}-${i}`], { stdio: "ignore" });
    }
    // The parent every runtime made in every hierarchy, named ones too (runc makes it in name=systemd).
    for (const f of removeCgroupTrees([`/${prefix}`])) console.error(`bench/ociRuntime: cgroup left: ${f}`);
    rmSync(bundle, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
