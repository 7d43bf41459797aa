// Pulling each kind of ref into a store of the test's own: a real registry (docker-registry on
// 127.0.0.1), an oci-archive, a docker-archive and an OCI layout dir, all built from busybox-static.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { buildTestImages, pushImage, SIMPLE_CONFIG, tagDescriptor, type TestImages, writeDockerArchive, writeOciArchive, writeOciDir } from "../../fixtures/images";
import { testPrefix } from "../../fixtures/prefix";
import { startRegistry, type TestRegistry } from "../../fixtures/registry";
import { sha256Digest } from "../../src/image/digest";
import { blobPath } from "../../src/image/layout";
import { MEDIA_TYPES } from "../../src/image/manifest";
import { hostPlatform } from "../../src/image/platform";
import { type ImageRecord, pullImage, readImage, resolveImage } from "../../src/image/pull";
import { layoutName, readRecord, verifyImage } from "../../src/image/store";
import { ValidationError } from "../../src/sys/errors";
import { listTree, misnamedBlobs } from "../helpers/imageStore";

const skip = process.getuid?.() === 0 ? false : "needs root (skopeo writes its blob cache under /var/lib/containers)";
const prefix = testPrefix("image-pull");
const work = join("/tmp", prefix);
let images: TestImages;
let registry: TestRegistry | undefined;

before(async () => {
  if (skip !== false) return;
  mkdirSync(work, { recursive: true });
  images = buildTestImages(join(work, "build"));
  registry = await startRegistry(prefix);
});

