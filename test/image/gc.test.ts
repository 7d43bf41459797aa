// Garbage: releasing an owner removes only what no remaining image uses, and never a file hostform
// did not record. Two images share a layer (multi is simple plus one layer).
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { buildTestImages, type TestImages } from "../../fixtures/images";
import { testPrefix } from "../../fixtures/prefix";
import { releaseImage } from "../../src/image/gc";
import { blobPath, layerDir } from "../../src/image/layout";
import { type ImageRecord, pullImage } from "../../src/image/pull";
import { listRecords, readIndex } from "../../src/image/store";
import { listTree } from "../helpers/imageStore";

const skip = process.getuid?.() === 0 ? false : "needs root (skopeo writes its blob cache under /var/lib/containers)";
const prefix = testPrefix("image-gc");
const work = join("/tmp", prefix);
let images: TestImages;

before(() => {
  if (skip !== false) return;
  mkdirSync(work, { recursive: true });
  images = buildTestImages(join(work, "build"));
});

after(() => rmSync(work, { recursive: true, force: true }));

/** What the unpacker would have made for each layer (a dir per diff_id). */
function fakeUnpack(store: string, r: ImageRecord): void {
  for (const l of r.layers) {
    mkdirSync(join(layerDir(store, l.diffId), "diff"), { recursive: true });
    writeFileSync(join(layerDir(store, l.diffId), "layer.json"), "{}");
  }
}

const blobsOf = (r: ImageRecord): string[] => [r.manifestDigest, r.configDigest, ...r.layers.map((l) => l.digest)];

test("release keeps what another image uses, then empties the store of all it recorded; a foreign file survives", { skip, timeout: 60_000 }, async () => {
  const store = join(work, "store");
  const simple = await pullImage({ ref: `oci:${images.layout}:simple` }, { store, owner: "image-a" });
  const multi = await pullImage({ ref: `oci:${images.layout}:multi` }, { store, owner: "image-b" });
  await pullImage({ ref: `oci:${images.layout}:multi` }, { store, owner: "image-c" });
  fakeUnpack(store, simple);
  fakeUnpack(store, multi);
  const shared = simple.layers[0];
  assert.ok(shared !== undefined);
  assert.equal(multi.layers[0]?.digest, shared.digest, "the images share their first layer");
  const foreign = [join(store, "blobs", "sha256", "f".repeat(64)), join(store, "layers", "e".repeat(64), "diff", "x"), join(store, "images", "notes.txt"), join(store, "foreign.txt")];
  for (const f of foreign) {
    mkdirSync(join(f, ".."), { recursive: true });
    writeFileSync(f, "not hostform's\n");
  }

  const a = await releaseImage(store, "image-a");
  assert.deepEqual(a.removedImages, [simple.manifestDigest]);
  assert.deepEqual(a.removedBlobs.sort(), [simple.manifestDigest, simple.configDigest].sort(), "only simple's own blobs");
  assert.deepEqual(a.removedLayers, []);
  assert.ok(existsSync(blobPath(store, shared.digest)) && existsSync(layerDir(store, shared.diffId)), "the shared layer stays");
  for (const d of blobsOf(multi)) assert.ok(existsSync(blobPath(store, d)), d);
  assert.deepEqual(readIndex(store).map((e) => e.digest), [multi.manifestDigest]);

  // Two owners: releasing one keeps the image.
  assert.deepEqual((await releaseImage(store, "image-b")).removedImages, []);
  assert.deepEqual(listRecords(store).map((r) => r.owners), [["image-c"]]);
  // An owner with nothing: a no-op.
  assert.deepEqual(await releaseImage(store, "nobody"), { removedImages: [], removedBlobs: [], removedLayers: [] });

  const c = await releaseImage(store, "image-c");
  assert.deepEqual(c.removedLayers.sort(), multi.layers.map((l) => l.diffId).sort());
  assert.deepEqual(listRecords(store), []);
  assert.deepEqual(JSON.parse(readFileSync(join(store, "index.json"), "utf8")).manifests, []);
  for (const f of foreign) assert.equal(readFileSync(f, "utf8"), "not hostform's\n", f);
  // Nothing else is left: the layout skeleton, the lock, and the foreign files.
  assert.deepEqual(listTree(store), [
    "blobs",
    "blobs/sha256",
    `blobs/sha256/${"f".repeat(64)}`,
    "foreign.txt",
    "images",
    "images/notes.txt",
    "index.json",
    "layers",
    `layers/${"e".repeat(64)}`,
    `layers/${"e".repeat(64)}/diff`,
    `layers/${"e".repeat(64)}/diff/x`,
    "lock",
    "oci-layout",
    "tmp",
  ]);
});

test("an owner whose tag moved keeps its new image and lets the old one go", { skip, timeout: 60_000 }, async () => {
  const store = join(work, "store-moved");
  const old = await pullImage({ ref: `oci:${images.layout}:simple` }, { store, owner: "image-a" });
  const now = await pullImage({ ref: `oci:${images.layout}:v2` }, { store, owner: "image-a" });
  const r = await releaseImage(store, "image-a", { keep: [now.manifestDigest] });
  assert.deepEqual(r.removedImages, [old.manifestDigest]);
  assert.deepEqual(listRecords(store).map((i) => [i.manifestDigest, i.owners]), [[now.manifestDigest, ["image-a"]]]);
  for (const d of blobsOf(now)) assert.ok(existsSync(blobPath(store, d)), d);
});
