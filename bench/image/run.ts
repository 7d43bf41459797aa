// bench/image: containers from images in a local registry (Debian's docker-registry on 127.0.0.1,
// started by the bench), against podman from Debian with a private store pulling the same image
// from the same registry. Issue 14's targets:
//   first start (nothing in the store -> a running container: pull, unpack, create+start) <= 1.0x
//     `podman pull` + `podman run -d` of the same image;
//   second start (image in the store: no pull, no unpack) within 10% of a directory root;
//   disk: 20 running containers of one image take about one image's worth plus their upper dirs.
// hostform is timed through its providers (Image create, Container create), as a program's `up` runs
// them, without the engine's own start (loading @pulumi/pulumi: bench/engine measures that).
//   node dist/bench/image/run.js [runs=5]
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildTestImages, pushImage, TAGS } from "../../fixtures/images";
import { testPrefix } from "../../fixtures/prefix";
import { startRegistry, type TestRegistry } from "../../fixtures/registry";
import { RuntimeClient } from "../../src/runtime/client";
import { provider as containers, type ContainerInputs, type ContainerOutputs } from "../../providers/impl/v1/container";
import { provider as images, type ImageInputs, type ImageOutputs } from "../../providers/impl/v1/image";
import { appletList, buildBusyboxRootfs, findBusybox } from "../../providers/rootfs/busybox";

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
};
const ms = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;
const LOOP = ["/bin/sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait; done"];
const PODMAN_RUN = ["--network", "none", "--pull", "never", "--entrypoint", "/bin/sh"];
const PODMAN_LOOP = ["-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait; done"];

function du(path: string): number {
  return Number(execFileSync("du", ["-sk", path], { encoding: "utf8" }).split("\t")[0]) * 1024;
}

/** podman with a store, run root and config of the bench's own; cgroupfs, no network, runc (DESIGN §9). */
function podman(base: string): (args: string[]) => void {
  const conf = join(base, "containers.conf");
  writeFileSync(conf, '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nruntime = "runc"\n');
  return (args) => {
    const r = spawnSync("podman", ["--root", join(base, "root"), "--runroot", join(base, "runroot"), "--tmpdir", join(base, "tmp"), "--storage-driver", "overlay", ...args], { encoding: "utf8", env: { ...process.env, CONTAINERS_CONF: conf, HOME: base, XDG_CONFIG_HOME: join(base, "config") } });
    if (r.status !== 0) throw new Error(`podman ${args.join(" ")}: ${r.stderr}`);
  };
}

