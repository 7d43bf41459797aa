// Namespace sets with a user namespace (issue 16): nsspawn makes the user namespace first and the
// set's other namespaces after it, so they are owned by it; the holder is the mapped root; a set
// whose user namespace is no longer the one it was made with says so; delete leaves nothing.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import { ValidationError } from "../../src/sys/errors";
import { createNamespaces, deleteNamespaces, inspectNamespaces, readProcStat } from "../../src/ns";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { useTestRunDir } from "../../fixtures/nsRunDir";

// Far above any account's ids, different for each run of this file.
const BASE = 2_200_000_000 + (process.pid % 4096) * 65536;
const mappings = { uid: [{ containerID: 0, hostID: BASE, size: 65536 }], gid: [{ containerID: 0, hostID: BASE, size: 65536 }] };

let cleanup: (() => Promise<void>) | undefined;
before(() => {
  if (needsRoot === false) cleanup = useTestRunDir();
});
after(async () => {
  await cleanup?.();
});

function mountLines(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(dir));
}

test("a set with a user namespace: the holder is its mapped root, and the set's other namespaces belong to it", { skip: needsRoot }, async () => {
  const name = testPrefix("nsuser");
  const info = await createNamespaces(name, ["user", "net", "uts", "ipc", "pid"], undefined, { idMappings: mappings });
  try {
    assert.equal(info.intact, true, info.problems.join("; "));
    assert.deepEqual(info.types, ["net", "uts", "ipc", "pid", "user"]);
    assert.deepEqual(info.idMappings, mappings);
    const holder = info.holder!;
    assert.match(readFileSync(`/proc/${holder.pid}/status`, "utf8"), new RegExp(`^Uid:\\s+${BASE}\\s+${BASE}\\s`, "m"));
    assert.equal(info.inodes.user, statSync(`/proc/${holder.pid}/ns/user`).ino);
    assert.notEqual(info.inodes.user, statSync("/proc/self/ns/user").ino);
    // Root of the set's user namespace may rename its uts namespace: the set's namespaces are the user namespace's.
    const inside = (script: string): string => execFileSync("nsenter", [`--user=${info.paths.user!}`, `--uts=${info.paths.uts!}`, `--net=${info.paths.net!}`, "sh", "-c", script], { encoding: "utf8" });
    assert.equal(inside("hostname renamed-inside && hostname; cat /proc/self/uid_map").split("\n").map((l) => l.trim().split(/\s+/).join(" ")).slice(0, 2).join("|"), `renamed-inside|0 ${BASE} 65536`);
    // lo is up, as in every network namespace hostform makes.
    assert.match(inside("cat /sys/class/net/lo/operstate 2>/dev/null || ip -o link show lo"), /unknown|UP/i);
  } finally {
    await deleteNamespaces(name);
  }
  assert.equal(existsSync(info.dir), false);
  assert.deepEqual(mountLines(info.dir), []);
  const holder = info.holder!;
  for (let i = 0; i < 200; i++) {
    const s = readProcStat(holder.pid);
    if (s === undefined || s.startTime !== holder.startTime || s.state === "Z") break;
    await delay(10);
  }
  const s = readProcStat(holder.pid);
  assert.ok(s === undefined || s.startTime !== holder.startTime || s.state === "Z", "the holder is gone");
});

test("a user namespace pin replaced by hand is reported: not the holder's, not the mapping it was made with", { skip: needsRoot }, async () => {
  const name = testPrefix("nsuserdrift");
  const info = await createNamespaces(name, ["user", "uts"], undefined, { idMappings: mappings });
  const other = await createNamespaces(`${name}-other`, ["user", "uts"], undefined, { idMappings: { uid: [{ containerID: 0, hostID: BASE + 65536, size: 65536 }], gid: [{ containerID: 0, hostID: BASE + 65536, size: 65536 }] } });
  try {
    assert.equal(spawnSync("mount", ["--bind", other.paths.user!, info.paths.user!]).status, 0);
    const live = inspectNamespaces(name)!;
    assert.equal(live.intact, false);
    assert.ok(live.problems.some((p) => /user pin now holds inode/.test(p)), live.problems.join("; "));
    assert.ok(live.problems.some((p) => /not in the pinned user namespace/.test(p)), live.problems.join("; "));
  } finally {
    await deleteNamespaces(name);
    await deleteNamespaces(`${name}-other`);
  }
  assert.deepEqual(mountLines(info.dir), []);
});

test("a user namespace needs mappings, mappings need a user namespace, and a mount namespace is refused beside one", { skip: needsRoot }, async () => {
  const name = testPrefix("nsuserbad");
  const field = (f: string) => (e: unknown) => e instanceof ValidationError && e.field === f;
  await assert.rejects(createNamespaces(name, ["user", "net"]), field("userns"));
  await assert.rejects(createNamespaces(name, ["net"], undefined, { idMappings: mappings }), field("userns"));
  await assert.rejects(createNamespaces(name, ["user", "mnt"], undefined, { idMappings: mappings }), field("types"));
  assert.equal(inspectNamespaces(name), undefined, "nothing was made");
});
