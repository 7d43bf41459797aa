// The member registry on disk: records under a private run dir, name files kept current as members
// come and go, rewritten in place (file bind mounts pin the inode), and the cross-process lock.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { useTestRunDir } from "../../fixtures/nsRunDir";
import { needsRoot } from "../../fixtures/prefix";
import { listMembers, memberFiles, membersDir, membersLockPath, putMember, refreshMember, removeMember, type HostResolvConf, type NetworkMember } from "../../src/net/members";
import { CorruptFileError, NotFoundError, ValidationError } from "../../src/sys/errors";
import { runDir } from "../../src/sys/paths";

const cleanRunDir = useTestRunDir();
after(() => cleanRunDir());

/** A host resolv.conf of the test's own, so no member's files depend on this machine's. */
function hostResolv(name: string, text: string, resolved?: string): HostResolvConf {
  const dir = join(runDir(), "host");
  mkdirSync(dir, { recursive: true });
  const host = { path: join(dir, `${name}.conf`), systemdResolved: join(dir, `${name}.resolved.conf`) };
  writeFileSync(host.path, text);
  if (resolved !== undefined) writeFileSync(host.systemdResolved, resolved);
  return host;
}

let n = 0;
/** A member with a key of its own test, on the given networks (name → last octet in 10.250.44-45). */
function member(name: string, networks: Record<string, number>, extra: Partial<NetworkMember> = {}): NetworkMember {
  const subnets: Record<string, string> = { front: "10.250.44", back: "10.250.45" };
  return {
    key: `m${++n}-${name}`,
    hostname: `${name}-host`,
    names: [name],
    networks: Object.entries(networks).map(([network, host]) => ({ network, ip: `${subnets[network]}.${host}` })),
    dns: ["10.250.44.1"],
    ...extra,
  };
}

function hostsOf(m: NetworkMember): string {
  return readFileSync(memberFiles(m.key).hosts, "utf8");
}

function removeAll(...ms: NetworkMember[]): void {
  for (const m of ms) removeMember(m.key);
}

test("members on one network see each other, a member on another does not; its three files are written", () => {
  const web = member("web", { front: 2 });
  const api = member("api", { front: 3 }, { names: ["api", "api-v1"] });
  const db = member("db", { back: 2 });
  try {
    const files = putMember(web);
    putMember(api);
    putMember(db);
    assert.deepEqual(files, memberFiles(web.key));
    assert.equal(files.dir, join(membersDir(), web.key));
    assert.match(hostsOf(web), /\n10\.250\.44\.2\tweb-host web\n10\.250\.44\.3\tapi api-v1\n$/);
    assert.match(hostsOf(api), /\n10\.250\.44\.3\tapi-host api api-v1\n10\.250\.44\.2\tweb\n$/);
    assert.doesNotMatch(hostsOf(web), /\bdb\b/);
    assert.doesNotMatch(hostsOf(db), /\bweb\b|\bapi\b/);
    assert.equal(readFileSync(files.hostname, "utf8"), "web-host\n");
    assert.equal(readFileSync(files.resolvConf, "utf8"), "nameserver 10.250.44.1\n");
    assert.deepEqual(listMembers("front").map((m) => m.key).sort(), [api.key, web.key].sort());
    assert.deepEqual(listMembers("back"), [db]);
  } finally {
    removeAll(web, api, db);
  }
});

test("a member on two networks and its aliases: each network's peers see it by that network's address and aliases", () => {
  const web = member("web", { front: 2 });
  const db = member("db", { back: 2 });
  const both = member("both", { front: 9, back: 9 });
  both.networks[0]!.aliases = ["www"];
  both.networks[1]!.aliases = ["cache"];
  try {
    putMember(web);
    putMember(db);
    putMember(both);
    assert.match(hostsOf(web), /\n10\.250\.44\.9\tboth www\n$/);
    assert.match(hostsOf(db), /\n10\.250\.45\.9\tboth cache\n$/);
    assert.match(hostsOf(both), /\n10\.250\.45\.2\tdb\n10\.250\.44\.2\tweb\n$/);
  } finally {
    removeAll(web, db, both);
  }
});

test("removal takes a member out of its peers' hosts files and is idempotent; moving to another network too", () => {
  const web = member("web", { front: 2 });
  const api = member("api", { front: 3 });
  const db = member("db", { back: 2 });
  try {
    putMember(web);
    putMember(api);
    putMember(db);
    removeMember(api.key);
    assert.doesNotMatch(hostsOf(web), /\bapi\b/);
    assert.equal(existsSync(memberFiles(api.key).dir), false);
    assert.deepEqual(listMembers("front"), [web]);
    removeMember(api.key);
    // web leaves front for back: its old peers no longer list it, its new ones do.
    putMember(api);
    putMember({ ...web, networks: [{ network: "back", ip: "10.250.45.7" }] });
    assert.doesNotMatch(hostsOf(api), /\bweb\b/);
    assert.match(hostsOf(db), /\n10\.250\.45\.7\tweb\n$/);
  } finally {
    removeAll(web, api, db);
  }
});

