// The passphrase secrets provider against values the real Pulumi CLI produced (from pulumi/pulumi's
// own tests), so the format is proven against Pulumi, not only round-tripped through hostform.
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { testPrefix } from "../../fixtures/prefix";
import { loadProject, loadStackConfig } from "../../src/engine/project";
import { fromCheckpointValue, toCheckpointValue } from "../../src/engine/secrets/checkpointValues";
import { crypterFromState, IncorrectPassphraseError, MalformedSecretError, newPassphraseState, SecretDecryptionError } from "../../src/engine/secrets/passphrase";
import { StackSecrets } from "../../src/engine/secrets/stackSecrets";
import { SECRET_SIG, SIG_KEY } from "../../src/engine/propertyValues";

// pulumi/pulumi tests/roundtrip/roundtrip_test.go (TestConfigRoundtripComments): a Pulumi.test.yaml
// written by `pulumi` with passphrase "TestConfigRoundtripComments".
const ROUNDTRIP_PASSPHRASE = "TestConfigRoundtripComments";
const ROUNDTRIP_SALT = "v1:ThS5UPxP9qc=:v1:UZYAXF+ylaJ0rGhv:9OTvBnOEDFgxs7btjzSu+LZ470vLpg==";
const ROUNDTRIP_SECURE = "v1:T1ftqhY0hqr+EJK6:+jvd5PMecFx80tcavzuZY4tLatgIfoe/xR72GA==";
// pulumi/pulumi pkg/secrets/passphrase/manager_test.go: the state of passphrase "password".
const MANAGER_TEST_STATE = "v1:fozI5u6B030=:v1:F+6ZduKKd8G0/V7L:PGMFeIzwobWRKmEAzUdaQHqC5mMRIQ==";

test("Pulumi's own encryptionsalt and secure: value decrypt; a wrong passphrase is told apart by the check value", () => {
  assert.doesNotThrow(() => crypterFromState("password", MANAGER_TEST_STATE));
  assert.throws(() => crypterFromState("password123", MANAGER_TEST_STATE), IncorrectPassphraseError);
  const crypter = crypterFromState(ROUNDTRIP_PASSPHRASE, ROUNDTRIP_SALT);
  assert.equal(crypter.decrypt(ROUNDTRIP_SECURE), "secret-value");
  // One flipped ciphertext byte fails GCM authentication instead of decrypting to garbage.
  const at = ROUNDTRIP_SECURE.lastIndexOf(":") + 1;
  const flipped = `${ROUNDTRIP_SECURE.slice(0, at)}${ROUNDTRIP_SECURE[at] === "A" ? "B" : "A"}${ROUNDTRIP_SECURE.slice(at + 1)}`;
  assert.throws(() => crypter.decrypt(flipped), SecretDecryptionError);
  assert.throws(() => crypterFromState(ROUNDTRIP_PASSPHRASE, "v2:abc:v1:x:y"), MalformedSecretError);
  assert.throws(() => crypter.decrypt("v1:not*base64:AAAA"), MalformedSecretError);
});

