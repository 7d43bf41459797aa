// Secrets at rest through the real CLI: after `up`, neither a program secret (pulumi.secret in a
// Container's env) nor a secret config value appears in any file of the state directory, the
// export, the CLI's output (text or --json, debug log included) or the container's log; a missing
// or wrong passphrase fails the command and changes nothing.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { openCgroupDriver } from "../../src/cgroup/driver";
import { RuntimeClient } from "../../src/runtime/client";
import { lockPath } from "../../src/engine/stackLock";
import { fixtureProgramDir } from "../../fixtures/programs";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { useTestRunDir } from "../../fixtures/nsRunDir";

const cleanRunDir = useTestRunDir();
const BUILD = join(__dirname, "..", "..");
const REPO = join(BUILD, "..");
const PASS = "at-rest test passphrase";
const DEPLOYMENT_TIMEOUT_MS = 300_000;

after(async () => {
  // Whatever a failed test left in this file's run dir: containers, their cgroups, the supervisor.
  const client = new RuntimeClient({});
  const driver = openCgroupDriver();
  for (const c of await client.list().catch(() => [])) {
    await client.delete(c.id, { force: true }).catch(() => undefined);
    await driver.delete(c.cgroup).catch(() => undefined);
  }
  await client.shutdownSupervisor().catch(() => undefined);
  await cleanRunDir();
});

interface Project {
  dir: string;
  state: string;
  lib: string;
  cleanup(): void;
}

