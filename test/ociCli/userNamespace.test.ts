// An OCI bundle with a user namespace (linux.uidMappings, gidMappings) under hostform-runtime and
// under runc, the reference, with the same commands (issue 16): the program is root inside and
// the mapped ids outside, exec joins the same user namespace, and the two runtimes agree.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { initUnreachable } from "../../src/runtime/initReach";
import { makeBusyboxBundle } from "../../fixtures/busyboxRootfs";
import { RUNC_SPEC_CONFIG } from "../../fixtures/runcSpec";
import { removeCgroupTrees } from "../../fixtures/ociClients/cgroupTrees";
import { runtimeCommand } from "../helpers/runtimeCli";
import { statusField } from "../helpers/procStatus";

// Root and an install the mapped ids can read (a checkout under a 0700 home is not): else said why.
const userNsSkip = needsRoot || initUnreachable();
const hasRunc = spawnSync("runc", ["--version"]).status === 0;
const prefix = testPrefix("ociuserns");
const HOSTFORM_RUNTIME = join(__dirname, "..", "..", "..", "bin", "hostform-runtime");
// Far above any account's ids, different for each run of this file.
const BASE = 2_100_000_000 + (process.pid % 4096) * 65536;
let bundle = "";
let work = "";
const runtimes: Array<{ name: string; argv: string[] }> = [];
const ids: string[] = [];

before(() => {
  if (needsRoot !== false) return;
  let rootfs: string;
  ({ bundle, rootfs } = makeBusyboxBundle(prefix));
  symlinkSync("busybox", join(rootfs, "bin", "stat"));
  // Root of the container is an unprivileged uid on the host: the bundle must be open to it.
  chmodSync(bundle, 0o755);
  work = join(bundle, "work");
  mkdirSync(work);
  runtimes.push({ name: "hostform", argv: [process.execPath, HOSTFORM_RUNTIME, "--root", join(work, "hostform-root")] });
  if (hasRunc) runtimes.push({ name: "runc", argv: ["runc", "--root", join(work, "runc-root")] });
});

after(() => {
  if (bundle === "") return;
  for (const r of runtimes) for (const id of ids) runtimeCommand(r.argv, work, ["delete", "--force", id]);
  const left = removeCgroupTrees([`/${prefix}`]);
  rmSync(bundle, { recursive: true, force: true });
  assert.deepEqual(left, [], "cgroups left behind");
});

function writeConfig(args: string[]): void {
  const c = JSON.parse(JSON.stringify(RUNC_SPEC_CONFIG)) as { process: Record<string, unknown>; linux: Record<string, unknown> };
  c.process.terminal = false;
  c.process.args = args;
  (c.linux.namespaces as unknown[]).push({ type: "user" });
  c.linux.uidMappings = [{ containerID: 0, hostID: BASE, size: 65536 }];
  c.linux.gidMappings = [{ containerID: 0, hostID: BASE, size: 65536 }];
  c.linux.cgroupsPath = `/${prefix}/${args.length}`;
  writeFileSync(join(bundle, "config.json"), JSON.stringify(c));
}

const lines = (text: string): string[] => text.trim().split("\n").map((l) => l.trim().split(/\s+/).join(" "));

test("a bundle with uidMappings: root inside, the mapped ids outside, exec in the same user namespace; as runc", { skip: userNsSkip, timeout: 300_000 }, () => {
  const got: Record<string, unknown> = {};
  for (const r of runtimes) {
    const seen: Record<string, unknown> = {};
    writeConfig(["sh", "-c", "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; echo pid=$$; grep -E '^Cap(Eff|Bnd)' /proc/self/status; stat -c %u /bin/busybox"]);
    const runId = `${prefix}-run-${r.name}`;
    ids.push(runId);
    const run = runtimeCommand(r.argv, work, ["run", "--bundle", bundle, runId]);
    seen.run = { code: run.code, out: lines(run.out) };
    assert.equal(run.code, 0, `${r.name} run: ${run.err}`);
    runtimeCommand(r.argv, work, ["delete", runId]);

    writeConfig(["sleep", "100"]);
    const id = `${prefix}-life-${r.name}`;
    ids.push(id);
    const created = runtimeCommand(r.argv, work, ["run", "--detach", "--bundle", bundle, id]);
    assert.equal(created.code, 0, `${r.name} run -d: ${created.err}`);
    const state = JSON.parse(runtimeCommand(r.argv, work, ["state", id]).out) as { pid: number; status: string };
    const status = readFileSync(`/proc/${state.pid}/status`, "utf8");
    seen.hostIds = { uid: statusField(status, "Uid"), gid: statusField(status, "Gid") };
    const exec = runtimeCommand(r.argv, work, ["exec", id, "sh", "-c", "id -u; cat /proc/self/uid_map; [ \"$(readlink /proc/1/ns/user)\" = \"$(readlink /proc/self/ns/user)\" ] && echo same-userns"]);
    seen.exec = { code: exec.code, out: lines(exec.out) };
    seen.kill = runtimeCommand(r.argv, work, ["kill", id, "KILL"]).code;
    for (let i = 0; i < 100 && JSON.parse(runtimeCommand(r.argv, work, ["state", id]).out).status !== "stopped"; i++) spawnSync("sleep", ["0.05"]);
    seen.delete = runtimeCommand(r.argv, work, ["delete", id]).code;
    got[r.name] = seen;
  }
  const ids4 = `${BASE}\t${BASE}\t${BASE}\t${BASE}`;
  assert.deepEqual((got.hostform as Record<string, unknown>).hostIds, { uid: ids4, gid: ids4 });
  assert.deepEqual(((got.hostform as Record<string, unknown>).run as { out: string[] }).out.slice(0, 5), ["0", "0", `0 ${BASE} 65536`, `0 ${BASE} 65536`, "pid=1"]);
  if (got.runc !== undefined) assert.deepEqual(got.hostform, got.runc, "the same as runc");
});