test("rewrites keep the inode (file bind mounts pin it), and unchanged content is not written", () => {
  const web = member("web", { front: 2 });
  const api = member("api", { front: 3 });
  try {
    const files = putMember(web);
    const before = statSync(files.hosts);
    putMember(api);
    const after = statSync(files.hosts);
    assert.equal(after.ino, before.ino);
    assert.match(readFileSync(files.hosts, "utf8"), /\tapi\n/);
    // A shorter content is cut to length, not left with the old tail.
    removeMember(api.key);
    assert.equal(statSync(files.hosts).ino, before.ino);
    assert.doesNotMatch(readFileSync(files.hosts, "utf8"), /api/);
    // A put that changes nothing leaves every file's mtime alone.
    const past = new Date("2020-01-01T00:00:00Z");
    for (const f of [files.hosts, files.hostname, files.resolvConf]) utimesSync(f, past, past);
    putMember(web);
    refreshMember(web.key);
    for (const f of [files.hosts, files.hostname, files.resolvConf]) assert.equal(statSync(f).mtimeMs, past.getTime(), f);
  } finally {
    removeAll(web, api);
  }
});

test("a bind mount of the hosts file sees the peers that come later", { skip: needsRoot, timeout: 30_000 }, async () => {
  const web = member("web", { front: 2 });
  const api = member("api", { front: 3 });
  const target = join(runDir(), "mounted-hosts");
  let child: ChildProcess | undefined;
  try {
    const files = putMember(web);
    writeFileSync(target, "");
    // A private mount namespace of its own: the bind mount dies with it and the host's mounts are untouched.
    child = spawn("unshare", ["--mount", "--propagation", "private", "sh", "-c", 'mount --bind "$1" "$2" && echo ready && read x && cat "$2"', "sh", files.hosts, target], { stdio: ["pipe", "pipe", "inherit"] });
    let out = "";
    child.stdout!.setEncoding("utf8");
    const c = child;
    const exited = new Promise<number | null>((resolve) => c.on("exit", resolve));
    await new Promise<void>((resolve, reject) => {
      c.stdout!.on("data", (d: string) => {
        out += d;
        if (out.includes("ready\n")) resolve();
      });
      c.on("exit", () => reject(new Error(`unshare exited before the mount was made: ${out}`)));
    });
    putMember(api);
    c.stdin!.end("\n");
    assert.equal(await exited, 0);
    assert.match(out, /\n10\.250\.44\.3\tapi\n/);
  } finally {
    const c = child;
    if (c !== undefined && c.exitCode === null && c.signalCode === null) await new Promise((r) => (c.on("exit", r), c.kill("SIGKILL")));
    removeAll(web, api);
  }
});

