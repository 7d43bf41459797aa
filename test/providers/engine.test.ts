// End to end through the engine CLI: a program importing the compiled package deploys every
// resource kind (so each serialized provider must work in the provider process), drift is clean,
// an out-of-band cgroup limit change is drift naming the field, `up` repairs it, destroy leaves
// nothing.
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { openCgroupDriver } from "../../src/cgroup/driver";
import { deleteNamespaces, inspectNamespaces } from "../../src/ns";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { runCli } from "../helpers/engineProgram";
import { useTestRunDir } from "../../fixtures/nsRunDir";

// The program's Namespace is pinned under a run dir of this file (the CLI inherits the variable), never /run/hostform.
const cleanRunDir = useTestRunDir();
after(cleanRunDir);

const BUILD = join(__dirname, "..", "..");
const REPO = join(BUILD, "..");
const FIXTURE = join(REPO, "test", "providers", "fixtures", "host");

interface RunResult {
  code: number | null;
  out: string;
}

function run(dir: string, env: Record<string, string>, ...args: string[]): Promise<RunResult> {
  return runCli(dir, env, args);
}

function events(out: string): { type: string; [k: string]: unknown }[] {
  return out
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { type: string });
}

/**
 * A guard against a hung deployment, not a speed limit: seconds on the host, 80-200 s in the cgroup-v2 VM
 * lane (test/vm), where every Node start of the engine, the program and the provider runs under emulation.
 */
const DEPLOYMENT_TIMEOUT_MS = 300_000;

test("up, drift clean, out-of-band limit change is drift, up repairs, destroy leaves nothing", { skip: needsRoot, timeout: DEPLOYMENT_TIMEOUT_MS }, async () => {
  const prefix = testPrefix("prov-e2e");
  const dir = join(tmpdir(), prefix);
  const lib = join(dir, "lib");
  const env = { HOSTFORM_STATE_DIR: join(dir, "state"), HOSTFORM_LIB_DIR: lib };
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(FIXTURE, "Pulumi.yaml"), join(dir, "Pulumi.yaml"));
  copyFileSync(join(FIXTURE, "index.ts"), join(dir, "index.ts"));
  symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "provider-e2e", devDependencies: { typescript: "*" } }));
  writeFileSync(join(dir, "Pulumi.dev.yaml"), `config:\n  hosttest:package: ${join(BUILD, "providers", "index.js")}\n  hosttest:prefix: ${prefix}\n`);
  const driver = openCgroupDriver();
  let web = "";
  try {
    let r = await run(dir, env, "up", "--yes", "--json");
    assert.equal(r.code, 0, r.out);
    const state = JSON.parse(readFileSync(join(dir, "state", ".pulumi", "stacks", "hosttest", "dev.json"), "utf8")) as {
      checkpoint: { latest: { resources: { type: string; id?: string; outputs: Record<string, unknown> }[] } };
    };
    const resources = state.checkpoint.latest.resources;
    const types = resources.map((x) => x.type);
    for (const t of ["Namespace", "Cgroup", "SeccompProfile", "BusyboxRootfs"]) assert.ok(types.includes(`pulumi-nodejs:dynamic/hostform:${t}`), t);
    // The stored provider is the small stable-path closure, not the implementation.
    const stored = String(resources.find((x) => x.type.endsWith(":Cgroup"))!.outputs.__provider);
    assert.ok(stored.includes("providers/impl/v1/cgroup.js") && stored.length < 4000, stored.slice(0, 200));
    web = resources.find((x) => x.type.endsWith(":Cgroup") && String(x.id).includes("/"))!.id!;
    assert.match(web, new RegExp(`^${prefix}-pod/web-[0-9a-f]{8}$`));
    assert.equal(driver.read(web).pids?.max, 50);
    assert.equal(inspectNamespaces(`${prefix}-ns`)?.intact, true);
    assert.ok(existsSync(join(lib, "rootfs", `${prefix}-rootfs`, "bin", "sh")));

    r = await run(dir, env, "drift", "--exit-code", "--json");
    assert.equal(r.code, 0, r.out);

    driver.apply(web, { pids: { max: 9 } });
    r = await run(dir, env, "drift", "--exit-code", "--json");
    assert.equal(r.code, 2, r.out);
    const drifted = events(r.out).filter((e) => e.type === "drift" && e.status === "modified") as unknown as { urn: string; changes: { key: string; old: unknown; new: unknown }[] }[];
    assert.equal(drifted.length, 1, r.out);
    assert.ok(drifted[0]!.urn.endsWith("::web"));
    const change = drifted[0]!.changes.find((c) => c.key === "limits");
    assert.ok(change !== undefined, JSON.stringify(drifted));
    assert.deepEqual((change.new as { pids: unknown }).pids, { max: 9 });

    r = await run(dir, env, "up", "--yes", "--json");
    assert.equal(r.code, 0, r.out);
    assert.ok(events(r.out).some((e) => e.type === "step-done" && e.op === "update" && String(e.urn).endsWith("::web")), r.out);
    assert.equal(driver.read(web).pids?.max, 50);
    r = await run(dir, env, "drift", "--exit-code");
    assert.equal(r.code, 0, r.out);

    r = await run(dir, env, "destroy", "--yes");
    assert.equal(r.code, 0, r.out);
    assert.equal(driver.exists(web), false);
    assert.equal(driver.exists(`${prefix}-pod`), false);
    assert.equal(inspectNamespaces(`${prefix}-ns`), undefined);
    assert.equal(existsSync(join(lib, "rootfs", `${prefix}-rootfs`)), false);
  } finally {
    if (web !== "") await driver.delete(web).catch(() => undefined);
    await driver.delete(`${prefix}-pod`).catch(() => undefined);
    await deleteNamespaces(`${prefix}-ns`).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
});