async function podmanRuns(ref: string, runs: number): Promise<{ first: number; second: number }> {
  const first: number[] = [];
  const second: number[] = [];
  for (let i = 0; i < runs; i++) {
    // podman refuses a run root path longer than 50 characters.
    const dir = mkdtempSync(join(tmpdir(), "hf-podman-"));
    mkdirSync(join(dir, "tmp"), { recursive: true });
    const p = podman(dir);
    try {
      let t = process.hrtime.bigint();
      p(["pull", "-q", "--tls-verify=false", ref]);
      p(["run", "-d", "--name", "b1", ...PODMAN_RUN, ref, ...PODMAN_LOOP]);
      first.push(ms(t));
      t = process.hrtime.bigint();
      p(["run", "-d", "--name", "b2", ...PODMAN_RUN, ref, ...PODMAN_LOOP]);
      second.push(ms(t));
    } finally {
      // Its containers, their overlay mounts and its store go with the private root.
      try {
        p(["rm", "-f", "-t", "0", "b1", "b2"]);
      } catch {
        // Not made: nothing to remove.
      }
      p(["system", "reset", "-f"]);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { first: median(first), second: median(second) };
}

async function makeContainer(name: string, extra: Partial<ContainerInputs>): Promise<ContainerOutputs> {
  const checked = await containers.check!({} as ContainerInputs, { resourceName: "b", name, command: LOOP, stopTimeout: 2, ...extra });
  if ((checked.failures ?? []).length > 0) throw new Error(JSON.stringify(checked.failures));
  return (await containers.create(checked.inputs!)).outs!;
}

function imageOf(outs: ImageOutputs): ContainerInputs["image"] {
  return { ref: outs.ref, manifestDigest: outs.manifestDigest, layers: outs.layerDirs, config: outs.config };
}

async function pullImage(prefix: string, ref: string, i: number): Promise<ImageOutputs> {
  const checked = await images.check!({} as ImageInputs, { resourceName: "img", name: `${prefix}-img-${i}`, ref, tlsVerify: false });
  if ((checked.failures ?? []).length > 0) throw new Error(JSON.stringify(checked.failures));
  return (await images.create(checked.inputs!)).outs!;
}

/**
 * hostform's first start of `ref`, `runs` times after one unmeasured round: an empty store each time
 * (its own lib dir), then pull + unpack + create/start. The last round's image stays in the store
 * (HOSTFORM_LIB_DIR points at it) for what is measured next.
 */
async function firstStarts(prefix: string, base: string, ref: string, runs: number, tag: string): Promise<{ first: number; pull: number; last: ImageOutputs }> {
  const first: number[] = [];
  const pull: number[] = [];
  let last: ImageOutputs | undefined;
  for (let i = -1; i < runs; i++) {
    process.env.HOSTFORM_LIB_DIR = join(base, `lib-${tag}-${i + 1}`);
    const t = process.hrtime.bigint();
    const img = await pullImage(prefix, ref, i + 1);
    const pulled = ms(t);
    const c = await makeContainer(`${prefix}-${tag}-${i + 1}`, { image: imageOf(img) });
    const total = ms(t);
    if (i >= 0) {
      first.push(total);
      pull.push(pulled);
    }
    last = img;
    await containers.delete!(c.containerId, c);
    if (i < runs - 1) {
      await images.delete!(img.name!, img);
      rmSync(process.env.HOSTFORM_LIB_DIR, { recursive: true, force: true });
    }
  }
  return { first: median(first), pull: median(pull), last: last! };
}

/** The busybox image plus a layer of the host's Python standard library (tens of MB, ~1,500 files), if there is one. */
function pushPythonImage(layout: string, host: string): string | undefined {
  const python = readdirSync("/usr/lib").filter((n) => /^python3\.\d+$/.test(n)).sort().pop();
  if (python === undefined) return undefined;
  execFileSync("umoci", ["tag", "--image", `${layout}:${TAGS.simple}`, "bench-python"]);
  execFileSync("umoci", ["insert", "--image", `${layout}:bench-python`, `/usr/lib/${python}`, `/usr/lib/${python}`]);
  execFileSync("skopeo", ["--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false", `oci:${layout}:bench-python`, `docker://${host}/bench/python:1`]);
  return `${host}/bench/python:1`;
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 5);
  const prefix = testPrefix("bench-img");
  const base = join(tmpdir(), prefix);
  process.env.HOSTFORM_RUN_DIR = join(base, "run");
  mkdirSync(base, { recursive: true });
  let registry: TestRegistry | undefined;
  const made: ContainerOutputs[] = [];
  try {
    const built = buildTestImages(join(base, "images"));
    registry = await startRegistry(prefix);
    pushImage(built, TAGS.simple, registry.host, "bench/busybox:1");
    const ref = `${registry.host}/bench/busybox:1`;
    const rootfs = join(base, "rootfs");
    const busybox = findBusybox(undefined);
    buildBusyboxRootfs(rootfs, busybox, appletList(busybox, ["sh", "sleep"]));

    const busyboxFirst = await firstStarts(prefix, base, ref, runs, "bb");
    const last = busyboxFirst.last;
    // Second start: the image in the store; against a directory root (copy-on-write, the default, and written through).
    const second: Record<string, number[]> = { image: [], "directory (copy-on-write)": [], "directory (written through)": [] };
    for (let i = -1; i < runs; i++) {
      const cases = [["image", { image: imageOf(last!) }], ["directory (copy-on-write)", { rootfs }], ["directory (written through)", { rootfs, copyOnWrite: false }]] as const;
      // Each round in another order: the first create after a delete is not always the same case's.
      const round = [...cases.slice((i + 3) % 3), ...cases.slice(0, (i + 3) % 3)];
      for (const [k, [name, extra]] of round.entries()) {
        const t = process.hrtime.bigint();
        const c = await makeContainer(`${prefix}-s${k}-${i + 1}`, extra);
        if (i >= 0) second[name]!.push(ms(t));
        await containers.delete!(c.containerId, c);
      }
    }
    // Disk: 20 running containers of the image.
    const storeBytes = du(join(process.env.HOSTFORM_LIB_DIR!, "images"));
    for (let i = 0; i < 20; i++) made.push(await makeContainer(`${prefix}-disk-${i}`, { image: imageOf(last!), command: ["/bin/sh", "-c", `echo ${i} > /written; trap 'exit 0' TERM; while true; do sleep 1 & wait; done`] }));
    const uppers = readdirSync(join(base, "run", "containers")).reduce((sum, id) => sum + du(join(base, "run", "containers", id, "upper")), 0);
    const storeAfter = du(join(process.env.HOSTFORM_LIB_DIR!, "images"));
    for (const c of made.splice(0)) await containers.delete!(c.containerId, c);

    const p = await podmanRuns(ref, runs);
    // A bigger image: first start only (unpacking dominates), hostform and podman.
    const pythonRef = pushPythonImage(built.layout, registry.host);
    const pythonFirst = pythonRef !== undefined ? await firstStarts(prefix, base, pythonRef, runs, "py") : undefined;
    const pythonPodman = pythonRef !== undefined ? await podmanRuns(pythonRef, runs) : undefined;
    const s = Object.fromEntries(Object.entries(second).map(([k, v]) => [k, median(v)]));
    console.log(`image ${ref} (busybox, ${last!.size} bytes of blobs), ${runs} runs each (median ms)`);
    console.log(`  first start:  hostform ${busyboxFirst.first.toFixed(0)} (pull+unpack ${busyboxFirst.pull.toFixed(0)})  podman pull+run ${p.first.toFixed(0)}  ratio ${(busyboxFirst.first / p.first).toFixed(2)}x (target <= 1.0x)`);
    console.log(`  second start: hostform image ${s.image!.toFixed(1)}  directory root ${s["directory (copy-on-write)"]!.toFixed(1)} (written through ${s["directory (written through)"]!.toFixed(1)})  podman run ${p.second.toFixed(0)}`);
    console.log(`                image / directory root ${(s.image! / s["directory (copy-on-write)"]!).toFixed(2)}x (target <= 1.10x); / written-through directory ${(s.image! / s["directory (written through)"]!).toFixed(2)}x`);
    if (pythonFirst !== undefined && pythonPodman !== undefined) {
      console.log(`  first start, busybox + the host's Python library (${pythonFirst.last.size} bytes of blobs): hostform ${pythonFirst.first.toFixed(0)} (pull+unpack ${pythonFirst.pull.toFixed(0)})  podman pull+run ${pythonPodman.first.toFixed(0)}  ratio ${(pythonFirst.first / pythonPodman.first).toFixed(2)}x (target <= 1.0x)`);
    }
    console.log(`  disk: store ${(storeBytes / 1024).toFixed(0)} KiB before and ${(storeAfter / 1024).toFixed(0)} KiB with 20 running containers, whose upper dirs hold ${(uppers / 1024).toFixed(0)} KiB`);
  } finally {
    for (const c of made) await containers.delete!(c.containerId, c).catch((e: unknown) => console.error(String(e)));
    await new RuntimeClient({ runDir: join(base, "run") }).shutdownSupervisor().catch(() => undefined);
    await registry?.stop();
    rmSync(base, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
