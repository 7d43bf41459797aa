import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { ValidationError } from "../../src/sys/errors";
import { nsDir } from "../../src/sys/paths";
import {
  createNamespaces,
  deleteNamespaces,
  inspectNamespaces,
  killHolder,
  listNamespaces,
  NAMESPACE_TYPES,
  type NamespaceSetInfo,
  type NamespaceType,
  readProcStat,
} from "../../src/ns";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { useTestRunDir } from "../../fixtures/nsRunDir";

const NSENTER_FLAG: Record<NamespaceType, string> = { net: "net", uts: "uts", ipc: "ipc", mnt: "mount", pid: "pid", cgroup: "cgroup", user: "user" };
/** The types a set can have without a user namespace (which needs mappings: userNamespaceSet.test.ts). */
const HOST_OWNED_TYPES = NAMESPACE_TYPES.filter((t) => t !== "user");

let cleanup: (() => Promise<void>) | undefined;
before(() => {
  if (needsRoot === false) cleanup = useTestRunDir();
});
after(async () => {
  await cleanup?.();
});

/** Runs a shell command inside the set's namespaces with util-linux nsenter. */
function inside(info: NamespaceSetInfo, types: readonly NamespaceType[], script: string): string {
  const flags = types.map((t) => `--${NSENTER_FLAG[t]}=${info.paths[t]!}`);
  return execFileSync("nsenter", [...flags, "/bin/sh", "-c", script], { encoding: "utf8" });
}

function nsLinkInode(link: string): number {
  return Number(/\[(\d+)\]/.exec(link)![1]);
}

function mountLines(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(dir));
}

/** Waits until the holder is gone: no such pid, a different process under it, or a zombie left to its new parent. */
async function holderGone(pid: number, startTime: number): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    const s = readProcStat(pid);
    if (s === undefined || s.startTime !== startTime || s.state === "Z") return true;
    await delay(10);
  }
  return false;
}

test("each type alone is pinned, differs from the host's and can be entered", { skip: needsRoot }, async (t) => {
  for (const type of HOST_OWNED_TYPES) {
    await t.test(type, async () => {
      const name = testPrefix(`ns-${type}`);
      try {
        const info = await createNamespaces(name, [type]);
        assert.equal(info.intact, true, info.problems.join("; "));
        assert.deepEqual(info.types, [type]);
        assert.equal(info.paths[type], join(nsDir(), name, type));
        const ino = info.inodes[type]!;
        assert.equal(statSync(info.paths[type]!).ino, ino);
        assert.notEqual(ino, statSync(`/proc/self/ns/${type}`).ino, "must differ from the host's namespace");
        // A process entered through the pin is in exactly that namespace.
        assert.equal(nsLinkInode(inside(info, [type], `readlink /proc/self/ns/${type}`)), ino);
        if (type === "pid") {
          assert.ok(info.holder !== undefined && info.holder.alive);
          assert.equal(statSync(`/proc/${info.holder.pid}/ns/pid`).ino, ino);
          // The holder is PID 1 there, so the first process nsenter forks is PID 2 or later.
          assert.ok(Number(inside(info, ["pid"], "echo $$").trim()) >= 2);
        } else {
          assert.equal(info.holder, undefined, "only a set with pid keeps a process");
        }
      } finally {
        await deleteNamespaces(name);
      }
    });
  }
});

test("all types together: one holder in all of them, own hostname, only loopback", { skip: needsRoot }, async () => {
  const name = testPrefix("ns-all");
  const hostBefore = hostname();
  try {
    const info = await createNamespaces(name, ["cgroup", "pid", "mnt", "ipc", "uts", "net"]);
    assert.equal(info.intact, true, info.problems.join("; "));
    assert.deepEqual(info.types, [...HOST_OWNED_TYPES]);
    const holder = info.holder!;
    assert.equal(holder.alive, true);
    for (const type of HOST_OWNED_TYPES) {
      assert.equal(info.inodes[type], statSync(`/proc/${holder.pid}/ns/${type}`).ino, `${type} pin is the holder's namespace`);
      assert.notEqual(info.inodes[type], statSync(`/proc/self/ns/${type}`).ino, `${type} differs from the host's`);
    }
    const all = [...HOST_OWNED_TYPES];
    inside(info, all, `hostname ${name.slice(0, 60)}`);
    assert.equal(inside(info, ["uts"], "hostname").trim(), name.slice(0, 60), "a later process sees the set's hostname");
    assert.equal(hostname(), hostBefore, "the host's hostname is untouched");
    const links = inside(info, all, "ip -o link show").trim().split("\n");
    assert.deepEqual(links.map((l) => l.split(": ")[1]), ["lo"]);
    // The set's mount namespace holds no copy of the ns dir and its pins.
    assert.equal(inside(info, ["mnt"], `grep -c ' ${nsDir()} ' /proc/self/mountinfo || true`).trim(), "0");
  } finally {
    await deleteNamespaces(name);
  }
});

