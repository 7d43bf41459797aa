import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { testPrefix } from "../../fixtures/prefix";

const ENTRY = join(__dirname, "cliEntry.js");
const TYPE = "pulumi-nodejs:dynamic/hostform:File";

/** A project dir (Pulumi.yaml only: these commands never run the program) and its state dir. */
function makeProject(): { dir: string; state: string; cleanup(): void } {
  const dir = join(tmpdir(), testPrefix("stackcfg"));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "Pulumi.yaml"), "name: files\nruntime: nodejs\nconfig:\n  region:\n    default: eu\n");
  return { dir, state: join(dir, "state"), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Without a passphrase unless `env` gives one (the environment running the tests may set one). */
function hostform(p: { dir: string; state: string }, args: string[], stdin?: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const base: NodeJS.ProcessEnv = { ...process.env, HOSTFORM_STATE_DIR: p.state };
  delete base.PULUMI_CONFIG_PASSPHRASE;
  delete base.PULUMI_CONFIG_PASSPHRASE_FILE;
  const child = spawn(process.execPath, [ENTRY, ...args, "--cwd", p.dir], { env: { ...base, ...env }, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(stdin ?? "");
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

/** A deployment as `pulumi stack export` prints one: stack, default provider, two files (b after a). */
function deployment(stack = "dev"): { version: number; deployment: { manifest: object; resources: Record<string, unknown>[] } } {
  const urn = (type: string, name: string) => `urn:pulumi:${stack}::files::${type}::${name}`;
  const provider = urn("pulumi:providers:pulumi-nodejs", "default");
  return {
    version: 3,
    deployment: {
      manifest: { time: "2026-01-01T00:00:00Z", magic: "x", version: "v3.200.0" },
      resources: [
        { urn: urn("pulumi:pulumi:Stack", `files-${stack}`), custom: false, type: "pulumi:pulumi:Stack" },
        { urn: provider, custom: true, id: "p1", type: "pulumi:providers:pulumi-nodejs" },
        { urn: urn(TYPE, "a"), custom: true, id: "/x/a", type: TYPE, inputs: { name: "a" }, outputs: { name: "a", size: 1 }, provider: `${provider}::p1` },
        { urn: urn(TYPE, "b"), custom: true, id: "/x/b", type: TYPE, inputs: { name: "b" }, outputs: { name: "b", size: 1 }, provider: `${provider}::p1`, dependencies: [urn(TYPE, "a")] },
      ],
    },
  };
}

test("config set, get and rm edit Pulumi.<stack>.yaml", async () => {
  const p = makeProject();
  try {
    writeFileSync(join(p.dir, "Pulumi.dev.yaml"), "# kept comment\nconfig:\n  files:keep: yes\n");
    let r = await hostform(p, ["config", "set", "content", "hello world"]);
    assert.equal(r.code, 0, r.stderr);
    r = await hostform(p, ["config", "set", "aws:region", "eu-west-1"]);
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(join(p.dir, "Pulumi.dev.yaml"), "utf8");
    assert.match(text, /# kept comment/);
    assert.match(text, /files:content: hello world/);
    r = await hostform(p, ["config", "get", "content"]);
    assert.deepEqual([r.code, r.stdout], [0, "hello world\n"]);
    r = await hostform(p, ["config", "get", "files:content", "--json"]);
    assert.deepEqual(JSON.parse(r.stdout), { key: "files:content", value: "hello world", secret: false });
    // The project default applies until the stack sets its own value.
    r = await hostform(p, ["config", "get", "region"]);
    assert.equal(r.stdout, "eu\n");

    r = await hostform(p, ["config", "rm", "content"]);
    assert.equal(r.code, 0, r.stderr);
    r = await hostform(p, ["config", "get", "content"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /'files:content' is not set for stack 'dev'/);
    assert.match(readFileSync(join(p.dir, "Pulumi.dev.yaml"), "utf8"), /aws:region: eu-west-1/);

    r = await hostform(p, ["config", "set", "a:b:c", "v"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /KEY.*'a:b:c' is not a configuration key/);
    r = await hostform(p, ["config", "set", "onlykey"]);
    assert.equal(r.code, 2, "a missing VALUE is a usage error");
    // Another stack gets its own file.
    r = await hostform(p, ["config", "set", "content", "x", "--stack", "prod"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(readFileSync(join(p.dir, "Pulumi.prod.yaml"), "utf8"), /files:content: x/);
  } finally {
    p.cleanup();
  }
});

test("stack import validates and writes, export round-trips, ls lists, rm refuses resources unless --force", async () => {
  const p = makeProject();
  try {
    const file = join(p.dir, "deployment.json");
    // A deployment of another stack is refused, naming the field, and nothing is written.
    writeFileSync(file, JSON.stringify(deployment("prod")));
    let r = await hostform(p, ["stack", "import", "--file", file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /deployment\.resources\[0\]\.urn/);
    const stateFile = join(p.state, ".pulumi", "stacks", "files", "dev.json");
    assert.ok(!existsSync(stateFile));
    // Out of dependency order: b before a.
    const bad = deployment();
    bad.deployment.resources = [bad.deployment.resources[0]!, bad.deployment.resources[1]!, bad.deployment.resources[3]!, bad.deployment.resources[2]!];
    r = await hostform(p, ["stack", "import"], JSON.stringify(bad));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /resources\[2\]\.dependencies.*does not appear before/);

    r = await hostform(p, ["stack", "import"], JSON.stringify(deployment()));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /imported 4 resource/);
    const cp = JSON.parse(readFileSync(stateFile, "utf8")) as { version: number; checkpoint: { stack: string } };
    assert.equal(cp.version, 3);
    assert.equal(cp.checkpoint.stack, "organization/files/dev");

    r = await hostform(p, ["stack", "export", "--file", file]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(readFileSync(file, "utf8")) as ReturnType<typeof deployment>;
    assert.equal(out.version, 3);
    assert.deepEqual(out.deployment.resources, deployment().deployment.resources);
    assert.equal((out.deployment.manifest as { version: string }).version, "hostform-0.1.0");

    r = await hostform(p, ["stack", "ls"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^NAME\s+LAST UPDATE\s+RESOURCE COUNT\ndev\*\s+\S+\s+4\n$/);

    r = await hostform(p, ["stack", "rm"]);
    assert.equal(r.code, 2, "no --yes off a terminal is a usage error");
    r = await hostform(p, ["stack", "rm", "--yes"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /still has 4 resource\(s\).*--force/);
    assert.ok(existsSync(stateFile));
    r = await hostform(p, ["stack", "rm", "--yes", "--force"]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!existsSync(stateFile));
    r = await hostform(p, ["stack", "export"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /has no state/);
    r = await hostform(p, ["stack", "ls", "--json"]);
    assert.deepEqual(JSON.parse(r.stdout), []);
  } finally {
    p.cleanup();
  }
});

const PASS = { PULUMI_CONFIG_PASSPHRASE: "correct horse battery staple" };

test("config set --secret: encryptionsalt and secure: value in the stack file, never the plaintext; get decrypts; no or wrong passphrase fails naming both variables", async () => {
  const p = makeProject();
  try {
    const file = join(p.dir, "Pulumi.dev.yaml");
    writeFileSync(file, "# kept comment\nconfig:\n  files:keep: yes\n");
    let r = await hostform(p, ["config", "set", "token", "s3cret-8d1f", "--secret"]);
    assert.equal(r.code, 1, "no passphrase");
    assert.match(r.stderr, /PULUMI_CONFIG_PASSPHRASE\b.*PULUMI_CONFIG_PASSPHRASE_FILE/);
    assert.equal(readFileSync(file, "utf8"), "# kept comment\nconfig:\n  files:keep: yes\n", "nothing written");

    r = await hostform(p, ["config", "set", "token", "s3cret-8d1f", "--secret"], undefined, PASS);
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(file, "utf8");
    assert.ok(!text.includes("s3cret-8d1f"), text);
    assert.match(text, /^encryptionsalt: v1:[A-Za-z0-9+/]+=*:v1:[A-Za-z0-9+/]+=*:[A-Za-z0-9+/]+=*\n/);
    assert.match(text, /# kept comment/);
    assert.match(text, /files:token:\n\s+secure: v1:[A-Za-z0-9+/]+=*:[A-Za-z0-9+/]+=*\n/);
    // A second secret reuses the salt.
    r = await hostform(p, ["config", "set", "other", "two", "--secret"], undefined, PASS);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(file, "utf8").match(/encryptionsalt/g)?.length, 1);

    r = await hostform(p, ["config", "get", "token"], undefined, PASS);
    assert.deepEqual([r.code, r.stdout], [0, "s3cret-8d1f\n"], r.stderr);
    r = await hostform(p, ["config", "get", "token", "--json"], undefined, PASS);
    assert.deepEqual(JSON.parse(r.stdout), { key: "files:token", value: "s3cret-8d1f", secret: true });
    // A plain key of a stack with secrets needs no passphrase.
    r = await hostform(p, ["config", "get", "keep"]);
    assert.deepEqual([r.code, r.stdout], [0, "yes\n"], r.stderr);
    r = await hostform(p, ["config", "get", "token"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /PULUMI_CONFIG_PASSPHRASE\b.*PULUMI_CONFIG_PASSPHRASE_FILE/);
    r = await hostform(p, ["config", "get", "token"], undefined, { PULUMI_CONFIG_PASSPHRASE: "wrong" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /incorrect passphrase for stack 'dev' \(from PULUMI_CONFIG_PASSPHRASE\)/);
    assert.ok(!r.stderr.includes("s3cret-8d1f"));
    r = await hostform(p, ["config", "set", "more", "x", "--secret"], undefined, { PULUMI_CONFIG_PASSPHRASE: "wrong" });
    assert.equal(r.code, 1);
    assert.doesNotMatch(readFileSync(file, "utf8"), /files:more/, "a wrong passphrase writes nothing");
  } finally {
    p.cleanup();
  }
});

test("stack import seals plaintext secrets, export shows ciphertext unless --show-secrets, and a sealed export imports into another stack", async () => {
  const p = makeProject();
  try {
    const d = deployment();
    const secret = "imp0rted-secret-77";
    const wrapper = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", plaintext: JSON.stringify(secret) };
    Object.assign(d.deployment.resources[2]!, { inputs: { name: "a", content: wrapper }, outputs: { name: "a", size: 1, content: wrapper } });
    let r = await hostform(p, ["stack", "import"], JSON.stringify(d));
    assert.equal(r.code, 1, "sealing needs a passphrase");
    assert.match(r.stderr, /PULUMI_CONFIG_PASSPHRASE\b.*PULUMI_CONFIG_PASSPHRASE_FILE/);
    const stateFile = join(p.state, ".pulumi", "stacks", "files", "dev.json");
    assert.ok(!existsSync(stateFile), "nothing written");

    r = await hostform(p, ["stack", "import"], JSON.stringify(d), PASS);
    assert.equal(r.code, 0, r.stderr);
    const stored = readFileSync(stateFile, "utf8");
    assert.ok(!stored.includes(secret) && !stored.includes(Buffer.from(secret).toString("base64")), stored);
    assert.match(readFileSync(join(p.dir, "Pulumi.dev.yaml"), "utf8"), /^encryptionsalt: v1:/);

    // Export as stored needs no passphrase and shows only ciphertext.
    r = await hostform(p, ["stack", "export"]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes(secret));
    const sealed = JSON.parse(r.stdout) as { deployment: { secrets_providers: { type: string; state: { salt: string } }; resources: { inputs?: { content?: Record<string, string> }; outputs?: unknown }[] } };
    assert.equal(sealed.deployment.secrets_providers.type, "passphrase");
    assert.match(sealed.deployment.resources[2]!.inputs!.content!.ciphertext!, /^v1:/);
    r = await hostform(p, ["stack", "export", "--show-secrets"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /PULUMI_CONFIG_PASSPHRASE\b.*PULUMI_CONFIG_PASSPHRASE_FILE/);
    r = await hostform(p, ["stack", "export", "--show-secrets"], undefined, PASS);
    assert.equal(r.code, 0, r.stderr);
    const shown = JSON.parse(r.stdout) as typeof sealed;
    assert.deepEqual(shown.deployment.resources[2]!.inputs!.content, wrapper);

    // The sealed export into another stack: a wrong passphrase fails and writes nothing.
    const prod = JSON.stringify(sealed).replaceAll("urn:pulumi:dev::", "urn:pulumi:prod::");
    r = await hostform(p, ["stack", "import", "--stack", "prod"], prod, { PULUMI_CONFIG_PASSPHRASE: "wrong" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /incorrect passphrase/);
    assert.ok(!existsSync(join(p.state, ".pulumi", "stacks", "files", "prod.json")));
    r = await hostform(p, ["stack", "import", "--stack", "prod"], prod, PASS);
    assert.equal(r.code, 0, r.stderr);
    r = await hostform(p, ["stack", "export", "--stack", "prod", "--show-secrets"], undefined, PASS);
    assert.deepEqual((JSON.parse(r.stdout) as typeof sealed).deployment.resources[2]!.outputs, { name: "a", size: 1, content: wrapper });
  } finally {
    p.cleanup();
  }
});
