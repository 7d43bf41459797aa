// Re-creating a set right after deleting it, from another process, as the providers do (the
// deleting and the creating process differ: a test, a provider host, a supervisor). Regression
// for "pin net namespace of <name> at <path>: mount <path>: ENOENT": the pins were bind-mounted
// from /proc/<pid>/task/<tid>/ns/*, which vanished when a preload ended the unshare worker early.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readlinkSync, statfsSync, statSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { deleteNamespaces, inspectNamespaces, type NamespaceSetInfo, type NamespaceType } from "../../src/ns";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { useTestRunDir } from "../../fixtures/nsRunDir";

const TYPES: NamespaceType[] = ["net", "uts", "ipc"];
const NSFS_MAGIC = 0x6e736673;

let cleanup: (() => Promise<void>) | undefined;
before(() => {
  if (needsRoot === false) cleanup = useTestRunDir();
});
after(async () => {
  await cleanup?.();
});

/** Deletes and re-creates the set `rounds` times in a fresh Node process whose workers end early. */
function recreateInChild(name: string, rounds: number): NamespaceSetInfo[] {
  const r = spawnSync(process.execPath, [join(__dirname, "recreateFromChild.js"), name, String(rounds), ...TYPES], {
    encoding: "utf8",
    // Generous: a Node start and its unshare workers take seconds each under emulation (test/vm).
    timeout: 120_000,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NODE_OPTIONS: `--require ${join(__dirname, "endWorkersEarly.js")}` },
  });
  assert.equal(r.error, undefined);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as NamespaceSetInfo[];
}

/** Checks a create's report; with live, also that its pins are on disk now (the latest set only). */
function assertPinned(info: NamespaceSetInfo, live = true): void {
  assert.equal(info.intact, true, info.problems.join("; "));
  assert.deepEqual(info.types, TYPES);
  for (const type of TYPES) {
    assert.ok(Number.isInteger(info.inodes[type]), `${type} pinned`);
    if (!live) continue;
    const path = info.paths[type]!;
    assert.equal(statfsSync(path).type, NSFS_MAGIC, `${path} is an nsfs pin`);
    assert.equal(statSync(path).ino, info.inodes[type]);
  }
}

function liveInode(pid: number, type: NamespaceType): number {
  return Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/${type}`))![1]);
}

test("delete in this process, re-create in another whose unshare workers exit right after reporting", { skip: needsRoot }, async () => {
  const name = testPrefix("ns-recreate");
  try {
    for (let round = 0; round < 4; round++) {
      const [made] = recreateInChild(name, 1);
      assertPinned(made!);
      const seen = inspectNamespaces(name)!;
      assertPinned(seen);
      assert.deepEqual(seen.inodes, made!.inodes);
      await deleteNamespaces(name);
      assert.equal(inspectNamespaces(name), undefined);
    }
  } finally {
    await deleteNamespaces(name);
  }
});

test("delete and re-create in a loop within one process whose unshare workers exit right after reporting", { skip: needsRoot }, async () => {
  const name = testPrefix("ns-reloop");
  try {
    const made = recreateInChild(name, 8);
    assert.equal(made.length, 8);
    // Each round deleted the previous set: only the last one's pins are still there.
    for (const info of made) assertPinned(info, false);
    assertPinned(inspectNamespaces(name)!);
  } finally {
    await deleteNamespaces(name);
  }
});

test("a process still inside a deleted set keeps its namespaces; the re-created set gets fresh ones", { skip: needsRoot }, async () => {
  const name = testPrefix("ns-inside");
  const oldHost = `hf-old-${randomBytes(4).toString("hex")}`;
  let pid: number | undefined;
  try {
    const [old] = recreateInChild(name, 1);
    assertPinned(old!);
    // Like a pod's container: its own mount namespace (holding copies of the pins) and the set's others.
    const p = old!.paths;
    const child = spawn("unshare", ["--mount", "--propagation", "private", "nsenter", `--net=${p.net!}`, `--uts=${p.uts!}`, `--ipc=${p.ipc!}`, "--",
      "/bin/sh", "-c", `hostname ${oldHost} && echo ready && exec sleep 600`], { stdio: ["ignore", "pipe", "inherit"], detached: true });
    pid = child.pid;
    const first = await new Promise<string>((resolve) => {
      createInterface({ input: child.stdout! }).once("line", resolve);
      child.once("exit", () => resolve("exited"));
    });
    assert.equal(first, "ready");
    for (const type of TYPES) assert.equal(liveInode(pid!, type), old!.inodes[type]);

    await deleteNamespaces(name);
    assert.equal(inspectNamespaces(name), undefined);
    for (const type of TYPES) assert.equal(liveInode(pid!, type), old!.inodes[type], `${type}: the process keeps its namespace`);

    const [fresh] = recreateInChild(name, 1);
    assertPinned(fresh!);
    assert.notEqual(fresh!.createdAt, old!.createdAt);
    // Inode numbers are unique among live namespaces only (a freed one is reused): compare against
    // the namespaces the process still holds, which are alive.
    for (const type of TYPES) assert.notEqual(fresh!.inodes[type], liveInode(pid!, type), `${type} is a new namespace`);
    const inFresh = execFileSync("nsenter", [`--uts=${fresh!.paths.uts!}`, "hostname"], { encoding: "utf8" }).trim();
    assert.notEqual(inFresh, oldHost, "the new UTS namespace is not the old one");
    const inOld = execFileSync("nsenter", ["-t", String(pid), "--uts", "hostname"], { encoding: "utf8" }).trim();
    assert.equal(inOld, oldHost);
  } finally {
    if (pid !== undefined) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    await deleteNamespaces(name);
  }
});