test("a set outlives the process that created it", { skip: needsRoot }, async () => {
  const name = testPrefix("ns-survive");
  try {
    const script = join(__dirname, "createFromChild.js");
    // fd 3 is a pipe the creator inherits without close-on-exec: were the holder to inherit it
    // too, spawnSync would wait for its EOF until the timeout.
    const r = spawnSync(process.execPath, [script, name, "net", "uts", "pid"], {
      encoding: "utf8",
      timeout: 20_000,
      stdio: ["ignore", "pipe", "pipe", "pipe"],
    });
    assert.equal(r.error, undefined);
    assert.equal(r.status, 0, r.stderr);
    const made = JSON.parse(r.stdout) as NamespaceSetInfo;
    assert.equal(readProcStat(r.pid!), undefined, "creator has exited");
    const now = inspectNamespaces(name)!;
    assert.equal(now.intact, true, now.problems.join("; "));
    assert.deepEqual(now.inodes, made.inodes);
    assert.equal(now.holder!.pid, made.holder!.pid);
    assert.equal(now.holder!.alive, true);
    assert.notEqual(readProcStat(now.holder!.pid)!.ppid, r.pid, "holder was re-parented");
    assert.deepEqual(readdirSync(`/proc/${now.holder!.pid}/fd`).sort(), ["0", "1", "2"], "holder keeps no descriptor of its creator");
    assert.equal(nsLinkInode(inside(now, ["net"], "readlink /proc/self/ns/net")), made.inodes.net);
  } finally {
    await deleteNamespaces(name);
  }
});

test("create adopts an intact set; other types are refused naming types", { skip: needsRoot }, async () => {
  const name = testPrefix("ns-adopt");
  try {
    const first = await createNamespaces(name, ["net", "pid"]);
    const second = await createNamespaces(name, ["pid", "net"]);
    assert.deepEqual(second.inodes, first.inodes);
    assert.deepEqual(second.holder, first.holder);
    assert.equal(second.createdAt, first.createdAt);
    await assert.rejects(createNamespaces(name, ["net", "uts"]), (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.equal(err.field, "types");
      assert.match(err.message, /already exists with types net, pid, not net, uts/);
      return true;
    });
    assert.deepEqual(inspectNamespaces(name)!.inodes, first.inodes, "the refused call changed nothing");
    assert.deepEqual(listNamespaces().filter((s) => s.name === name).map((s) => s.intact), [true]);
  } finally {
    await deleteNamespaces(name);
  }
});

test("a broken set is reported and recreated; a half-made directory is cleaned", { skip: needsRoot }, async () => {
  const name = testPrefix("ns-broken");
  const half = testPrefix("ns-half");
  try {
    const first = await createNamespaces(name, ["pid", "ipc"]);
    await killHolder(first.holder!);
    const broken = inspectNamespaces(name)!;
    assert.equal(broken.intact, false);
    assert.equal(broken.holder!.alive, false);
    assert.match(broken.problems.join("; "), /holder process \d+ is gone/);
    const again = await createNamespaces(name, ["pid", "ipc"]);
    assert.equal(again.intact, true, again.problems.join("; "));
    // nsfs inode numbers are recycled once a namespace is freed: the holder tells the sets apart.
    assert.notDeepEqual(again.holder, first.holder);
    assert.equal(again.holder!.alive, true);

    // What a creator killed mid-way may leave: a directory, a stray file, no metadata.
    mkdirSync(join(nsDir(), half));
    writeFileSync(join(nsDir(), half, "net"), "");
    assert.equal(inspectNamespaces(half)!.intact, false);
    const made = await createNamespaces(half, ["net"]);
    assert.equal(made.intact, true, made.problems.join("; "));
  } finally {
    await deleteNamespaces(name);
    await deleteNamespaces(half);
  }
});

test("delete leaves no mount, file, directory or holder; deleting again succeeds", { skip: needsRoot }, async () => {
  const name = testPrefix("ns-delete");
  const info = await createNamespaces(name, [...HOST_OWNED_TYPES]);
  const holder = info.holder!;
  try {
    assert.ok(mountLines(info.dir).length >= HOST_OWNED_TYPES.length);
  } finally {
    await deleteNamespaces(name);
  }
  assert.deepEqual(mountLines(info.dir), []);
  assert.equal(existsSync(info.dir), false);
  assert.equal(await holderGone(holder.pid, holder.startTime), true, "holder must be gone");
  assert.equal(inspectNamespaces(name), undefined);
  await deleteNamespaces(name);
  assert.equal(existsSync(info.dir), false);
});

test("bad input is refused before anything is made", { skip: needsRoot }, async () => {
  const name = testPrefix("ns-bad");
  await assert.rejects(createNamespaces(name, ["net", "nett"]), (err: unknown) => err instanceof ValidationError && err.field === "types[1]");
  await assert.rejects(createNamespaces(name, ["uts", "uts"]), (err: unknown) => err instanceof ValidationError && err.field === "types[1]");
  await assert.rejects(createNamespaces("../etc", ["net"]), (err: unknown) => err instanceof ValidationError && err.field === "name");
  await assert.rejects(deleteNamespaces("a/b"), (err: unknown) => err instanceof ValidationError && err.field === "name");
  assert.throws(() => inspectNamespaces(""), (err: unknown) => err instanceof ValidationError && err.field === "name");
  assert.equal(existsSync(join(nsDir(), name)), false);
});