function makeProject(what: string, pulumiYaml: string, program: string): Project {
  const dir = join(tmpdir(), testPrefix(what));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "Pulumi.yaml"), pulumiYaml);
  writeFileSync(join(dir, "index.ts"), program);
  symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: what, devDependencies: { typescript: "*" } }));
  return { dir, state: join(dir, "state"), lib: join(dir, "lib"), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `hostform <args>` through bin/hostform's entry; no passphrase unless `env` gives one. */
function hostform(p: Project, env: Record<string, string>, ...args: string[]): Promise<CliResult> {
  const base: NodeJS.ProcessEnv = { ...process.env, HOSTFORM_STATE_DIR: p.state, HOSTFORM_LIB_DIR: p.lib, PULUMI_NODEJS_TRANSPILE_ONLY: "true", HOSTFORM_PROGRAM_TIMEOUT_MS: "90000" };
  delete base.PULUMI_CONFIG_PASSPHRASE;
  delete base.PULUMI_CONFIG_PASSPHRASE_FILE;
  const script = "require(process.argv[1]).main(process.argv.slice(2)).then((c) => process.exit(c), (e) => { console.error(e); process.exit(1); })";
  const child = spawn(process.execPath, ["-e", script, join(BUILD, "src", "cli", "main.js"), ...args], { cwd: p.dir, env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

/** Every file under dir (recursively) whose bytes hold the plaintext, or its base64. */
function filesHolding(dir: string, plaintext: string): string[] {
  const needles = [Buffer.from(plaintext), Buffer.from(Buffer.from(plaintext).toString("base64"))];
  const found: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const f = join(d, name);
      const st = statSync(f);
      if (st.isDirectory()) walk(f);
      // Sockets and pinned namespace files have no bytes to read.
      else if (st.isFile() && needles.some((n) => readFileSync(f).includes(n))) found.push(f);
    }
  };
  walk(dir);
  return found;
}

function jsonLines(out: string): unknown[] {
  return out
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as unknown);
}

test("after up, a Container's secret env value and a secret config value are nowhere in the state, export, output or logs", { skip: needsRoot, timeout: DEPLOYMENT_TIMEOUT_MS }, async () => {
  const prefix = testPrefix("atrest");
  const envSecret = `env-${prefix}-7c1d9e`;
  const configSecret = `cfg-${prefix}-3b8a42`;
  const p = makeProject(
    "atrest",
    "name: atrest\nruntime: nodejs\nmain: index.ts\n",
    `import * as pulumi from "@pulumi/pulumi";
const config = new pulumi.Config();
const hf: typeof import(${JSON.stringify(join(REPO, "providers"))}) = require(config.require("package"));
const prefix = config.require("prefix");
const rootfs = new hf.BusyboxRootfs("rootfs", { name: \`\${prefix}-rootfs\`, applets: ["sh", "sleep"] });
export const name = \`\${prefix}-c\`;
const c = new hf.Container("c", {
  name,
  rootfs,
  command: ["/bin/sh", "-c", "echo started; trap 'exit 0' TERM; sleep 1000 & wait"],
  env: { TOKEN: pulumi.secret(${JSON.stringify(envSecret)}), DB: config.requireSecret("dbPassword") },
  stopTimeout: 2,
});
export const pid = c.pid;
export const db = config.requireSecret("dbPassword");
`,
  );
  const withPass = { PULUMI_CONFIG_PASSPHRASE: PASS };
  let destroyed = false;
  try {
    writeFileSync(join(p.dir, "Pulumi.dev.yaml"), `config:\n  atrest:package: ${join(BUILD, "providers", "index.js")}\n  atrest:prefix: ${prefix}\n`);
    let r = await hostform(p, withPass, "config", "set", "dbPassword", configSecret, "--secret");
    assert.equal(r.code, 0, r.stderr);
    const outputs: string[] = [];
    r = await hostform(p, { ...withPass, HOSTFORM_LOG: "debug" }, "up", "--yes", "--json");
    outputs.push(r.stdout, r.stderr);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // The secrets reached the container: the test would prove nothing if they had not.
    const ps = JSON.parse((await hostform(p, {}, "ps", "--json")).stdout) as { id: string; pid?: number }[];
    const container = ps.find((x) => x.id === `${prefix}-c`);
    assert.ok(container?.pid !== undefined, JSON.stringify(ps));
    const environ = readFileSync(`/proc/${container.pid}/environ`, "utf8").split("\0");
    assert.ok(environ.includes(`TOKEN=${envSecret}`) && environ.includes(`DB=${configSecret}`), "the container has both secrets");

    // A second up (text display, debug log) and a drift: nothing to change, nothing shown.
    r = await hostform(p, { ...withPass, HOSTFORM_LOG: "debug" }, "up", "--yes");
    outputs.push(r.stdout, r.stderr);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    r = await hostform(p, withPass, "drift", "--json");
    outputs.push(r.stdout, r.stderr);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    r = await hostform(p, {}, "logs", `${prefix}-c`);
    outputs.push(r.stdout, r.stderr);
    assert.match(r.stdout, /started/);
    const exported = await hostform(p, {}, "stack", "export");
    assert.equal(exported.code, 0, exported.stderr);
    outputs.push(exported.stdout, exported.stderr);

    for (const secret of [envSecret, configSecret]) {
      assert.deepEqual(filesHolding(p.state, secret), [], `${secret} in the state directory`);
      assert.ok(!readFileSync(join(p.dir, "Pulumi.dev.yaml"), "utf8").includes(secret), `${secret} in Pulumi.dev.yaml`);
      outputs.forEach((o, i) => assert.ok(!o.includes(secret), `${secret} in output ${i}`));
      // The runtime's logs (supervisor.log, container.log) neither. Its record of the running
      // container (state.json, on the run dir's tmpfs) holds the spec the process was started
      // with, environment included, as runc's does: that is where a restart takes it from.
      const runDir = process.env.HOSTFORM_RUN_DIR!;
      assert.deepEqual(filesHolding(runDir, secret).filter((f) => !f.endsWith(join(`${prefix}-c`, "state.json"))), [], `${secret} in the run directory`);
    }
    // Sealed, not dropped: the export holds both, encrypted, and --show-secrets gives them back.
    const doc = JSON.parse(exported.stdout) as { deployment: { secrets_providers?: { type: string } } };
    assert.equal(doc.deployment.secrets_providers?.type, "passphrase");
    const shown = await hostform(p, withPass, "stack", "export", "--show-secrets");
    assert.equal(shown.code, 0, shown.stderr);
    assert.ok(shown.stdout.includes(JSON.stringify(JSON.stringify(envSecret)).slice(1, -1)), "the env secret, shown");
    assert.ok(shown.stdout.includes(configSecret), "the config secret (a stack output), shown");

    r = await hostform(p, withPass, "destroy", "--yes");
    assert.equal(r.code, 0, r.stdout + r.stderr);
    destroyed = true;
  } finally {
    if (!destroyed) await hostform(p, withPass, "destroy", "--yes");
    p.cleanup();
  }
});

/** The `files` fixture program: a.txt's content is a secret when secretContent is set. */
function filesProject(): Project & { live: string; configure(values: Record<string, string>): void; checkpointFile: string } {
  const fixture = fixtureProgramDir("files");
  const p = makeProject("secrets-files", readFileSync(join(fixture, "Pulumi.yaml"), "utf8"), readFileSync(join(fixture, "index.ts"), "utf8"));
  const live = join(p.dir, "live");
  mkdirSync(live);
  const configure = (values: Record<string, string>): void => {
    const file = join(p.dir, "Pulumi.dev.yaml");
    // Keeps the encryptionsalt line a run wrote.
    const salt = existsSync(file) ? (/^encryptionsalt: .*\n/m.exec(readFileSync(file, "utf8"))?.[0] ?? "") : "";
    writeFileSync(file, salt + ["config:", `  files:dir: ${live}`, ...Object.entries(values).map(([k, v]) => `  files:${k}: ${JSON.stringify(v)}`)].join("\n") + "\n");
  };
  return { ...p, live, configure, checkpointFile: join(p.state, ".pulumi", "stacks", "files", "dev.json") };
}

/** Every file of the state directory with its bytes and mtime. */
function snapshotDir(dir: string): Map<string, string> {
  const m = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const f = join(d, name);
      const st = statSync(f);
      if (st.isDirectory()) walk(f);
      else m.set(f, `${st.mtimeMs} ${readFileSync(f, "base64")}`);
    }
  };
  walk(dir);
  return m;
}

