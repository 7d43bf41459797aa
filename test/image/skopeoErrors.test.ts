// skopeo 1.9's fatal messages (as measured in research-14 §2.5) → the field the user must fix. Pure:
// the messages are skopeo's own text; the live cases are in badInput.test.ts.
import assert from "node:assert/strict";
import { test } from "node:test";
import { hostPlatform } from "../../src/image/platform";
import { parseRef } from "../../src/image/ref";
import { fatalMessage, mapSkopeoFailure, SkopeoError } from "../../src/image/skopeo";
import { TimeoutError, ValidationError } from "../../src/sys/errors";

const ref = parseRef("127.0.0.1:5055/hf/bb:v1");
const base = { ref, platform: hostPlatform(), timeoutMs: 30_000 };

function fieldOf(msg: string, withAuth = false): string {
  const failure = new SkopeoError("skopeo inspect", 1, msg);
  const e = mapSkopeoFailure(failure, withAuth ? { ...base, auth: { username: "alice", password: "x" } } : base);
  assert.equal(e.cause, failure, "skopeo's message stays the cause");
  return e instanceof ValidationError ? e.field : e instanceof TimeoutError ? "timeout" : "other";
}

test("the fatal line is found and Go's quoting undone", () => {
  const line = 'time="2026-12-07T17:50:01Z" level=fatal msg="reading manifest nope in 127.0.0.1:5055/hf/bb: manifest unknown: \\"x\\""';
  assert.equal(fatalMessage(`warn\n${line}\n`), 'reading manifest nope in 127.0.0.1:5055/hf/bb: manifest unknown: "x"');
  assert.equal(fatalMessage("no fatal here"), undefined);
});

test("each measured message maps to its field", () => {
  const cases: Array<[string, string, boolean?]> = [
    ['Error parsing image name "docker://127.0.0.1:5055/hf/bb:nope": reading manifest nope in 127.0.0.1:5055/hf/bb: manifest unknown: manifest unknown', "ref"],
    ["initializing source docker://127.0.0.1:5055/hf/bb:nope: reading manifest nope in 127.0.0.1:5055/hf/bb: manifest unknown: manifest unknown", "ref"],
    ["invalid reference format: repository name must be lowercase", "ref"],
    ['no descriptor found for reference "nosuchtag"', "ref"],
    ['pinging container registry 127.0.0.1:5999: Get "http://127.0.0.1:5999/v2/": dial tcp 127.0.0.1:5999: connect: connection refused', "ref"],
    ['pinging container registry 127.0.0.1:5055: Get "https://127.0.0.1:5055/v2/": http: server gave HTTP response to HTTPS client', "tlsVerify"],
    ["reading manifest v1 in 127.0.0.1:5056/hf/bb: unauthorized: authentication required", "auth"],
    ["reading manifest v1 in 127.0.0.1:5056/hf/bb: unauthorized: authentication required", "auth", true],
    ["writing blob: happened during read: Digest did not match, expected sha256:75dd, got sha256:17c7", "ref"],
    ["reading config blob sha256:2e70: Download config.json digest sha256:5325 does not match expected sha256:2e70", "ref"],
    ['choosing an image from manifest list oci:multi:multi: no image found in image index for architecture arm64, variant "", OS linux', "platform"],
    ["something skopeo never said before", "other"],
    ["context deadline exceeded", "timeout"],
  ];
  for (const [msg, field, withAuth] of cases) assert.equal(fieldOf(msg, withAuth), field, msg);
});

test("unauthorized says 'needs credentials' without auth and 'rejected' with it, hedging on a missing repository", () => {
  const msg = "reading manifest v1 in 127.0.0.1:5056/hf/bb: unauthorized: authentication required";
  const none = mapSkopeoFailure(new SkopeoError("skopeo", 1, msg), base) as ValidationError;
  const given = mapSkopeoFailure(new SkopeoError("skopeo", 1, msg), { ...base, auth: { username: "a", password: "b" } }) as ValidationError;
  assert.match(none.problem, /needs credentials .*or the repository does not exist/);
  assert.match(given.problem, /rejected the credentials .*or the repository does not exist for them/);
});
