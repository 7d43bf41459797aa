// specgen: a declaration becomes the OCI spec the runtime runs, and every problem names the
// declaration's field (not the spec's), without touching anything.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { asConfigError, generateSpec } from "../../src/runtime/specgen/generate";
import type { ContainerConfig } from "../../src/runtime/specgen/config";
import { DEFAULT_PATH } from "../../src/runtime/programSearch";
import { ValidationError } from "../../src/sys/errors";
import { appletList, buildBusyboxRootfs, findBusybox } from "../../providers/rootfs/busybox";
import { testPrefix } from "../../fixtures/prefix";

const dir = mkdtempSync(join(tmpdir(), `${testPrefix("specgen")}-`));
const rootfs = join(dir, "rootfs");
const busybox = findBusybox(undefined);
buildBusyboxRootfs(rootfs, busybox, appletList(busybox, ["sh", "sleep"]));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const base = (extra: Partial<ContainerConfig> = {}): ContainerConfig => ({ rootfs, command: ["/bin/sh", "-c"], args: ["sleep 1"], ...extra });

test("Docker's defaults plus what is declared", () => {
  const spec = generateSpec(
    base({
      env: { GREETING: "hi" },
      cwd: "/tmp",
      user: "nobody",
      hostname: "web",
      capabilities: { drop: ["ALL"], add: ["net_bind_service"] },
      rlimits: { nofile: 1024, nproc: { soft: 10, hard: 20 } },
      mounts: [{ destination: "/dev/shm", type: "tmpfs", options: ["size=1m"] }, { destination: "/data", source: dir, readonly: true }],
      readonlyRootfs: true,
    }),
  );
  assert.deepEqual(spec.process.args, ["/bin/sh", "-c", "sleep 1"]);
  assert.deepEqual(spec.process.env, [`PATH=${DEFAULT_PATH}`, "GREETING=hi"]);
  assert.equal(spec.process.cwd, "/tmp");
  assert.deepEqual(spec.process.user, { uid: 65534, gid: 65534, additionalGids: [] });
  assert.equal(spec.hostname, "web");
  assert.deepEqual(spec.process.capabilities, { bounding: ["CAP_NET_BIND_SERVICE"], effective: ["CAP_NET_BIND_SERVICE"], permitted: ["CAP_NET_BIND_SERVICE"] });
  assert.deepEqual(spec.process.rlimits, [{ type: "RLIMIT_NOFILE", soft: 1024, hard: 1024 }, { type: "RLIMIT_NPROC", soft: 10, hard: 20 }]);
  assert.equal(spec.root.readonly, true);
  assert.equal(spec.process.noNewPrivileges, true);
  const shm = spec.mounts?.filter((m) => m.destination === "/dev/shm") ?? [];
  assert.deepEqual(shm, [{ destination: "/dev/shm", type: "tmpfs", source: "tmpfs", options: ["size=1m"] }], "the declared /dev/shm replaces the default one");
  assert.deepEqual(spec.mounts?.at(-1), { destination: "/data", type: "bind", source: dir, options: ["rbind", "ro"] });
});

test("joined namespaces get their pin paths; a joined uts takes the hostname away", () => {
  const spec = generateSpec(base({ namespace: { name: "pod", paths: { net: "/run/hostform/ns/pod/net", uts: "/run/hostform/ns/pod/uts" } } }));
  assert.equal(spec.linux?.namespaces?.find((n) => n.type === "network")?.path, "/run/hostform/ns/pod/net");
  assert.equal(spec.linux?.namespaces?.find((n) => n.type === "uts")?.path, "/run/hostform/ns/pod/uts");
  assert.equal(spec.linux?.namespaces?.find((n) => n.type === "pid")?.path, undefined);
  assert.equal(spec.hostname, undefined);
});

test("every problem names the declaration's field", () => {
  const cases: Array<[Partial<ContainerConfig>, string]> = [
    [{ rootfs: "relative" }, "rootfs"],
    [{ rootfs: join(dir, "absent") }, "rootfs"],
    [{ command: [] }, "command"],
    [{ command: ["/bin/absent"] }, "command"],
    [{ args: [1 as never] }, "args"],
    [{ env: { "1X": "v" } }, "env.1X"],
    [{ cwd: "tmp" }, "cwd"],
    [{ user: "ghost" }, "user"],
    [{ hostname: "h".repeat(65) }, "hostname"],
    [{ hostname: "h", namespace: { name: "pod", paths: { uts: "/run/x/uts" } } }, "hostname"],
    [{ capabilities: { add: ["CAP_FLY"] } }, "capabilities.add[0]"],
    [{ capabilities: { drop: "ALL" as never } }, "capabilities.drop"],
    [{ rlimits: { wings: 1 } }, "rlimits.wings"],
    [{ mounts: [{ destination: "rel", type: "tmpfs" }] }, "mounts[0].destination"],
    [{ mounts: [{ destination: "/x", type: "tmpfs" }, { destination: "/y", type: "nfs" }] }, "mounts[1].type"],
    [{ mounts: [{ destination: "/x", source: join(dir, "absent") }] }, "mounts[0].source"],
  ];
  for (const [extra, field] of cases) {
    assert.throws(() => generateSpec(base(extra)), (e: unknown) => e instanceof ValidationError && e.field === field, `${JSON.stringify(extra)} names ${field}`);
  }
});

test("without host checks, a rootfs and names the host would resolve are not looked at", () => {
  const spec = generateSpec(base({ rootfs: "/nonexistent/rootfs", user: "ghost", command: ["/bin/absent"] }), { checkHost: false });
  assert.equal(spec.root.path, "/nonexistent/rootfs");
  assert.deepEqual(spec.process.user, { uid: 0, gid: 0 });
});

test("asConfigError names the declaration's field for a spec field error, keeping the spec field in the message", () => {
  const e = asConfigError(new ValidationError("process.args[0]", "'x' was not found", "install it"));
  assert.ok(e instanceof ValidationError);
  assert.equal(e.field, "command");
  assert.match(e.message, /^command: 'x' was not found \[spec field process\.args\[0\]\]/);
  const env = asConfigError(new ValidationError("process.env[0]", "'SECRET' is not KEY=VALUE"));
  assert.ok(env instanceof ValidationError && env.field === "env" && !env.message.includes("SECRET"));
  const other = new ValidationError("linux.sysctl.x", "no");
  assert.equal(asConfigError(other), other);
});
