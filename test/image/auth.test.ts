// Credentials for skopeo: a username and password become a 0600 auth file (never argv); a user's
// auth file is checked for an entry skopeo 1.9 will actually use for the registry.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { testPrefix } from "../../fixtures/prefix";
import { authFileFor, checkAuthFile } from "../../src/image/auth";
import { parseRef, type RegistryRef } from "../../src/image/ref";
import { ValidationError } from "../../src/sys/errors";

const dir = mkdtempSync(join(tmpdir(), `${testPrefix("image-auth")}-`));
after(() => rmSync(dir, { recursive: true, force: true }));

function registryRef(text: string): RegistryRef {
  const r = parseRef(text);
  assert.equal(r.transport, "docker");
  return r as RegistryRef;
}

function fileWith(name: string, doc: unknown): string {
  const f = join(dir, name);
  writeFileSync(f, JSON.stringify(doc));
  return f;
}

test("a username and password become a 0600 auth.json with the registry's base64 user:password entry", () => {
  const ref = registryRef("127.0.0.1:5000/hf/bb:v1");
  const file = authFileFor({ username: "alice", password: "pw:with:colons" }, ref, dir);
  assert.ok(file !== undefined);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), { auths: { "127.0.0.1:5000": { auth: Buffer.from("alice:pw:with:colons").toString("base64") } } });
  assert.equal(authFileFor(undefined, ref, dir), undefined, "no auth: anonymous");
});

test("auth files: docker config.json keys, namespaced keys and credHelpers are found; others are refused naming auth.authFile", () => {
  const b64 = Buffer.from("u:p").toString("base64");
  checkAuthFile(fileWith("hub.json", { auths: { "https://index.docker.io/v1/": { auth: b64 } } }), registryRef("nginx"));
  checkAuthFile(fileWith("ns.json", { auths: { "127.0.0.1:5000/hf": { auth: b64 } } }), registryRef("127.0.0.1:5000/hf/bb:v1"));
  checkAuthFile(fileWith("helper.json", { credHelpers: { "127.0.0.1:5000": "pass" } }), registryRef("127.0.0.1:5000/hf/bb:v1"));
  const refused = (file: string, text: string, problem: RegExp): void =>
    assert.throws(() => checkAuthFile(file, registryRef(text)), (e: unknown) => e instanceof ValidationError && e.field === "auth.authFile" && problem.test(e.problem), file);
  refused(fileWith("otherns.json", { auths: { "127.0.0.1:5000/other": { auth: b64 } } }), "127.0.0.1:5000/hf/bb:v1", /no credentials for registry 127\.0\.0\.1:5000/);
  refused(fileWith("fields.json", { auths: { "127.0.0.1:5000": { username: "u", password: "p" } } }), "127.0.0.1:5000/hf/bb", /no "auth" field/);
  refused(dir, "127.0.0.1:5000/hf/bb", /not a file/);
});