test("the stack file Pulumi wrote loads through hostform's config reader: secure value decrypted and listed secret", () => {
  const dir = join(tmpdir(), testPrefix("pulumi-vector"));
  mkdirSync(dir, { recursive: true });
  const saved = { ...process.env };
  try {
    writeFileSync(join(dir, "Pulumi.yaml"), "name: foo\nruntime: nodejs\n");
    writeFileSync(join(dir, "Pulumi.test.yaml"), `encryptionsalt: ${ROUNDTRIP_SALT}\nconfig:\n  foo:a: some-value\n  foo:d:\n    secure: ${ROUNDTRIP_SECURE} # comment on secret\n`);
    delete process.env.PULUMI_CONFIG_PASSPHRASE_FILE;
    process.env.PULUMI_CONFIG_PASSPHRASE = ROUNDTRIP_PASSPHRASE;
    const config = loadStackConfig(loadProject(dir), "test");
    assert.deepEqual(config.values, { "foo:a": "some-value", "foo:d": "secret-value" });
    assert.deepEqual(config.secretKeys, ["foo:d"]);
    process.env.PULUMI_CONFIG_PASSPHRASE = "not-the-passphrase";
    assert.throws(() => loadStackConfig(loadProject(dir), "test"), (err: Error) => err instanceof IncorrectPassphraseError && /config\.foo:d.*incorrect passphrase.*PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE/.test(err.message));
    // The file variable, trimmed as Pulumi reads it.
    delete process.env.PULUMI_CONFIG_PASSPHRASE;
    writeFileSync(join(dir, "pass"), `${ROUNDTRIP_PASSPHRASE}\n`);
    process.env.PULUMI_CONFIG_PASSPHRASE_FILE = join(dir, "pass");
    assert.equal(loadStackConfig(loadProject(dir), "test").values["foo:d"], "secret-value");
  } finally {
    for (const k of ["PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"]) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a new salt state and values are in Pulumi's v1 layout: 8-byte salt, 12-byte nonce, ciphertext plus a 16-byte tag", () => {
  const { state, crypter } = newPassphraseState("pp");
  const m = /^v1:([A-Za-z0-9+/=]+):v1:([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(state);
  assert.ok(m !== null, state);
  assert.equal(Buffer.from(m[1]!, "base64").length, 8);
  assert.equal(Buffer.from(m[2]!, "base64").length, 12);
  assert.equal(Buffer.from(m[3]!, "base64").length, "pulumi".length + 16);
  const value = crypter.encrypt("héllo");
  assert.equal(crypterFromState("pp", state).decrypt(value), "héllo");
  assert.throws(() => crypterFromState("PP", state), IncorrectPassphraseError);
});

test("checkpoint secrets: {sig, ciphertext} of the value's JSON, nested secrets unsealed inside, plaintext only when shown", () => {
  const secrets = new StackSecrets({ stack: "dev", salt: undefined, saveSalt: () => undefined, passphrase: () => ({ value: "pp", source: "PULUMI_CONFIG_PASSPHRASE" }) });
  const secret = (value: unknown) => ({ [SIG_KEY]: SECRET_SIG, value });
  const props = { env: secret({ TOKEN: "t-1", inner: secret("s-2") }), plain: "x" };
  const stored = toCheckpointValue(props, secrets) as { env: { ciphertext: string }; plain: string };
  assert.equal(stored.plain, "x");
  const salt = (secrets.providers()!.state as { salt: string }).salt;
  // Pulumi's SerializePropertyValue seals the outer value only; the inner one rides inside as {sig, ciphertext: <JSON>}.
  assert.deepEqual(JSON.parse(crypterFromState("pp", salt).decrypt(stored.env.ciphertext)), { TOKEN: "t-1", inner: { [SIG_KEY]: SECRET_SIG, ciphertext: '"s-2"' } });
  assert.deepEqual(fromCheckpointValue(stored, secrets.decrypter(secrets.providers())), props);
  // Rewriting keeps an unchanged secret's ciphertext, in this process and in the next one that read it.
  assert.deepEqual(toCheckpointValue(props, secrets), stored);
  const next = new StackSecrets({ stack: "dev", salt, saveSalt: () => assert.fail("the salt is saved already"), passphrase: () => ({ value: "pp", source: "PULUMI_CONFIG_PASSPHRASE" }) });
  assert.deepEqual(toCheckpointValue(fromCheckpointValue(stored, next.decrypter(secrets.providers())), next), stored);
  const shown = toCheckpointValue(props, secrets.showing()) as { env: { plaintext: string } };
  assert.deepEqual(JSON.parse(shown.env.plaintext), { TOKEN: "t-1", inner: { [SIG_KEY]: SECRET_SIG, plaintext: '"s-2"' } });
  assert.deepEqual(fromCheckpointValue(shown, () => assert.fail("a plaintext secret needs no decryption")), props);
  assert.throws(() => fromCheckpointValue({ [SIG_KEY]: SECRET_SIG, ciphertext: "v1:a", plaintext: '"x"' }, (c) => c), /exactly one of `ciphertext` or `plaintext`/);
});
