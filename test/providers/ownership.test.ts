// Ownership and `import`, end to end through the engine CLI against the real host: a pinned name
// another stack owns is refused naming the owner (its container untouched), a cgroup hostform did
// not make is refused (its limits untouched), and the import resource option adopts a container
// left behind by a lost state or made through the runtime API: preview shows it as an import, a
// declaration that differs fails naming the inputs (and changes nothing), an id that does not
// exist fails naming it.
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { openCgroupDriver } from "../../src/cgroup/driver";
import { RuntimeClient } from "../../src/runtime/client";
import { containerOwner } from "../../src/runtime/ownerRecord";
import { readState } from "../../src/runtime/state";
import { isMountPoint } from "../../src/ns/pin";
import { MNT_DETACH } from "../../src/sys/constants";
import { umount2 } from "../../src/sys/libc";
import { buildSpec } from "../../providers/impl/v1/containerSpec";
import { appletList, buildBusyboxRootfs, findBusybox } from "../../providers/rootfs/busybox";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { runCli } from "../helpers/engineProgram";

const BUILD = join(__dirname, "..", "..");
const REPO = join(BUILD, "..");
const FIXTURE = join(REPO, "test", "providers", "fixtures", "owned");
const DEPLOYMENT_TIMEOUT_MS = 300_000;

const prefix = testPrefix("own");
const dir = join(tmpdir(), prefix);
const runDir = join(dir, "run");
const rootfs = join(dir, "rootfs");
// Before any client exists: the supervisor, the containers and the CLI's children use this run dir.
process.env.HOSTFORM_RUN_DIR = runDir;
const driver = openCgroupDriver();
const client = new RuntimeClient({ runDir });
const containers = new Set<string>();
const cgroups = new Set<string>();

/** A shell that exits at once on SIGTERM, so stops take no timeout. */
const LOOP = "trap 'exit 0' TERM; while true; do sleep 1 & wait; done";

if (!needsRoot) {
  mkdirSync(dir, { recursive: true });
  const busybox = findBusybox(undefined);
  buildBusyboxRootfs(rootfs, busybox, appletList(busybox, ["sh", "sleep"]));
}

after(async () => {
  for (const id of containers) {
    await client.stop(id).catch(() => undefined);
    await client.delete(id, { force: true }).catch(() => undefined);
    await driver.delete(id).catch(() => undefined);
  }
  for (const name of cgroups) await driver.delete(name).catch(() => undefined);
  await client.shutdownSupervisor().catch(() => undefined);
  if (isMountPoint(join(runDir, "ns"))) umount2(join(runDir, "ns"), MNT_DETACH);
  rmSync(dir, { recursive: true, force: true });
});

interface Project {
  dir: string;
  env: Record<string, string>;
  /** Runs the CLI on stack `stack` with these config values. */
  run(stack: string, config: Record<string, string>, ...args: string[]): Promise<{ code: number | null; out: string }>;
  /** The stack's stored resources. */
  resources(stack: string): { type: string; id?: string; outputs: Record<string, unknown> }[];
}

function project(name: string): Project {
  const p = join(dir, name);
  mkdirSync(p, { recursive: true });
  copyFileSync(join(FIXTURE, "Pulumi.yaml"), join(p, "Pulumi.yaml"));
  copyFileSync(join(FIXTURE, "index.ts"), join(p, "index.ts"));
  symlinkSync(join(REPO, "node_modules"), join(p, "node_modules"));
  writeFileSync(join(p, "package.json"), JSON.stringify({ name: "ownership-e2e", devDependencies: { typescript: "*" } }));
  const stateDir = join(p, "state");
  const env = { HOSTFORM_STATE_DIR: stateDir, HOSTFORM_LIB_DIR: join(p, "lib") };
  return {
    dir: p,
    env,
    run(stack, config, ...args) {
      const values: Record<string, string> = { package: join(BUILD, "providers", "index.js"), rootfs, script: LOOP, ...config };
      const lines = Object.entries(values).map(([k, v]) => `  ownedtest:${k}: ${JSON.stringify(v)}`);
      writeFileSync(join(p, `Pulumi.${stack}.yaml`), `config:\n${lines.join("\n")}\n`);
      return runCli(p, env, [...args, "--stack", stack]);
    },
    resources(stack) {
      const file = join(stateDir, ".pulumi", "stacks", "ownedtest", `${stack}.json`);
      if (!existsSync(file)) return [];
      const doc = JSON.parse(readFileSync(file, "utf8")) as { checkpoint: { latest?: { resources?: { type: string; id?: string; outputs: Record<string, unknown> }[] } } };
      return doc.checkpoint.latest?.resources ?? [];
    },
  };
}

function events(out: string): { type: string; [k: string]: unknown }[] {
  return out
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { type: string });
}

/** The running container's PID 1 (0 when it is not running). */
async function livePid(id: string): Promise<number> {
  const s = await client.state(id);
  return s.status === "running" ? s.pid : 0;
}