test("a wrong passphrase fails up and destroy and changes nothing: same state files, no lock, live files untouched", { timeout: DEPLOYMENT_TIMEOUT_MS }, async () => {
  const p = filesProject();
  try {
    p.configure({ secretContent: "wrong-pass-secret-5e1" });
    let r = await hostform(p, { PULUMI_CONFIG_PASSPHRASE: PASS }, "up", "--yes");
    assert.equal(r.code, 0, r.stdout + r.stderr);
    p.configure({ secretContent: "changed-secret-9a0", content: "changed" });
    const stackFile = readFileSync(join(p.dir, "Pulumi.dev.yaml"), "utf8");
    const before = snapshotDir(p.state);
    const live = snapshotDir(p.live);
    for (const cmd of [["up", "--yes"], ["destroy", "--yes"], ["refresh", "--yes"], ["preview"]]) {
      r = await hostform(p, { PULUMI_CONFIG_PASSPHRASE: "not the passphrase" }, ...cmd);
      assert.equal(r.code, 1, `${cmd[0]}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout + r.stderr, /incorrect passphrase for stack 'dev' \(from PULUMI_CONFIG_PASSPHRASE\)/, cmd[0]);
      assert.deepEqual(snapshotDir(p.state), before, `${cmd[0]} changed the state directory`);
      assert.equal(existsSync(lockPath("files", "dev", p.state)), false, `${cmd[0]} left the lock`);
    }
    assert.deepEqual(snapshotDir(p.live), live, "the live files were touched");
    assert.equal(readFileSync(join(p.dir, "Pulumi.dev.yaml"), "utf8"), stackFile);
    r = await hostform(p, { PULUMI_CONFIG_PASSPHRASE: PASS }, "destroy", "--yes");
    assert.equal(r.code, 0, r.stdout + r.stderr);
  } finally {
    p.cleanup();
  }
});

test("no passphrase: a stack with secrets fails naming both variables; a new secret fails its step before anything is created", { timeout: DEPLOYMENT_TIMEOUT_MS }, async () => {
  const p = filesProject();
  try {
    // A fresh stack whose program makes a secret: the step fails before its provider call.
    p.configure({ secretContent: "no-pass-secret-4c2" });
    let r = await hostform(p, {}, "up", "--yes", "--json");
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const failed = jsonLines(r.stdout).find((e) => (e as { type: string }).type === "step-failed") as { urn: string; message: string } | undefined;
    assert.ok(failed?.urn.endsWith("::a"), r.stdout);
    assert.match(failed!.message, /PULUMI_CONFIG_PASSPHRASE to it, or PULUMI_CONFIG_PASSPHRASE_FILE/);
    assert.equal(existsSync(join(p.live, "a.txt")), false, "a was created");
    // Refused before the step wrote anything: the journal is not left holding a secret it cannot write.
    assert.doesNotMatch(r.stdout, /the state could not be written/);
    assert.deepEqual(filesHolding(p.state, "no-pass-secret-4c2"), []);
    assert.equal(existsSync(lockPath("files", "dev", p.state)), false);

    r = await hostform(p, { PULUMI_CONFIG_PASSPHRASE: PASS }, "up", "--yes");
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const before = snapshotDir(p.state);
    for (const cmd of [["up", "--yes"], ["drift"], ["destroy", "--yes"]]) {
      r = await hostform(p, {}, ...cmd);
      assert.equal(r.code, 1, `${cmd[0]}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /a passphrase is needed to decrypt the secrets of stack 'dev': set PULUMI_CONFIG_PASSPHRASE to it, or PULUMI_CONFIG_PASSPHRASE_FILE to a file that holds it/, cmd[0]);
      assert.deepEqual(snapshotDir(p.state), before, `${cmd[0]} changed the state directory`);
    }
    // The file variable opens it.
    writeFileSync(join(p.dir, "passfile"), `${PASS}\n`);
    r = await hostform(p, { PULUMI_CONFIG_PASSPHRASE_FILE: join(p.dir, "passfile") }, "destroy", "--yes");
    assert.equal(r.code, 0, r.stdout + r.stderr);
  } finally {
    p.cleanup();
  }
});

