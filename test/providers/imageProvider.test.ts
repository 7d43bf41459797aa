// The Image provider against a real registry (Debian's docker-registry on 127.0.0.1, started here)
// and hostform's own store under a prefixed lib dir: a pull unpacks each layer once, containers run on
// it copy-on-write with the image's defaults, a moved tag and a removed layer are read back and
// repaired, and delete releases exactly what the image alone used.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { RuntimeClient } from "../../src/runtime/client";
import { readState } from "../../src/runtime/state";
import { layerDir, storeDir } from "../../src/image/layout";
import { listRecords } from "../../src/image/store";
import { provider as containers, type ContainerInputs, type ContainerOutputs } from "../../providers/impl/v1/container";
import { provider as images, type ImageInputs, type ImageOutputs } from "../../providers/impl/v1/image";
import { buildTestImages, pushImage, TAGS, type TestImages } from "../../fixtures/images";
import { startRegistry, type TestRegistry } from "../../fixtures/registry";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { testOwner } from "../helpers/owner";

const prefix = testPrefix("imgp");
const dir = join(tmpdir(), prefix);
const runDir = join(dir, "run");
process.env.HOSTFORM_RUN_DIR = runDir;
process.env.HOSTFORM_LIB_DIR = join(dir, "lib");
const skip = needsRoot;
let registry: TestRegistry | undefined;
let built: TestImages;
const madeImages = new Map<string, ImageOutputs>();
const madeContainers = new Set<ContainerOutputs>();

before(async () => {
  if (skip !== false) return;
  mkdirSync(dir, { recursive: true });
  built = buildTestImages(join(dir, "images"));
  registry = await startRegistry(prefix);
});