test("a second stack declaring the same pinned Container name is refused naming the owner; the first container is untouched", { skip: needsRoot, timeout: DEPLOYMENT_TIMEOUT_MS }, async () => {
  const name = `${prefix}-taken`;
  containers.add(name);
  const p = project("taken");
  let r = await p.run("first", { containerName: name }, "up", "--yes");
  assert.equal(r.code, 0, r.out);
  const pid = await livePid(name);
  assert.ok(pid > 0);

  r = await p.run("second", { containerName: name }, "up", "--yes");
  assert.notEqual(r.code, 0, r.out);
  assert.match(r.out, new RegExp(`container ${name} already exists and belongs to resource hostform:Container::app of stack ownedtest/first`));
  assert.match(r.out, /choose another name, or destroy hostform:Container::app in stack ownedtest\/first first, or adopt it with the import resource option/);
  assert.equal(await livePid(name), pid, "the first stack's container keeps running, not replaced");
  assert.deepEqual(containerOwner(readState(name)!), { stack: "ownedtest/first", resource: "hostform:Container::app" });
  assert.deepEqual(driver.owner(name), { stack: "ownedtest/first", resource: "hostform:Container::app" }, "its cgroup records the owner too");
  assert.equal(p.resources("second").filter((x) => x.type.endsWith(":Container")).length, 0);

  r = await p.run("first", { containerName: name }, "destroy", "--yes");
  assert.equal(r.code, 0, r.out);
  assert.equal(readState(name), undefined);
});

test("a Cgroup over an existing cgroup hostform did not make is refused; its limits stay", { skip: needsRoot, timeout: DEPLOYMENT_TIMEOUT_MS }, async () => {
  const name = `${prefix}-foreign`;
  cgroups.add(name);
  driver.create(name, { pids: { max: 33 } });
  const p = project("foreign");
  const r = await p.run("dev", { cgroupName: name, pidsMax: "40" }, "up", "--yes");
  assert.notEqual(r.code, 0, r.out);
  assert.match(r.out, new RegExp(`cgroup ${name} already exists and was not made by hostform`));
  assert.equal(driver.read(name).pids?.max, 33);
  assert.equal(driver.owner(name), undefined, "no owner written on a refused cgroup");
  assert.equal(p.resources("dev").filter((x) => x.type.endsWith(":Cgroup")).length, 0);
});

test("import adopts a cgroup hostform did not make once the declared limits match it; destroy removes it", { skip: needsRoot, timeout: DEPLOYMENT_TIMEOUT_MS }, async () => {
  const name = `${prefix}-adopted`;
  cgroups.add(name);
  driver.create(name, { pids: { max: 33 } });
  const p = project("adopted");
  let r = await p.run("dev", { cgroupName: name, pidsMax: "40", importCgroup: name }, "up", "--yes");
  assert.notEqual(r.code, 0, r.out);
  assert.match(r.out, /inputs to import do not match the existing resource: pids;/);
  assert.equal(driver.read(name).pids?.max, 33);
  assert.equal(driver.owner(name), undefined);

  r = await p.run("dev", { cgroupName: name, pidsMax: "33", importCgroup: name }, "up", "--yes", "--json");
  assert.equal(r.code, 0, r.out);
  assert.ok(events(r.out).some((e) => e.type === "step-done" && e.op === "import" && String(e.urn).endsWith("::group")), r.out);
  assert.equal(p.resources("dev").find((x) => x.type.endsWith(":Cgroup"))?.id, name);
  assert.deepEqual(driver.owner(name), { stack: "ownedtest/dev", resource: "hostform:Cgroup::group" });

  r = await p.run("dev", { cgroupName: name, pidsMax: "33" }, "destroy", "--yes");
  assert.equal(r.code, 0, r.out);
  assert.equal(driver.exists(name), false);
});

