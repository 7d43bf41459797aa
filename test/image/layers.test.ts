// The layer cache in a private store: unpacked once per diff_id, staged and renamed into place
// with its marker, redone when partial, and nothing left behind when a blob is wrong.
import { strict as assert } from "node:assert";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { buildDifferentialImage, type FixtureImage } from "../../fixtures/layerImages";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { layerDiffDir, layerDir, layerMarkerPath, tmpDir } from "../../src/image/layout";
import { layerIntact, readLayerMarker, removeLayer, unpackLayer } from "../../src/image/layers";
import { CorruptFileError } from "../../src/sys/errors";

const prefix = testPrefix("layers");
const work = join("/tmp", prefix);
const store = join(work, "store");

describe("layer cache", { skip: needsRoot }, () => {
  let image: FixtureImage;
  before(() => {
    mkdirSync(store, { recursive: true });
    image = buildDifferentialImage(join(work, "img"), `/tmp/${prefix}-outside`, ["gzip", "gzip", "gzip"]).image;
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  const layer = (i: number): { diffId: string; blobPath: string; mediaType: string; blobDigest: string } => {
    const l = image.layers[i];
    assert.ok(l !== undefined);
    return { diffId: l.diffId, blobPath: l.blobPath, mediaType: l.mediaType, blobDigest: l.digest };
  };

  test("a layer is unpacked once: the second call does no work", async () => {
    const l = layer(0);
    const dir = await unpackLayer(store, l);
    assert.equal(dir, layerDiffDir(store, l.diffId));
    assert.ok(layerIntact(store, l.diffId));
    const marker = readLayerMarker(store, l.diffId);
    assert.equal(marker?.diffId, l.diffId);
    assert.equal(marker?.blobDigest, l.blobDigest);
    assert.ok((marker?.entries ?? 0) > 10);
    const before = statSync(layerMarkerPath(store, l.diffId));
    const busybox = statSync(join(dir, "bin", "busybox"));
    assert.equal(await unpackLayer(store, l), dir);
    const afterMarker = statSync(layerMarkerPath(store, l.diffId));
    assert.deepEqual([afterMarker.ino, afterMarker.mtimeMs], [before.ino, before.mtimeMs]);
    assert.equal(statSync(join(dir, "bin", "busybox")).ino, busybox.ino);
    assert.deepEqual(readdirSync(tmpDir(store)), []);
  });

  test("layers above use the ones below (a hard link to a lower file) and keep one dir per diff_id", async () => {
    const dirs: string[] = [];
    for (const i of [0, 1, 2]) dirs.unshift(await unpackLayer(store, layer(i), dirs));
    assert.equal(readFileSync(join(dirs[0] as string, "lib", "shared.link"), "utf8"), "shared by a hard link in a later layer\n");
    assert.deepEqual(readdirSync(join(store, "layers")).sort(), image.layers.map((l) => l.diffId.slice(7)).sort());
  });

  test("a layer dir without its marker is unpacked again", async () => {
    const l = layer(1);
    await unpackLayer(store, layer(0));
    await unpackLayer(store, l, [layerDiffDir(store, layer(0).diffId)]);
    rmSync(layerMarkerPath(store, l.diffId));
    writeFileSync(join(layerDiffDir(store, l.diffId), "stray"), "left by a crash");
    assert.equal(layerIntact(store, l.diffId), false);
    await unpackLayer(store, l, [layerDiffDir(store, layer(0).diffId)]);
    assert.ok(layerIntact(store, l.diffId));
    assert.equal(existsSync(join(layerDiffDir(store, l.diffId), "stray")), false);
    // A marker for another diff_id (a dir moved by hand) does not count either.
    writeFileSync(layerMarkerPath(store, l.diffId), JSON.stringify({ diffId: layer(0).diffId }));
    assert.equal(layerIntact(store, l.diffId), false);
    rmSync(layerDiffDir(store, l.diffId), { recursive: true });
    writeFileSync(layerMarkerPath(store, l.diffId), JSON.stringify({ diffId: l.diffId }));
    assert.equal(layerIntact(store, l.diffId), false, "marker without diff/");
  });

  test("a blob that does not match its diff_id leaves neither a layer dir nor staging", async () => {
    const l = layer(0);
    const wrong = { ...l, diffId: `sha256:${"1".repeat(64)}` };
    await assert.rejects(unpackLayer(store, wrong), (err: unknown) => err instanceof CorruptFileError && err.message.includes(wrong.diffId));
    assert.equal(existsSync(layerDir(store, wrong.diffId)), false);
    assert.deepEqual(readdirSync(tmpDir(store)), []);
  });

  test("removeLayer removes the layer dir and nothing else", async () => {
    const l = layer(2);
    const lowers = [layerDiffDir(store, layer(1).diffId), layerDiffDir(store, layer(0).diffId)];
    await unpackLayer(store, layer(0));
    await unpackLayer(store, layer(1), lowers.slice(1));
    await unpackLayer(store, l, lowers);
    removeLayer(store, l.diffId);
    assert.equal(existsSync(layerDir(store, l.diffId)), false);
    assert.ok(layerIntact(store, layer(0).diffId));
    removeLayer(store, l.diffId);
  });
});