after(async () => {
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

function newStore(name: string): string {
  return join(work, `store-${name}`);
}

/** The sum of the sizes of the image's blob files in the store. */
function storedSize(store: string, r: ImageRecord): number {
  return [r.manifestDigest, r.configDigest, ...r.layers.map((l) => l.digest)].reduce((n, d) => n + statSync(blobPath(store, d)).size, 0);
}

function assertWellStored(store: string, r: ImageRecord): void {
  assert.deepEqual(misnamedBlobs(store), [], "every blob hashes to its name");
  assert.equal(r.size, storedSize(store, r));
  assert.deepEqual(r.config, SIMPLE_CONFIG);
  assert.deepEqual(r.platform, { os: "linux", architecture: hostPlatform().architecture });
  // The store is an OCI layout skopeo reads by the ref's name (skopeo 1.9's oci transport looks up
  // OCI manifests only: a Docker v2s2 manifest is stored and listed, but not found by name).
  if (r.mediaType !== MEDIA_TYPES.ociManifest) return;
  const raw = execFileSync("skopeo", ["--insecure-policy", "--tmpdir", work, "inspect", "--raw", `oci:${store}:${layoutName(r.ref, r.transport)}`]);
  assert.equal(sha256Digest(raw), r.manifestDigest);
}

test("a registry image: the digest is the registry's, every blob matches its name, the config and size are read", { skip, timeout: 60_000 }, async () => {
  const reg = registry as TestRegistry;
  const pushed = pushImage(images, "simple", reg.host, "hf/bb:v1");
  const store = newStore("registry");
  const ref = `${reg.host}/hf/bb:v1`;
  const t0 = Date.now();
  const resolved = await resolveImage({ ref, tlsVerify: false }, { store });
  const t1 = Date.now();
  const r = await pullImage({ ref, tlsVerify: false }, { store, owner: "img-a" });
  console.log(`# resolve ${t1 - t0} ms, pull ${Date.now() - t1} ms`);
  assert.equal(resolved.digest, pushed);
  assert.equal(r.ref, ref);
  assert.equal(r.transport, "docker");
  assert.equal(r.digest, pushed);
  assert.equal(r.manifestDigest, pushed);
  assert.equal(r.mediaType, MEDIA_TYPES.ociManifest);
  assert.equal(r.layers.length, 1);
  assert.equal(r.layers[0]?.mediaType, "application/vnd.oci.image.layer.v1.tar+gzip");
  assert.deepEqual(r.owners, ["img-a"]);
  assertWellStored(store, r);
  assert.deepEqual(listTree(join(store, "tmp")), [], "staging is gone");
  // A second owner of the same ref: no copy (the store is complete), both owners recorded.
  const again = await pullImage({ ref, tlsVerify: false }, { store, owner: "img-b" });
  assert.deepEqual(again.owners, ["img-a", "img-b"]);
  assert.deepEqual(readRecord(store, r.manifestDigest)?.owners, ["img-a", "img-b"]);
  assert.deepEqual(readImage(r.manifestDigest, { store, ref }), again, "readImage gives what pullImage returned");
  assert.equal(readImage(`sha256:${"0".repeat(64)}`, { store }), undefined);
});

test("a Docker v2s2 image keeps the registry's manifest and digest (no conversion to OCI)", { skip, timeout: 60_000 }, async () => {
  const reg = registry as TestRegistry;
  const pushed = pushImage(images, "simple", reg.host, "hf/bbv2:v1", { v2s2: true });
  const store = newStore("v2s2");
  const r = await pullImage({ ref: `${reg.host}/hf/bbv2:v1`, tlsVerify: false }, { store, owner: "o" });
  assert.equal(r.digest, pushed);
  assert.equal(r.manifestDigest, pushed);
  assert.equal(r.mediaType, MEDIA_TYPES.dockerManifest);
  assertWellStored(store, r);
});

test("an oci-archive, a docker-archive and an OCI layout dir", { skip, timeout: 60_000 }, async () => {
  const store = newStore("archives");
  const ociTar = join(work, "img.oci.tar");
  const fromOciArchive = writeOciArchive(images, "simple", ociTar);
  const a = await pullImage({ ref: `oci-archive:${ociTar}:simple` }, { store, owner: "a" });
  assert.equal(a.digest, fromOciArchive);
  assert.equal(a.transport, "oci-archive");
  assertWellStored(store, a);

  const dockerTar = join(work, "img.docker.tar");
  writeDockerArchive(images, "simple", dockerTar, "hf/bb:v1");
  const resolved = await resolveImage({ ref: `docker-archive:${dockerTar}` }, { store });
  const b = await pullImage({ ref: `docker-archive:${dockerTar}` }, { store, owner: "b" });
  assert.equal(b.digest, resolved.digest);
  assert.equal(b.mediaType, MEDIA_TYPES.dockerManifest);
  // A docker-archive stores layers uncompressed: the blob is the diff_id, the same key as the gzip layer of a.
  assert.equal(b.layers[0]?.digest, b.layers[0]?.diffId);
  assert.equal(b.layers[0]?.diffId, a.layers[0]?.diffId);
  assertWellStored(store, b);

  const dir = join(work, "layout-copy");
  const fromDir = writeOciDir(images, "simple", dir, "v1");
  const c = await pullImage({ ref: `oci:${dir}:v1` }, { store, owner: "c" });
  assert.equal(c.digest, fromDir);
  assert.equal(c.manifestDigest, a.manifestDigest, "the same manifest, one record");
  assert.deepEqual(c.owners, ["a", "c"]);
  assertWellStored(store, c);
});

test("a multi-platform index: digest is the index's, manifestDigest the host platform's", { skip, timeout: 60_000 }, async () => {
  const store = newStore("index");
  const r = await pullImage({ ref: `oci:${images.layout}:index` }, { store, owner: "o" });
  assert.equal(r.digest, tagDescriptor(images.layout, "index").digest);
  assert.equal(r.manifestDigest, tagDescriptor(images.layout, "simple").digest);
  const other = await pullImage({ ref: `oci:${images.layout}:index`, platform: `linux/${images.otherArch}` }, { store, owner: "o2" });
  assert.equal(other.manifestDigest, tagDescriptor(images.layout, "other").digest);
  assert.equal(other.platform.architecture, images.otherArch);
  assertWellStoredBlobs(store);
});

function assertWellStoredBlobs(store: string): void {
  assert.deepEqual(misnamedBlobs(store), []);
}

test("a tag pushed twice: resolveImage gives the new digest; pullPolicy always pulls it, missing keeps the old", { skip, timeout: 60_000 }, async () => {
  const reg = registry as TestRegistry;
  const store = newStore("moved");
  const ref = `${reg.host}/hf/moving:v1`;
  const first = pushImage(images, "simple", reg.host, "hf/moving:v1");
  assert.equal((await pullImage({ ref, tlsVerify: false }, { store, owner: "o" })).digest, first);
  const second = pushImage(images, "v2", reg.host, "hf/moving:v1");
  assert.notEqual(second, first);
  assert.equal((await resolveImage({ ref, tlsVerify: false }, { store })).digest, second);
  assert.equal((await pullImage({ ref, tlsVerify: false }, { store, owner: "o" })).digest, first, "missing: the stored image, no network");
  const pulled = await pullImage({ ref, tlsVerify: false, pullPolicy: "always" }, { store, owner: "o" });
  assert.equal(pulled.digest, second);
  assert.equal(pulled.layers.length, 2);
  // Now the newest for that ref: "missing" finds it.
  assert.equal((await pullImage({ ref, tlsVerify: false }, { store, owner: "o" })).digest, second);
  assertWellStoredBlobs(store);
});

test("pullPolicy missing needs no network once the image is stored; always does", { skip, timeout: 60_000 }, async () => {
  const reg2 = await startRegistry(`${prefix}-2`);
  const store = newStore("offline");
  const ref = `${reg2.host}/hf/bb:v1`;
  try {
    pushImage(images, "simple", reg2.host, "hf/bb:v1");
    await pullImage({ ref, tlsVerify: false }, { store, owner: "o1" });
  } finally {
    await reg2.stop();
  }
  const offline = await pullImage({ ref, tlsVerify: false, pullPolicy: "missing" }, { store, owner: "o2" });
  assert.deepEqual(offline.owners, ["o1", "o2"]);
  await assert.rejects(pullImage({ ref, tlsVerify: false, pullPolicy: "always" }, { store, owner: "o3" }), (e: unknown) => e instanceof ValidationError && e.field === "ref" && /unreachable/.test(e.problem));
  // A blob gone from the store: "missing" pulls again rather than trusting the record.
  const rec = readRecord(store, offline.manifestDigest);
  assert.ok(rec !== undefined);
  unlinkSync(blobPath(store, rec.configDigest));
  await assert.rejects(pullImage({ ref, tlsVerify: false }, { store, owner: "o2" }), (e: unknown) => e instanceof ValidationError && e.field === "ref");
});

test("verifyImage reports a corrupt and a missing blob", { skip, timeout: 60_000 }, async () => {
  const store = newStore("verify");
  const r = await pullImage({ ref: `oci:${images.layout}:multi` }, { store, owner: "o" });
  const rec = readRecord(store, r.manifestDigest);
  assert.ok(rec !== undefined);
  assert.deepEqual(await verifyImage(store, rec), []);
  const [l0, l1] = r.layers;
  assert.ok(l0 !== undefined && l1 !== undefined);
  writeFileSync(blobPath(store, l0.digest), "x".repeat(l0.size));
  unlinkSync(blobPath(store, l1.digest));
  assert.deepEqual(
    (await verifyImage(store, rec)).map((p) => [p.role, p.problem]),
    [
      ["layer 0", "corrupt"],
      ["layer 1", "missing"],
    ],
  );
});
