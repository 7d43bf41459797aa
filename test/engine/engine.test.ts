import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { openCgroupDriver } from "../../src/cgroup/driver";
import { RuntimeClient } from "../../src/runtime/client";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { fixtureProgramDir } from "../../fixtures/programs";
import { makeProgram, REPO, run, start, type Program } from "../helpers/engineProgram";

const BUILD = join(__dirname, "..", "..");

/** Processes whose working directory is the program dir (program or provider host left behind). */
function processesIn(dir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/cwd`) === dir) pids.push(Number(name));
    } catch {
      // Exited meanwhile or not ours to read.
    }
  }
  return pids;
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

interface DriftEvent {
  urn: string;
  status: string;
  changes: { key: string; old: unknown; new: unknown }[];
  outputsChanged?: string[];
}

function jsonEvents(out: string): { type: string; [k: string]: unknown }[] {
  return out
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l));
}

describe("engine end to end", { concurrency: 2 }, () => {
  test("up, no-op up, update, replace, drift, repair, destroy", async () => {
    const p = makeProgram();
    try {
      let r = await run(p, "up", "--yes");
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const cp = p.checkpoint();
      assert.equal(cp.version, 3);
      const types = cp.checkpoint.latest.resources!.map((x) => x.type);
      assert.ok(types.includes("pulumi:pulumi:Stack"));
      assert.equal(types.filter((t) => t === "pulumi-nodejs:dynamic/hostform:File").length, 2);
      assert.equal(readFileSync(join(p.live, "a.txt"), "utf8"), "hello");
      assert.equal(readFileSync(join(p.live, "b.txt"), "utf8"), "hello+5");

      // stack ls / export see the new state; stack rm refuses while resources exist.
      r = await run(p, "stack", "ls", "--json");
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const listed = JSON.parse(r.stdout) as { name: string; current: boolean; resourceCount: number }[];
      assert.deepEqual(listed.map((s) => [s.name, s.current, s.resourceCount]), [["dev", true, cp.checkpoint.latest.resources!.length]]);
      r = await run(p, "stack", "export");
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const exported = JSON.parse(r.stdout) as { version: number; deployment: { manifest: { magic: string }; resources: { urn: string }[] } };
      assert.equal(exported.version, 3);
      assert.deepEqual(exported.deployment.resources.map((x) => x.urn), cp.checkpoint.latest.resources!.map((x) => x.urn));
      r = await run(p, "stack", "rm", "--yes");
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /still has 4 resource\(s\)/);
      assert.ok(existsSync(join(p.state, ".pulumi", "stacks", "files", "dev.json")), "refused rm leaves the state");

      r = await run(p, "up", "--expect-no-changes", "--json");
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const summary = jsonEvents(r.stdout).find((e) => e.type === "summary") as unknown as { counts: Record<string, number> };
      assert.deepEqual(summary.counts, { same: 3 });

      // content changes → update of a (and b, whose content follows a's); bName → replace of b.
      p.configure({ content: "bye", bName: "c.txt" });
      r = await run(p, "up", "--json");
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const steps = jsonEvents(r.stdout).filter((e) => e.type === "step-done");
      assert.ok(steps.some((e) => e.op === "update" && String(e.urn).endsWith("::a")));
      assert.ok(steps.some((e) => e.op === "replace" && String(e.urn).endsWith("::b")));
      assert.equal(readFileSync(join(p.live, "a.txt"), "utf8"), "bye");
      assert.ok(existsSync(join(p.live, "c.txt")));
      assert.ok(!existsSync(join(p.live, "b.txt")), "the replaced file is deleted");

      // Out-of-band change: drift reports it (exit 2) and never writes state.
      // b (now c.txt) marked stopped, as a killed container reads.
      const before = readFileSync(join(p.state, ".pulumi", "stacks", "files", "dev.json"), "utf8");
      writeFileSync(join(p.live, "a.txt"), "tampered");
      writeFileSync(join(p.live, "c.txt.stopped"), "");
      r = await run(p, "drift", "--json", "--exit-code");
      assert.equal(r.code, 2, r.stdout + r.stderr);
      const drift = jsonEvents(r.stdout).filter((e) => e.type === "drift") as unknown as DriftEvent[];
      const a = drift.find((e) => e.urn.endsWith("::a"))!;
      assert.equal(a.status, "modified");
      // Only the input-relevant change is drift; the volatile output is reported apart.
      assert.deepEqual(a.changes.map((c) => [c.key, c.new]), [["content", "tampered"]]);
      assert.ok(a.outputsChanged?.includes("seen"), JSON.stringify(a));
      const b = drift.find((e) => e.urn.endsWith("::b"))!;
      assert.equal(b.status, "stopped", JSON.stringify(b));
      assert.ok(b.changes.some((c) => c.key === "status" && c.new === "stopped"), JSON.stringify(b));
      assert.equal(readFileSync(join(p.state, ".pulumi", "stacks", "files", "dev.json"), "utf8"), before);
      // Without --exit-code drift is a report: it still shows the change and exits 0.
      r = await run(p, "drift");
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /modified/);

      r = await run(p, "up", "--refresh");
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(readFileSync(join(p.live, "a.txt"), "utf8"), "bye");
      assert.ok(!existsSync(join(p.live, "c.txt.stopped")), "the stopped file was updated");
      // Outputs that changed on their own (seen, new on every read) are not drift.
      r = await run(p, "drift", "--json", "--exit-code");
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const clean = jsonEvents(r.stdout).filter((e) => e.type === "drift") as unknown as DriftEvent[];
      assert.equal(clean.length, 2);
      for (const e of clean) {
        assert.equal(e.status, "in-sync", JSON.stringify(e));
        assert.deepEqual(e.changes, []);
        assert.ok(e.outputsChanged?.includes("seen"), JSON.stringify(e));
      }

      r = await run(p, "destroy", "--yes");
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(readdirSync(p.live), []);
      assert.deepEqual(p.checkpoint().checkpoint.latest.resources ?? [], []);
      // SIGKILLed process groups take a moment to vanish from /proc on a loaded machine.
      assert.ok(await waitFor(() => processesIn(p.dir).length === 0, 5000), `left behind: ${processesIn(p.dir).join(" ")}`);
      r = await run(p, "stack", "rm", "--yes");
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.ok(!existsSync(join(p.state, ".pulumi", "stacks", "files", "dev.json")), "state removed");
      assert.ok(!existsSync(join(p.dir, "Pulumi.dev.yaml")), "stack config removed");
    } finally {
      p.cleanup();
    }
  });

  test("a syntax error shows the user's file and line and fails without hanging", async () => {
    const p = makeProgram();
    try {
      writeFileSync(join(p.dir, "index.ts"), 'import * as pulumi from "@pulumi/pulumi";\nconst broken = ;\n');
      const r = await run(p, "preview");
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /index\.ts\(2,\d+\)/);
      assert.ok(await waitFor(() => processesIn(p.dir).length === 0, 5000), `left behind: ${processesIn(p.dir).join(" ")}`);
    } finally {
      p.cleanup();
    }
  });

  test("a provider failure is attributed to its resource, exits 1, leaves no process", async () => {
    const p = makeProgram();
    try {
      // a's content is a secret: no --json event and no debug diagnostic may show it.
      const secret = "hunter2-not-for-display";
      p.configure({ fail: "b.txt", secretContent: secret });
      const r = await start(p, ["up", "--json"], { HOSTFORM_LOG: "debug", PULUMI_CONFIG_PASSPHRASE: "engine-test-passphrase" }).done;
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), "a secret was printed");
      const events = jsonEvents(r.stdout);
      const created = events.find((e) => e.type === "step-done" && String(e.urn).endsWith("::a")) as unknown as DriftEvent;
      assert.deepEqual(created.changes.find((c) => c.key === "content")?.new, "[secret]");
      // The SDK's debug log echoes whole registration responses: masked, not dropped. (The echo of
      // a may not arrive when b's failure stops the program first; the unit test covers the text.)
      const echoes = events.filter((e) => e.type === "diagnostic" && String(e.message).startsWith("RegisterResource RPC finished: resource:a["));
      assert.ok(echoes.every((e) => String(e.message).includes("[secret]")), "debug echo of a's response is masked");
      // The state keeps the value in Pulumi's secret wrapper, sealed by the stack's passphrase.
      const stored = p.checkpoint().checkpoint.latest.resources!.find((x) => x.urn.endsWith("::a")) as unknown as { inputs: { content: Record<string, string> } };
      assert.equal(stored.inputs.content["4dabf18193072939515e22adb298388d"], "1b47061264138c4ac30d75fd1eb44270");
      assert.equal(stored.inputs.content.plaintext, undefined);
      assert.match(stored.inputs.content.ciphertext!, /^v1:/);
      assert.ok(!readFileSync(join(p.state, ".pulumi", "stacks", "files", "dev.json"), "utf8").includes(secret), "the secret is in the state");
      assert.equal(readFileSync(join(p.live, "a.txt"), "utf8"), secret);
      const failed = jsonEvents(r.stdout).find((e) => e.type === "step-failed") as unknown as { urn: string; message: string };
      assert.ok(failed.urn.endsWith("::b"), failed.urn);
      assert.match(failed.message, /refusing to create b\.txt/);
      // a succeeded and is recorded; b is not.
      const urns = p.checkpoint().checkpoint.latest.resources!.map((x) => x.urn);
      assert.ok(urns.some((u) => u.endsWith("::a")));
      assert.ok(!urns.some((u) => u.endsWith("::b")));
      assert.equal(p.checkpoint().checkpoint.latest.pending_operations, undefined);
      assert.ok(await waitFor(() => processesIn(p.dir).length === 0, 3000), "no program or provider left");
    } finally {
      p.cleanup();
    }
  });

  test("a concurrent second up fails at once naming the holder", async () => {
    const p = makeProgram();
    try {
      p.configure({ linked: "true" });
      const first = start(p, ["up"]);
      const lock = join(p.state, ".pulumi", "locks", "organization", "files", "dev", "hostform.json");
      assert.ok(await waitFor(() => existsSync(lock), 20_000), "first up takes the lock");
      const second = await run(p, "up");
      assert.equal(second.code, 1);
      assert.match(second.stderr, new RegExp(`locked by 'hostform up' \\(pid ${first.child.pid}`));
      const r = await first.done;
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.ok(!existsSync(lock), "lock released");

      // A delete-before-replace of a (renamed, content "dbr…") takes along n, whose name comes from
      // a, but not b, whose content only changes (an update), as Pulumi decides.
      p.configure({ linked: "true", content: "dbr", aName: "a2.txt" });
      const u = await run(p, "up", "--json");
      assert.equal(u.code, 0, u.stdout + u.stderr);
      const steps = jsonEvents(u.stdout).filter((e) => e.type === "step-done");
      const opOf = (name: string) => steps.filter((e) => String(e.urn).endsWith(`::${name}`) && e.replacedOriginal !== true).map((e) => e.op);
      assert.deepEqual(opOf("a"), ["replace"]);
      assert.ok(steps.some((e) => String(e.urn).endsWith("::a") && e.deleteBeforeReplace === true));
      assert.deepEqual(opOf("b"), ["update"]);
      assert.deepEqual(opOf("n"), ["replace"]);
      assert.deepEqual(readdirSync(p.live).sort(), ["a2.txt", "b.txt", "n-3.txt"]);
      assert.equal(readFileSync(join(p.live, "b.txt"), "utf8"), "dbr+3");
      await run(p, "destroy", "--yes");
    } finally {
      p.cleanup();
    }
  });

  test("an up killed with SIGKILL mid-run is converged by the next up", async () => {
    const p = makeProgram();
    try {
      p.configure({ count: "6" });
      const first = start(p, ["up"]);
      const stateFile = join(p.state, ".pulumi", "stacks", "files", "dev.json");
      const progressed = () => existsSync(stateFile) && (p.checkpoint().checkpoint.latest.resources ?? []).some((x) => x.urn.endsWith("::a"));
      assert.ok(await waitFor(progressed, 30_000), "first up created something");
      first.child.kill("SIGKILL");
      await first.done;
      // The program and provider notice their engine is gone and exit.
      assert.ok(await waitFor(() => processesIn(p.dir).length === 0, 5000), `left behind: ${processesIn(p.dir).join(" ")}`);
      const r = await run(p, "up");
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(readdirSync(p.live).length, 6);
      const cp = p.checkpoint().checkpoint.latest;
      assert.equal(cp.pending_operations, undefined);
      assert.equal(cp.resources!.filter((x) => x.type.includes("File")).length, 6);
      // drift reads the host once: one Read per resource, each resource once.
      const readLog = join(p.dir, "reads.log");
      const dr = await start(p, ["drift", "--exit-code"], { FILES_READ_LOG: readLog }).done;
      assert.equal(dr.code, 0, dr.stdout + dr.stderr);
      const reads = readFileSync(readLog, "utf8").trim().split("\n");
      assert.equal(reads.length, 6, reads.join(" "));
      assert.equal(new Set(reads).size, 6);

      // A stopped file is drift; `up --refresh` keeps what Read returned for the unchanged ones
      // (their `seen` is the refresh's, not the create's) and updates only the stopped one.
      const seenOf = (name: string): number => (p.checkpoint().checkpoint.latest.resources!.find((x) => x.urn.endsWith(`::${name}`)) as unknown as { outputs: { seen: number } }).outputs.seen;
      const seenBefore = seenOf("f2");
      writeFileSync(join(p.live, "f3.txt.stopped"), "");
      const ur = await run(p, "up", "--refresh", "--json");
      assert.equal(ur.code, 0, ur.stdout + ur.stderr);
      const verdicts = (jsonEvents(ur.stdout).filter((e) => e.type === "drift") as unknown as DriftEvent[]).map((e) => [e.urn.split("::").pop(), e.status]);
      assert.deepEqual(new Map(verdicts as [string, string][]), new Map([["a", "in-sync"], ["b", "in-sync"], ["f2", "in-sync"], ["f3", "stopped"], ["f4", "in-sync"], ["f5", "in-sync"]]));
      const ops = jsonEvents(ur.stdout).filter((e) => e.type === "step-done" && e.op !== "refresh" && String(e.urn).includes("File"));
      assert.deepEqual(ops.filter((e) => e.op !== "same").map((e) => [String(e.urn).split("::").pop(), e.op]), [["f3", "update"]]);
      assert.ok(seenOf("f2") > seenBefore, "a same step keeps the refreshed outputs");
      const d = await run(p, "destroy", "--yes");
      assert.equal(d.code, 0, d.stdout + d.stderr);
      assert.deepEqual(readdirSync(p.live), []);
    } finally {
      p.cleanup();
    }
  });

  test("a container restarted by its own policy is in sync, and up --refresh stores its new pid", { skip: needsRoot }, async () => {
    const { p, cli, client, prefix, cleanup } = containersProgram("eng-restart", "always");
    const storedPid = (): number => (p.checkpoint().checkpoint.latest.resources!.find((x) => x.type.endsWith(":Container")) as unknown as { outputs: { pid: number } }).outputs.pid;
    try {
      let r = await cli("up", "--yes");
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const first = storedPid();
      assert.ok(first > 0);
      process.kill(first, "SIGKILL");
      const id = `containers-${prefix}-c0`;
      let restartedState = await client.state(id);
      for (let i = 0; i < 200 && !(restartedState.status === "running" && restartedState.restartCount >= 1 && restartedState.pid !== first); i++) {
        await new Promise((res) => setTimeout(res, 50));
        restartedState = await client.state(id);
      }
      assert.ok(restartedState.restartCount >= 1 && restartedState.pid !== first, `the supervisor restarts the container: ${JSON.stringify(restartedState)}`);
      const restarted = restartedState.pid;
      // up --refresh reads first (drift events as `drift` shows them), then the program runs.
      r = await cli("up", "--yes", "--refresh", "--json");
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const c = (jsonEvents(r.stdout).filter((e) => e.type === "drift") as unknown as DriftEvent[]).find((e) => e.urn.endsWith("::c0"))!;
      assert.equal(c.status, "in-sync", JSON.stringify(c));
      assert.ok(c.outputsChanged?.includes("pid") && c.outputsChanged.includes("restartCount"), JSON.stringify(c));
      const steps = jsonEvents(r.stdout).filter((e) => e.type === "step-done" && e.op !== "refresh" && String(e.urn).includes(":Container"));
      assert.deepEqual(steps.map((e) => e.op), ["same"]);
      assert.equal(storedPid(), restarted, "the same step keeps the pid Read returned");
      r = await cli("destroy", "--yes");
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual((await client.list()).filter((x) => x.id.includes(prefix)), []);
    } finally {
      await cleanup();
    }
  });

  test("a container's cgroup removed in one v1 hierarchy is drift naming it (exit 2), and up repairs it", { skip: needsRoot || v1Mount("memory") === undefined ? "needs root and a v1 memory hierarchy" : false }, async () => {
    const { cli, client, prefix, cleanup } = containersProgram("eng-partial", "no");
    try {
      let r = await cli("up", "--yes");
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const id = `containers-${prefix}-c0`;
      const pid = (await client.state(id)).pid;
      // Out of band, as an admin would: move the container out of its memory cgroup (into hostform's
      // own parent, never a cgroup hostform did not make) and remove that one directory.
      const parent = join(v1Mount("memory")!, "hostform");
      for (const member of readFileSync(join(parent, id, "cgroup.procs"), "utf8").split("\n").filter(Boolean)) writeFileSync(join(parent, "cgroup.procs"), member);
      rmdirSync(join(parent, id));
      r = await cli("drift", "--exit-code", "--json");
      assert.equal(r.code, 2, r.stdout + r.stderr);
      const c = (jsonEvents(r.stdout).filter((e) => e.type === "drift") as unknown as DriftEvent[]).find((e) => e.urn.endsWith("::c0"))!;
      assert.equal(c.status, "modified", JSON.stringify(c));
      const missing = c.changes.find((ch) => ch.key === "missingHierarchies");
      assert.deepEqual(missing?.new, ["memory"], JSON.stringify(c));
      r = await cli("up", "--yes");
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(readFileSync(join(parent, id, "memory.limit_in_bytes"), "utf8").trim(), String(16 * 1024 * 1024), "the limit is back");
      assert.ok(readFileSync(join(parent, id, "cgroup.procs"), "utf8").split("\n").includes(String(pid)), "the same process is back in it");
      r = await cli("drift", "--exit-code");
      assert.equal(r.code, 0, r.stdout + r.stderr);
      r = await cli("destroy", "--yes");
      assert.equal(r.code, 0, r.stdout + r.stderr);
    } finally {
      await cleanup();
    }
  });
});

/** The mount point of the v1 hierarchy holding `controller`, when this host has one. */
function v1Mount(controller: string): string | undefined {
  const line = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .find((l) => l.includes(" - cgroup cgroup ") && (l.split(" ").at(-1) ?? "").split(",").includes(controller));
  return line?.split(" ")[4];
}

/**
 * The containers fixture as a stack of its own (the test prefix), with "hostform" resolving to this
 * build, and its own supervisor, run dir, lib dir and state.
 */
function containersProgram(what: string, restartPolicy: string) {
  const prefix = testPrefix(what);
  const base = join(tmpdir(), prefix);
  const dir = join(base, "p");
  mkdirSync(dir, { recursive: true });
  for (const f of ["Pulumi.yaml", "index.ts"]) copyFileSync(join(fixtureProgramDir("containers"), f), join(dir, f));
  symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "engine-test", devDependencies: { typescript: "*" } }));
  mkdirSync(join(base, "node_modules", "hostform"), { recursive: true });
  writeFileSync(join(base, "node_modules", "hostform", "package.json"), JSON.stringify({ name: "hostform", main: "index.js" }));
  writeFileSync(join(base, "node_modules", "hostform", "index.js"), `module.exports = require(${JSON.stringify(join(BUILD, "providers", "index.js"))});\n`);
  writeFileSync(join(dir, `Pulumi.${prefix}.yaml`), `config:\n  containers:restartPolicy: ${restartPolicy}\n`);
  const runDir = join(base, "run");
  const env = { HOSTFORM_RUN_DIR: runDir, HOSTFORM_LIB_DIR: join(base, "lib"), HOSTFORM_STATE_DIR: join(base, "state"), HOSTFORM_STACK: prefix };
  const p: Program = { dir, live: "", state: env.HOSTFORM_STATE_DIR, configure() {}, checkpoint: () => JSON.parse(readFileSync(join(env.HOSTFORM_STATE_DIR, ".pulumi", "stacks", "containers", `${prefix}.json`), "utf8")), cleanup() {} };
  const cli = (...args: string[]) => start(p, args, env).done;
  const client = new RuntimeClient({ runDir });
  const cleanup = async (): Promise<void> => {
    // A failed test may leave its stack up: destroy it (cgroups included), then sweep what is left.
    await cli("destroy", "--yes").catch(() => undefined);
    for (const x of await client.list().catch(() => [])) if (x.id.includes(prefix)) await client.delete(x.id, { force: true }).catch(() => undefined);
    await client.shutdownSupervisor().catch(() => undefined);
    // The provider makes each container's cgroup (the fixture's one container): a destroy that
    // failed leaves it, empty once the container is gone.
    await openCgroupDriver().delete(`containers-${prefix}-c0`);
    rmSync(base, { recursive: true, force: true });
  };
  return { p, cli, client, prefix, cleanup };
}