after(async () => {
  for (const c of madeContainers) await containers.delete!(c.containerId, c).catch(() => undefined);
  for (const [id, o] of madeImages) await images.delete!(id, o).catch(() => undefined);
  await new RuntimeClient({ runDir }).shutdownSupervisor().catch(() => undefined);
  await registry?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function makeImage(name: string, inputs: Partial<ImageInputs>): Promise<ImageOutputs> {
  const checked = await images.check!({} as ImageInputs, { resourceName: name, __owner: testOwner(name), tlsVerify: false, ref: "", ...inputs } as ImageInputs);
  assert.deepEqual(checked.failures, []);
  const r = await images.create(checked.inputs!);
  madeImages.set(r.id, r.outs!);
  return r.outs!;
}

function imageInput(o: ImageOutputs): NonNullable<ContainerInputs["image"]> {
  return { ref: o.ref, manifestDigest: o.manifestDigest, layers: o.layerDirs, config: o.config };
}

async function makeContainer(name: string, extra: Partial<ContainerInputs>): Promise<{ inputs: ContainerInputs; outs: ContainerOutputs }> {
  const checked = await containers.check!({} as ContainerInputs, { resourceName: name, name: `${prefix}-${name}`, __owner: testOwner(name), stopTimeout: 2, ...extra });
  assert.deepEqual(checked.failures, []);
  const r = await containers.create(checked.inputs!);
  madeContainers.add(r.outs!);
  return { inputs: checked.inputs!, outs: r.outs! };
}

async function until(what: string, fn: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const layerDirsOnDisk = (): string[] => (existsSync(join(storeDir(), "layers")) ? readdirSync(join(storeDir(), "layers")).sort() : []);

test("an image from a registry: outputs, each layer unpacked once, containers run on it with its defaults and write copy-on-write", { skip, timeout: 120_000 }, async () => {
  const digest = pushImage(built, TAGS.multi, registry!.host, "hf/app:1");
  pushImage(built, TAGS.simple, registry!.host, "hf/base:1");
  const app = await makeImage("app", { ref: `${registry!.host}/hf/app:1` });
  assert.equal(app.digest, digest);
  assert.equal(app.manifestDigest, digest);
  assert.equal(app.resolvedDigest, digest);
  assert.deepEqual(app.config.entrypoint, ["/bin/sh", "-c"]);
  assert.equal(app.config.workingDir, "/data");
  assert.deepEqual(app.config.exposedPorts, ["53/udp", "8080/tcp"]);
  assert.equal(app.intact, true);
  assert.equal(app.layerDirs.length, 2);
  assert.ok(app.size > 0);
  // The base image's one layer is app's bottom layer: the same directory, unpacked once.
  const base = await makeImage("base", { ref: `${registry!.host}/hf/base:1` });
  assert.deepEqual(base.layerDirs, [app.layerDirs[1]]);
  assert.equal(layerDirsOnDisk().length, 2);

  // entrypoint /bin/sh -c with declared args in place of cmd; env FOO from the image, BAR declared;
  // cwd /data from the image; the second layer deleted /etc/deleteme and made /data opaque.
  const script = 'echo "cwd=$(pwd) foo=$FOO bar=$BAR"; ls /data; test -e /etc/deleteme || echo deleted; echo mine > /written; trap "exit 0" TERM; while true; do sleep 1 & wait; done';
  const a = await makeContainer("a", { image: imageInput(app), args: [script], env: { BAR: "declared" } });
  const b = await makeContainer("b", { image: imageInput(app), args: [script] });
  const log = (o: ContainerOutputs): string => readFileSync(o.logPath, "utf8");
  await until("both containers wrote their log", () => log(a.outs).includes("deleted") && log(b.outs).includes("deleted"));
  assert.match(log(a.outs), /cwd=\/data foo=bar bar=declared\nnew\ndeleted\n/);
  assert.deepEqual(a.outs.exposedPorts, ["53/udp", "8080/tcp"]);
  assert.deepEqual(readState(a.outs.containerId)?.rootLayers, app.layerDirs);
  for (const l of app.layerDirs) assert.equal(existsSync(join(l, "written")), false, "no layer is written");
  assert.equal(readFileSync(join(runDir, "containers", a.outs.containerId, "upper", "written"), "utf8"), "mine\n");
  // A container's declaration is in sync with itself; another image digest replaces it.
  assert.equal((await containers.diff!(a.outs.containerId, a.outs, a.inputs)).changes, false);
  const other = await containers.diff!(a.outs.containerId, a.outs, { ...a.inputs, image: imageInput(base) });
  assert.ok(other.replaces?.includes("image"), JSON.stringify(other));
  for (const c of [a.outs, b.outs]) {
    await containers.delete!(c.containerId, c);
    madeContainers.delete(c);
  }
  // base's manifest is the one the next test's tag starts at: let it go, so that test owns it alone.
  await images.delete!(base.name!, base);
  madeImages.delete(base.name!);
  assert.ok(existsSync(app.layerDirs[1]!), "the layer app shares with base stays");
});

test("readonlyRootfs makes an image's root read-only", { skip, timeout: 120_000 }, async () => {
  pushImage(built, TAGS.multi, registry!.host, "hf/ro:1");
  const img = await makeImage("ro", { ref: `${registry!.host}/hf/ro:1` });
  const script = '( : > /x ) 2>/dev/null && echo writable || echo read-only; echo done; trap "exit 0" TERM; while true; do sleep 1 & wait; done';
  const c = await makeContainer("ro", { image: imageInput(img), args: [script], readonlyRootfs: true });
  await until("its log", () => readFileSync(c.outs.logPath, "utf8").includes("done"));
  assert.match(readFileSync(c.outs.logPath, "utf8"), /^read-only\ndone\n/);
  // Only the mount points the init made before the root went read-only (the image has no /proc, /sys, /dev).
  assert.deepEqual(readdirSync(join(runDir, "containers", c.outs.containerId, "upper")).sort(), ["dev", "proc", "sys"]);
  await containers.delete!(c.outs.containerId, c.outs);
  madeContainers.delete(c.outs);
});

test("a tag pushed twice: read reports where it points now, diff asks for an update, update pulls it and lets the old manifest go", { skip, timeout: 120_000 }, async () => {
  pushImage(built, TAGS.simple, registry!.host, "hf/moving:1");
  const img = await makeImage("moving", { ref: `${registry!.host}/hf/moving:1` });
  const inputs = { ...img } as ImageInputs;
  // A container on the first digest holds it in the store while it exists.
  const running = await makeContainer("on-old", { image: imageInput(img), args: ["trap 'exit 0' TERM; while true; do sleep 1 & wait; done"] });
  assert.equal((await images.diff!(img.name!, img, inputs)).changes, false);
  const moved = pushImage(built, TAGS.v2, registry!.host, "hf/moving:1");
  const read = (await images.read!(img.name!, img)).props!;
  assert.equal(read.resolvedDigest, moved);
  assert.equal(read.digest, img.digest, "the pinned digest stays until up");
  assert.equal((await images.diff!(img.name!, read, inputs)).changes, true);
  const updated = (await images.update!(img.name!, read, inputs)).outs!;
  madeImages.set(img.name!, updated);
  assert.equal(updated.manifestDigest, moved);
  assert.equal(updated.resolvedDigest, moved);
  assert.equal(updated.layerDirs.length, 2);
  assert.equal(updated.layerDirs[1], img.layerDirs[0], "the shared base layer is kept");
  const mine = listRecords(storeDir()).filter((r) => r.owners.includes(img.name!)).map((r) => r.manifestDigest);
  assert.deepEqual(mine, [moved], "the Image lets the old manifest go");
  const held = listRecords(storeDir()).find((r) => r.manifestDigest === img.manifestDigest);
  assert.deepEqual(held?.owners, [`container:${running.outs.containerId}`], "the container still holds the old one");
  assert.ok(img.layerDirs.every((l) => existsSync(l)), "its layers stay while it runs");
  assert.equal((await images.diff!(img.name!, updated, inputs)).changes, false);
  await containers.delete!(running.outs.containerId, running.outs);
  madeContainers.delete(running.outs);
  assert.equal(listRecords(storeDir()).find((r) => r.manifestDigest === img.manifestDigest), undefined, "released with the container");
  assert.ok(existsSync(updated.layerDirs[1]!), "the layer the new image shares stays");
});

test("a layer directory removed out of band is read back as missing, and update unpacks it again", { skip, timeout: 120_000 }, async () => {
  pushImage(built, TAGS.multi, registry!.host, "hf/damaged:1");
  const img = await makeImage("damaged", { ref: `${registry!.host}/hf/damaged:1` });
  const top = listRecords(storeDir()).find((r) => r.manifestDigest === img.manifestDigest)!.layers[1]!.diffId;
  rmSync(layerDir(storeDir(), top), { recursive: true, force: true });
  const read = (await images.read!(img.name!, img)).props!;
  assert.equal(read.intact, false);
  assert.deepEqual(read.missingLayers, [top]);
  const inputs = { ...img } as ImageInputs;
  assert.equal((await images.diff!(img.name!, read, inputs)).changes, true);
  const repaired = (await images.update!(img.name!, read, inputs)).outs!;
  madeImages.set(img.name!, repaired);
  assert.equal(repaired.intact, true);
  assert.deepEqual(repaired.layerDirs, img.layerDirs, "the same image, the same directories");
  assert.ok(existsSync(join(layerDir(storeDir(), top), "diff", "data", "new")));
});

test("delete releases what only that image used; the last delete empties the store of its blobs and layers", { skip, timeout: 120_000 }, async () => {
  for (const [id, o] of [...madeImages]) {
    await images.delete!(id, o);
    madeImages.delete(id);
  }
  assert.deepEqual(listRecords(storeDir()), []);
  assert.deepEqual(layerDirsOnDisk(), []);
  assert.deepEqual(readdirSync(join(storeDir(), "blobs", "sha256")), []);
});

test("a pull whose unpack fails leaves nothing of it in the store", { skip, timeout: 120_000 }, async () => {
  const lib = process.env.HOSTFORM_LIB_DIR;
  process.env.HOSTFORM_LIB_DIR = join(dir, "lib-unpack-fails");
  try {
    // The layers directory taken by a file: the pull succeeds, the unpack cannot.
    mkdirSync(storeDir(), { recursive: true });
    writeFileSync(join(storeDir(), "layers"), "not a directory");
    pushImage(built, TAGS.simple, registry!.host, "hf/unpack:1");
    const checked = await images.check!({} as ImageInputs, { resourceName: "u", __owner: testOwner("u"), tlsVerify: false, ref: `${registry!.host}/hf/unpack:1` } as ImageInputs);
    await assert.rejects(images.create(checked.inputs!), /unpack/);
    assert.deepEqual(listRecords(storeDir()), []);
    assert.deepEqual(readdirSync(join(storeDir(), "blobs", "sha256")), []);
  } finally {
    process.env.HOSTFORM_LIB_DIR = lib;
  }
});

test("check names the field of bad input", { skip }, async () => {
  const bad = async (inputs: Partial<ImageInputs>): Promise<string[]> => {
    const r = await images.check!({} as ImageInputs, { resourceName: "bad", ref: `${registry!.host}/hf/app:1`, ...inputs } as ImageInputs);
    return (r.failures ?? []).map((f) => f.property);
  };
  assert.deepEqual(await bad({ ref: "docker://UPPER/case" }), ["ref"]);
  assert.deepEqual(await bad({ pullPolicy: "sometimes" as never }), ["pullPolicy"]);
  assert.deepEqual(await bad({ platform: "linux" }), ["platform"]);
  assert.deepEqual(await bad({ auth: { authFile: "relative.json" } }), ["auth.authFile"]);
});