test("default dns comes from the host's resolv.conf without loopback servers, through systemd-resolved's stub", () => {
  const plain = member("plain", { front: 2 }, { dns: undefined });
  const stub = member("stub", { front: 3 }, { dns: undefined });
  try {
    const files = putMember(plain, hostResolv("plain", "nameserver 127.0.0.1\nnameserver 10.9.8.7\nsearch example.org\n"));
    assert.equal(readFileSync(files.resolvConf, "utf8"), "nameserver 10.9.8.7\nsearch example.org\n");
    const stubFiles = putMember(stub, hostResolv("stub", "nameserver 127.0.0.53\noptions edns0\n", "nameserver 10.9.8.6\nnameserver 10.9.8.5\n"));
    assert.equal(readFileSync(stubFiles.resolvConf, "utf8"), "nameserver 10.9.8.6\nnameserver 10.9.8.5\n");
    // Nothing usable left: the fallback servers Docker and podman use.
    refreshMember(plain.key, hostResolv("none", "nameserver 127.0.0.53\n"));
    assert.equal(readFileSync(files.resolvConf, "utf8"), "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
  } finally {
    removeAll(plain, stub);
  }
});

test("a member that cannot go into the files is refused naming the field, and nothing is written", () => {
  const bad = member("bad", { front: 2 }, { dns: ["10.250.44.1", "resolver"] });
  assert.throws(() => putMember(bad), (e: Error) => e instanceof ValidationError && e.field === "dns[1]");
  assert.equal(existsSync(join(membersDir(), bad.key)), false);
  assert.throws(() => putMember({ ...bad, dns: undefined, extraHosts: ["x"] }), (e: Error) => e instanceof ValidationError && e.field === "extraHosts[0]");
  assert.throws(() => memberFiles("../x"), (e: Error) => e instanceof ValidationError && e.field === "key");
});

test("refresh repairs a member's files from its record; an unknown member and a corrupt record are named", () => {
  const web = member("web", { front: 2 });
  const api = member("api", { front: 3 });
  try {
    const files = putMember(web);
    putMember(api);
    const ino = statSync(files.hosts).ino;
    writeFileSync(files.hosts, "edited\n");
    writeFileSync(files.hostname, "other\n");
    refreshMember(web.key);
    assert.match(readFileSync(files.hosts, "utf8"), /\tweb-host web\n10\.250\.44\.3\tapi\n$/);
    assert.equal(readFileSync(files.hostname, "utf8"), "web-host\n");
    assert.equal(statSync(files.hosts).ino, ino);
    assert.throws(() => refreshMember("nobody"), NotFoundError);
    writeFileSync(join(memberFiles(api.key).dir, "member.json"), "{");
    assert.throws(() => listMembers(), (e: Error) => e instanceof CorruptFileError && e.path.endsWith(`${api.key}/member.json`));
    // Removing a member whose record is corrupt still works (every member's hosts file is rewritten).
    removeMember(api.key);
    assert.doesNotMatch(readFileSync(files.hosts, "utf8"), /api/);
  } finally {
    removeAll(web, api);
  }
});

test("the lock: a live holder is waited for; a holder killed mid-way holds nothing", async () => {
  const web = member("web", { front: 2 });
  try {
    putMember(web);
    // Another process holds the lock (flock(1), util-linux) and lets go after 600 ms.
    const lock = membersLockPath();
    const holder = spawn("flock", ["-o", lock, "sleep", "0.6"], { stdio: "ignore" });
    await until(() => spawnSync("flock", ["-n", lock, "true"]).status !== 0);
    const t0 = Date.now();
    putMember({ ...web, names: ["web", "www"] });
    assert.ok(Date.now() - t0 >= 300, `put waited ${Date.now() - t0} ms for the holder`);
    assert.match(hostsOf(web), /\tweb-host web www\n/);
    await new Promise((r) => holder.on("exit", r));
    // A holder killed while it holds it (-o: flock itself holds it, not its sleep): the kernel releases the lock with the process.
    // Its own process group, so that its sleep goes with it.
    const killed = spawn("flock", ["-o", lock, "sleep", "60"], { stdio: "ignore", detached: true });
    await until(() => spawnSync("flock", ["-n", lock, "true"]).status !== 0);
    process.kill(-killed.pid!, "SIGKILL");
    await new Promise((r) => killed.on("exit", r));
    const t1 = Date.now();
    putMember(web);
    assert.ok(Date.now() - t1 < 500, `put took ${Date.now() - t1} ms after the holder was killed`);
  } finally {
    removeAll(web);
  }
});

/** Polls until cond holds (5 s at most). */
async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("a second process waits while the first holds the lock, so neither writes from a listing that misses the other", { timeout: 60_000 }, async () => {
  const modulePath = join(__dirname, "..", "..", "src", "net", "members.js");
  // The first writer reads the host's resolv.conf from a FIFO: it stops inside its critical section
  // (after listing the members) until the test writes to it.
  const fifo = join(runDir(), "host", "paused.conf");
  mkdirSync(join(runDir(), "host"), { recursive: true });
  assert.equal(spawnSync("mkfifo", [fifo]).status, 0);
  const script = `const m = require(${JSON.stringify(modulePath)}); const [member, path] = process.argv.slice(1);
    m.putMember(JSON.parse(member), path === "" ? undefined : { path, systemdResolved: path + ".none" });`;
  const children: ChildProcess[] = [];
  const put = (m: NetworkMember, hostPath: string) => {
    const child = spawn(process.execPath, ["-e", script, JSON.stringify(m), hostPath], { stdio: ["ignore", "inherit", "inherit"] });
    children.push(child);
    return new Promise<number | null>((resolve) => child.on("exit", resolve));
  };
  const first = member("first", { front: 2 }, { dns: undefined });
  const second = member("second", { front: 3 });
  try {
    const firstDone = put(first, fifo);
    // Its record is written inside the lock, before the FIFO is read.
    const record = join(memberFiles(first.key).dir, "member.json");
    for (let i = 0; i < 400 && !existsSync(record); i++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(existsSync(record), "the first put did not get to its record");
    let secondExited = false;
    const secondDone = put(second, "").then((code) => ((secondExited = true), code));
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(secondExited, false, "the second put finished while the first held the lock");
    writeFileSync(fifo, "nameserver 10.250.44.1\n");
    assert.deepEqual(await Promise.all([firstDone, secondDone]), [0, 0]);
    assert.match(hostsOf(first), /\n10\.250\.44\.3\tsecond\n$/);
    assert.match(hostsOf(second), /\n10\.250\.44\.2\tfirst\n$/);
  } finally {
    // Reaped before the removal: an unreaped holder would still look alive to the lock.
    const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
    await Promise.all(running.map((c) => new Promise((r) => (c.kill("SIGKILL"), c.on("exit", r)))));
    removeAll(first, second);
  }
});