test("a state an older hostform wrote with plaintext secrets needs the passphrase to be written, and is sealed by the next up", { timeout: DEPLOYMENT_TIMEOUT_MS }, async () => {
  const p = filesProject();
  try {
    p.configure({ secretContent: "legacy-secret-61f" });
    let r = await hostform(p, { PULUMI_CONFIG_PASSPHRASE: PASS }, "up", "--yes");
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // The state as hostform wrote it before secrets were encrypted: {sig, plaintext}, no provider, no salt.
    r = await hostform(p, { PULUMI_CONFIG_PASSPHRASE: PASS }, "stack", "export", "--show-secrets");
    const latest = (JSON.parse(r.stdout) as { deployment: Record<string, unknown> }).deployment;
    delete latest.secrets_providers;
    const legacy = JSON.stringify({ version: 3, checkpoint: { stack: "organization/files/dev", latest } }, null, 4);
    writeFileSync(p.checkpointFile, legacy);
    writeFileSync(`${p.checkpointFile}.bak`, legacy);
    const stackFile = join(p.dir, "Pulumi.dev.yaml");
    writeFileSync(stackFile, readFileSync(stackFile, "utf8").replace(/^encryptionsalt: .*\n/m, ""));
    assert.doesNotMatch(readFileSync(join(p.dir, "Pulumi.dev.yaml"), "utf8"), /encryptionsalt/);
    const before = snapshotDir(p.state);
    r = await hostform(p, {}, "up", "--yes", "--refresh");
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /a passphrase is needed to encrypt the first secret of stack 'dev': set PULUMI_CONFIG_PASSPHRASE to it, or PULUMI_CONFIG_PASSPHRASE_FILE/);
    assert.deepEqual(snapshotDir(p.state), before, "the state directory changed");
    // A writing run seals the checkpoint and its backup before anything else, even one stopped
    // before its program registered anything (so before the state was written the usual way).
    r = await hostform(p, { PULUMI_CONFIG_PASSPHRASE: PASS, HOSTFORM_PROGRAM_TIMEOUT_MS: "1" }, "up", "--yes");
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /did not finish within 1 ms/);
    assert.deepEqual(filesHolding(p.state, "legacy-secret-61f"), []);
    assert.match(readFileSync(`${p.checkpointFile}.bak`, "utf8"), /"ciphertext": "v1:/);
    r = await hostform(p, { PULUMI_CONFIG_PASSPHRASE: PASS }, "up", "--yes");
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(filesHolding(p.state, "legacy-secret-61f"), []);
    r = await hostform(p, { PULUMI_CONFIG_PASSPHRASE: PASS }, "destroy", "--yes");
    assert.equal(r.code, 0, r.stdout + r.stderr);
  } finally {
    p.cleanup();
  }
});
