// The "Bad input" list: each case fails with an error naming the field to fix, and leaves
// the store exactly as it was (same files), its tmp/ empty, and no oci* dir in /var/tmp.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { blobFile, buildTestImages, pushImage, tagDescriptor, type TestImages, writeOciDir } from "../../fixtures/images";
import { testPrefix } from "../../fixtures/prefix";
import { startRegistry, type TestRegistry } from "../../fixtures/registry";
import { type ImageInput, pullImage } from "../../src/image/pull";
import { CorruptFileError, ValidationError } from "../../src/sys/errors";
import { causedBy } from "../helpers/errorChain";
import { listTree, varTmpOciDirs } from "../helpers/imageStore";
import { SkopeoError } from "../../src/image/skopeo";

const skip = process.getuid?.() === 0 ? false : "needs root (skopeo writes its blob cache under /var/lib/containers)";
const prefix = testPrefix("image-bad");
const work = join("/tmp", prefix);
const store = join(work, "store");
const USERS = { alice: "s3cret-pw" };
let images: TestImages;
let plain: TestRegistry | undefined;
let authed: TestRegistry | undefined;

before(async () => {
  if (skip !== false) return;
  mkdirSync(work, { recursive: true });
  images = buildTestImages(join(work, "build"));
  plain = await startRegistry(prefix);
  authed = await startRegistry(`${prefix}-auth`, { users: USERS });
  pushImage(images, "simple", plain.host, "hf/bb:v1");
  pushImage(images, "simple", authed.host, "hf/private:v1", { creds: { username: "alice", password: USERS.alice } });
  // A store that already holds an image: a failed pull must not change it.
  await pullImage({ ref: `${plain.host}/hf/bb:v1`, tlsVerify: false }, { store, owner: "existing" });
});