test("import adopts a container a lost state left behind: preview shows = import, up takes it over, destroy removes it", { skip: needsRoot, timeout: DEPLOYMENT_TIMEOUT_MS }, async () => {
  const name = `${prefix}-orphan`;
  containers.add(name);
  const lost = project("lost");
  let r = await lost.run("dev", { containerName: name }, "up", "--yes");
  assert.equal(r.code, 0, r.out);
  const pid = await livePid(name);
  rmSync(join(lost.dir, "state"), { recursive: true, force: true });

  // Another stack takes it over (the same stack would be its owner already).
  const p = project("adopter");
  r = await p.run("rebuilt", { containerName: name, importContainer: name }, "preview");
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /^ = +import +pulumi-nodejs:dynamic\/hostform:Container app$/m);
  assert.match(r.out, /= ?1 to import/);
  assert.doesNotMatch(r.out, /do not match/);

  r = await p.run("rebuilt", { containerName: name, importContainer: name }, "up", "--yes", "--json");
  assert.equal(r.code, 0, r.out);
  assert.ok(events(r.out).some((e) => e.type === "step-done" && e.op === "import" && e.dryRun === false), r.out);
  // The lost stack is still on record as the owner: the takeover says whose it was.
  assert.ok(events(r.out).some((e) => e.type === "diagnostic" && e.severity === "warning" && /^container \S+-orphan belonged to resource hostform:Container::app of stack ownedtest\/dev and now belongs to resource hostform:Container::app of stack ownedtest\/rebuilt/.test(String(e.message))), r.out);
  const stored = p.resources("rebuilt").find((x) => x.type.endsWith(":Container"));
  assert.equal(stored?.id, name);
  assert.equal(stored?.outputs.pid, pid);
  assert.equal(await livePid(name), pid, "imported, not restarted");
  assert.deepEqual(containerOwner(readState(name)!), { stack: "ownedtest/rebuilt", resource: "hostform:Container::app" });
  // Once in the state the option changes nothing: the next run is unchanged.
  r = await p.run("rebuilt", { containerName: name, importContainer: name }, "up", "--yes", "--json");
  assert.equal(r.code, 0, r.out);
  assert.ok(events(r.out).some((e) => e.type === "step-done" && e.op === "same" && String(e.urn).endsWith("::app")), r.out);

  r = await p.run("rebuilt", { containerName: name }, "destroy", "--yes");
  assert.equal(r.code, 0, r.out);
  assert.equal(readState(name), undefined);
  assert.equal(driver.exists(name), false);
});

test("import of a container made outside any stack through hostform's runtime API: a differing declaration fails naming the inputs and changes nothing; the matching one adopts it", { skip: needsRoot, timeout: DEPLOYMENT_TIMEOUT_MS }, async () => {
  const name = `${prefix}-oci`;
  containers.add(name);
  // The spec a Container with this declaration would have, made as hostform-runtime used to
  // (hostform-runtime containers now belong to their OCI caller, not to the supervisor).
  const bundle = join(dir, "bundle");
  mkdirSync(bundle, { recursive: true });
  const spec = buildSpec({ rootfs, command: ["/bin/sh", "-c", LOOP] });
  await client.create(name, spec, { bundle, seccomp: "none" });
  await client.start(name);
  const pid = await livePid(name);
  assert.ok(pid > 0);
  assert.equal(containerOwner(readState(name)!), undefined, "the runtime API records no owner");

  const p = project("oci");
  // Without import, create refuses it: hostform did not make it.
  let r = await p.run("dev", { containerName: name }, "up", "--yes");
  assert.notEqual(r.code, 0, r.out);
  assert.match(r.out, new RegExp(`container ${name} already exists and was not made by hostform.*import resource option \\(\\{ import: "${name}" \\}\\)`));

  // hostform-runtime's stop timeout is 10 s (the fixture declares 5 unless told).
  const matching = { containerName: name, importContainer: name, stopTimeout: "10", copyOnWrite: "false" };
  const differing = { ...matching, script: "sleep 1000" };
  r = await p.run("dev", differing, "preview");
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /= +import +\S+ app \[diff: ~command\]/);
  assert.match(r.out, /warning: app: inputs to import do not match the existing resource: command; importing this resource will fail/);
  r = await p.run("dev", differing, "up", "--yes");
  assert.notEqual(r.code, 0, r.out);
  assert.match(r.out, /inputs to import do not match the existing resource: command; declare them as the live object has them/);
  assert.equal(p.resources("dev").filter((x) => x.type.endsWith(":Container")).length, 0, "a failed import leaves the state without it");
  assert.equal(await livePid(name), pid);
  assert.equal(containerOwner(readState(name)!), undefined, "a failed import takes nothing over");

  r = await p.run("dev", matching, "up", "--yes");
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /= +imported +\S+ app/);
  assert.equal(p.resources("dev").find((x) => x.type.endsWith(":Container"))?.id, name);
  assert.equal(await livePid(name), pid);
  assert.deepEqual(containerOwner(readState(name)!), { stack: "ownedtest/dev", resource: "hostform:Container::app" });
  assert.deepEqual(driver.owner(name), { stack: "ownedtest/dev", resource: "hostform:Container::app" }, "and its cgroup");

  r = await p.run("dev", { containerName: name }, "destroy", "--yes");
  assert.equal(r.code, 0, r.out);
  assert.equal(readState(name), undefined);
});

test("import of an id that does not exist fails naming the id; nothing is made", { skip: needsRoot, timeout: DEPLOYMENT_TIMEOUT_MS }, async () => {
  const name = `${prefix}-nothing`;
  containers.add(name);
  const p = project("nothing");
  const r = await p.run("dev", { containerName: name, importContainer: name }, "up", "--yes");
  assert.notEqual(r.code, 0, r.out);
  assert.match(r.out, new RegExp(`Container to import ${name} does not exist`));
  assert.equal(readState(name), undefined);
  assert.equal(p.resources("dev").filter((x) => x.type.endsWith(":Container")).length, 0);
});