after(async () => {
  await plain?.stop();
  await authed?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** Asserts the pull fails with a ValidationError on `field` whose problem matches, and that nothing was left. */
async function failsNaming(input: ImageInput, field: string, problem: RegExp): Promise<ValidationError> {
  const before = listTree(store);
  const index = readFileSync(join(store, "index.json"), "utf8");
  const varTmp = varTmpOciDirs();
  let caught: unknown;
  await pullImage(input, { store, owner: "bad" }).catch((e: unknown) => (caught = e));
  assert.ok(caught instanceof ValidationError, `expected a ValidationError, got ${String(caught)}`);
  assert.equal(caught.field, field, caught.message);
  assert.match(caught.problem, problem);
  assert.deepEqual(listTree(store), before, "the store lists the same files");
  assert.equal(readFileSync(join(store, "index.json"), "utf8"), index, "index.json unchanged");
  assert.deepEqual(readdirSync(join(store, "tmp")), [], "tmp/ is empty");
  assert.deepEqual(varTmpOciDirs(), varTmp, "no oci* dir left in /var/tmp");
  return caught;
}

test("an unknown ref: a tag and a repository the registry lacks, a missing archive, a missing layout tag", { skip, timeout: 60_000 }, async () => {
  const host = (plain as TestRegistry).host;
  const e = await failsNaming({ ref: `${host}/hf/bb:nope`, tlsVerify: false }, "ref", /does not exist: .*manifest unknown/);
  assert.ok(causedBy(e, SkopeoError), "skopeo's own message is kept as the cause");
  await failsNaming({ ref: `${host}/hf/nothere:v1`, tlsVerify: false }, "ref", /does not exist/);
  await failsNaming({ ref: `oci-archive:${join(work, "missing.tar")}` }, "ref", /cannot be read|does not exist/);
  await failsNaming({ ref: `docker-archive:${join(work, "missing.tar")}` }, "ref", /cannot be read|does not exist/);
  await failsNaming({ ref: `oci:${images.layout}:nosuchtag` }, "ref", /does not exist/);
});

test("an unreachable registry (a closed port on 127.0.0.1) names ref", { skip, timeout: 60_000 }, async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await failsNaming({ ref: `127.0.0.1:${port}/hf/bb:v1`, tlsVerify: false }, "ref", /unreachable.*connection refused/);
});

test("HTTPS against a plain-HTTP registry names tlsVerify", { skip, timeout: 60_000 }, async () => {
  // "always": the store already holds this ref, and "missing" would not ask the registry.
  await failsNaming({ ref: `${(plain as TestRegistry).host}/hf/bb:v1`, pullPolicy: "always" }, "tlsVerify", /plain HTTP/);
});

test("no credentials, a wrong password, and unusable auth files name auth; the right password pulls", { skip, timeout: 60_000 }, async () => {
  const host = (authed as TestRegistry).host;
  const ref = `${host}/hf/private:v1`;
  await failsNaming({ ref, tlsVerify: false }, "auth", /needs credentials/);
  await failsNaming({ ref, tlsVerify: false, auth: { username: "alice", password: "wrong" } }, "auth", /rejected the credentials.*or the repository does not exist/);
  await failsNaming({ ref, tlsVerify: false, auth: { authFile: join(work, "no-such-auth.json") } }, "auth.authFile", /cannot be read/);
  const notJson = join(work, "bad.json");
  writeFileSync(notJson, "{");
  await failsNaming({ ref, tlsVerify: false, auth: { authFile: notJson } }, "auth.authFile", /not JSON/);
  const otherHost = join(work, "other.json");
  writeFileSync(otherHost, JSON.stringify({ auths: { "127.0.0.1:1": { auth: "eDp5" } } }));
  await failsNaming({ ref, tlsVerify: false, auth: { authFile: otherHost } }, "auth.authFile", /no credentials for registry/);
  const plainFields = join(work, "fields.json");
  writeFileSync(plainFields, JSON.stringify({ auths: { [host]: { username: "alice", password: USERS.alice } } }));
  await failsNaming({ ref, tlsVerify: false, auth: { authFile: plainFields } }, "auth.authFile", /no "auth" field/);

  const ok = await pullImage({ ref, tlsVerify: false, auth: { username: "alice", password: USERS.alice } }, { store: join(work, "store-auth"), owner: "o" });
  assert.equal(ok.digest, tagDescriptor(images.layout, "simple").digest);
  assert.deepEqual(readdirSync(join(work, "store-auth", "tmp")), [], "the temporary auth file is gone");
  // A docker config.json with the "http://host/v2/" key form.
  const dockerConfig = join(work, "config.json");
  writeFileSync(dockerConfig, JSON.stringify({ auths: { [`http://${host}/v2/`]: { auth: Buffer.from(`alice:${USERS.alice}`).toString("base64") } } }));
  const viaFile = await pullImage({ ref, tlsVerify: false, auth: { authFile: dockerConfig }, pullPolicy: "always" }, { store: join(work, "store-auth"), owner: "o2" });
  assert.equal(viaFile.digest, ok.digest);
});

/** Overwrites a blob file with bytes of the same length (so only the digest check can notice). */
function corrupt(file: string): void {
  const bytes = readFileSync(file);
  const i = bytes.length >> 1;
  bytes[i] = (bytes[i] as number) ^ 0xff;
  writeFileSync(file, bytes);
}

test("a digest mismatch names ref: a corrupt layer in an OCI layout dir, and in the registry's storage", { skip, timeout: 60_000 }, async () => {
  // "multi" and "v2" each have a layer the store lacks, so skopeo has to read it from the source.
  const dir = join(work, "corrupt-layout");
  writeOciDir(images, "multi", dir, "v1");
  const multi = JSON.parse(readFileSync(blobFile(dir, tagDescriptor(dir, "v1").digest), "utf8")) as { layers: Array<{ digest: string }> };
  corrupt(blobFile(dir, multi.layers[1]?.digest as string));
  await failsNaming({ ref: `oci:${dir}:v1` }, "ref", /does not match its digest/);

  const reg = plain as TestRegistry;
  pushImage(images, "v2", reg.host, "hf/corrupt:v1");
  const v2 = JSON.parse(readFileSync(blobFile(images.layout, tagDescriptor(images.layout, "v2").digest), "utf8")) as { layers: Array<{ digest: string }> };
  const hex = (v2.layers[1]?.digest as string).slice("sha256:".length);
  corrupt(join(reg.storage, "docker", "registry", "v2", "blobs", "sha256", hex.slice(0, 2), hex, "data"));
  await failsNaming({ ref: `${reg.host}/hf/corrupt:v1`, tlsVerify: false }, "ref", /does not match its digest/);
});

test("an unsupported platform names platform: an index without it, and a single manifest of another architecture", { skip, timeout: 60_000 }, async () => {
  await failsNaming({ ref: `oci:${images.layout}:index`, platform: "linux/s390x" }, "platform", /no image for linux\/s390x \(it has linux\/\w+, linux\/\w+\)/);
  await failsNaming({ ref: `oci:${images.layout}:other` }, "platform", new RegExp(`built for linux/${images.otherArch}, not linux/${images.arch}`));
  const reg = plain as TestRegistry;
  pushImage(images, "index", reg.host, "hf/multi:v1", { all: true });
  await failsNaming({ ref: `${reg.host}/hf/multi:v1`, tlsVerify: false, platform: "linux/s390x" }, "platform", /no image for linux\/s390x/);
});

test("hostform checks every blob itself: a store blob damaged out of band is not trusted when skopeo reuses it", { skip, timeout: 60_000 }, async () => {
  const own = join(work, "store-damaged");
  const first = await pullImage({ ref: `oci:${images.layout}:simple` }, { store: own, owner: "a" });
  const layer = first.layers[0]?.digest as string;
  corrupt(join(own, "blobs", "sha256", layer.slice("sha256:".length)));
  const before = listTree(own);
  // multi shares that layer: skopeo finds it pre-linked in staging and does not read it again.
  await assert.rejects(pullImage({ ref: `oci:${images.layout}:multi` }, { store: own, owner: "b" }), (e: unknown) => e instanceof CorruptFileError && /the store's copy is damaged/.test(e.message));
  assert.deepEqual(listTree(own), before);
  assert.deepEqual(readdirSync(join(own, "tmp")), []);
});
