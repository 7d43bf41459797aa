// podman (Debian's 4.3, with conmon) driving the OCI runtime: the 13 scenarios of issue 15 that runc
// passes, each run under runc and under hostform-runtime with the same assertions. podman, its store,
// conmon and the runtimes' state are private to this file (fixtures/ociClients/podman.ts).
// Not here: podman's default network. It is CNI's `podman` bridge on the host with NAT rules and a
// 10.88.0.0/16 address, which puts the container's traffic on the host's bridge and netfilter,
// outside any namespace this test makes (the project's network rule allows only 127.0.0.1 and
// namespaces the test created); `--network none` is what every scenario uses instead.
import { after, before } from "node:test";
import assert from "node:assert/strict";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { missingPrograms, type CommandResult } from "../../fixtures/ociClients/command";
import { startPodman, type Podman } from "../../fixtures/ociClients/podman";
import type { RuntimeName } from "../../fixtures/ociClients/runtimeLauncher";
import { eachRuntime } from "./runtimeMatrix";

const skipReason = (): string | false => needsRoot || missingPrograms(["podman", "conmon", "runc", "busybox"]);
let podman: Podman | undefined;
let setupError: unknown;

before(async () => {
  if (skipReason() !== false) return;
  try {
    podman = await startPodman(testPrefix("podman"));
  } catch (err) {
    setupError = err;
  }
});

after(async () => {
  await podman?.cleanup();
});

/** The fixture, or the reason it is missing as this scenario's failure. */
function fixture(): Podman {
  if (podman === undefined) throw new Error("podman fixture was not set up", { cause: setupError });
  return podman;
}

/** What to print when an assertion on r fails: the client's output and the runtime's argv. */
function explain(r: CommandResult, runtime: RuntimeName): string {
  const argv = fixture().launcher(runtime).argvLines().slice(-6).join("\n  ");
  return `rc ${r.code}\nstdout: ${r.out}\nstderr: ${r.err}\nlast runtime calls:\n  ${argv}`;
}

/**
 * Runs one scenario: podman must really have called this runtime (a `create` in its argv log, so a
 * fallback to the default runtime cannot pass), and whatever the scenario made is removed after it.
 */
function scenario(name: string, body: (p: Podman, runtime: RuntimeName, names: Names) => Promise<void>): void {
  eachRuntime(name, { skip: skipReason, timeoutMs: 45_000 }, async (runtime) => {
    const p = fixture();
    const calls = p.launcher(runtime).argvLines().length;
    const names = new Names(runtime);
    try {
      await body(p, runtime, names);
      const created = p.launcher(runtime).argvLines().slice(calls).filter((l) => l.startsWith("create "));
      assert.ok(created.length > 0, `podman did not call ${runtime} create`);
    } finally {
      await names.remove(p, runtime);
    }
  });
}

/** Container and pod names of one subtest, removed after it. */
class Names {
  private readonly containers: string[] = [];
  private readonly pods: string[] = [];
  private static seq = 0;
  constructor(private readonly runtime: RuntimeName) {}
  container(what: string): string {
    const n = `${what}-${this.runtime}-${Names.seq++}`;
    this.containers.push(n);
    return n;
  }
  pod(what: string): string {
    const n = `${what}-${this.runtime}-${Names.seq++}`;
    this.pods.push(n);
    return n;
  }
  async remove(p: Podman, runtime: RuntimeName): Promise<void> {
    // Failures here are the file's cleanup's business (it removes everything and reports leftovers).
    if (this.pods.length > 0) await p.call(runtime, ["pod", "rm", "-f", "-t", "0", ...this.pods]);
    if (this.containers.length > 0) await p.call(runtime, ["rm", "-f", "-t", "0", "--ignore", ...this.containers]);
  }
}

/** The first line of a cgroup file, under v1 (per-controller mounts) or v2 (one mount). */
const cgroupFile = (v1: string, v2: string): string[] => ["sh", "-c", `cat /sys/fs/cgroup/${v1} 2>/dev/null || cat /sys/fs/cgroup/${v2}`];

scenario("podman run in the foreground: the program's output and exit status reach the caller", async (p, rt) => {
  const r = await p.call(rt, ["run", "--rm", ...p.isolation, p.image, "sh", "-c", "echo hello; exit 3"]);
  assert.equal(r.code, 3, explain(r, rt));
  assert.equal(r.out, "hello\n", explain(r, rt));
});

scenario("podman run --memory 64m: the container's memory limit is 64 MiB", async (p, rt) => {
  const r = await p.call(rt, ["run", "--rm", ...p.isolation, "--memory", "64m", p.image, ...cgroupFile("memory/memory.limit_in_bytes", "memory.max")]);
  assert.equal(r.code, 0, explain(r, rt));
  assert.equal(r.out.trim(), "67108864", explain(r, rt));
});

scenario("podman run --pids-limit 50: the container's pids limit is 50", async (p, rt) => {
  const r = await p.call(rt, ["run", "--rm", ...p.isolation, "--pids-limit", "50", p.image, ...cgroupFile("pids/pids.max", "pids.max")]);
  assert.equal(r.code, 0, explain(r, rt));
  assert.equal(r.out.trim(), "50", explain(r, rt));
});

scenario("podman run -d, ps, stop, rm: Up, then Exited (137) (sleep as PID 1 ignores TERM), then gone", async (p, rt, names) => {
  const n = names.container("d");
  let r = await p.call(rt, ["run", "-d", "--name", n, ...p.isolation, p.image, "sleep", "1000"]);
  assert.equal(r.code, 0, explain(r, rt));
  assert.match(r.out.trim(), /^[0-9a-f]{64}$/);
  const status = async (): Promise<string> => (await p.call(rt, ["ps", "-a", "--filter", `name=^${n}$`, "--format", "{{.Status}}"])).out.trim();
  assert.match(await status(), /^Up /);
  r = await p.call(rt, ["stop", "-t", "1", n]);
  assert.equal(r.code, 0, explain(r, rt));
  assert.match(await status(), /^Exited \(137\) /);
  r = await p.call(rt, ["rm", n]);
  assert.equal(r.code, 0, explain(r, rt));
  assert.equal(await status(), "");
});

scenario("podman exec, and exec -t: the exec'd program's status, and a terminal of the container's own", async (p, rt, names) => {
  const n = names.container("x");
  let r = await p.call(rt, ["run", "-d", "--name", n, ...p.isolation, p.image, "sleep", "1000"]);
  assert.equal(r.code, 0, explain(r, rt));
  r = await p.call(rt, ["exec", n, "sh", "-c", "echo in-exec; exit 4"]);
  assert.equal(r.code, 4, explain(r, rt));
  assert.equal(r.out, "in-exec\n", explain(r, rt));
  r = await p.call(rt, ["exec", "-t", n, "busybox", "tty"]);
  assert.equal(r.code, 0, explain(r, rt));
  assert.equal(r.out, "/dev/pts/0\r\n", explain(r, rt));
});

scenario("podman run -t: the program's stdio is a terminal of the container's own", async (p, rt) => {
  const r = await p.call(rt, ["run", "--rm", "-t", ...p.isolation, p.image, "busybox", "tty"]);
  assert.equal(r.code, 0, explain(r, rt));
  assert.equal(r.out, "/dev/pts/0\r\n", explain(r, rt));
});

scenario("podman logs: stdout and stderr of a container that exited, kept apart", async (p, rt, names) => {
  const n = names.container("l");
  let r = await p.call(rt, ["run", "--name", n, ...p.isolation, p.image, "sh", "-c", "echo out; echo err >&2"]);
  assert.equal(r.code, 0, explain(r, rt));
  r = await p.call(rt, ["logs", n]);
  assert.equal(r.code, 0, explain(r, rt));
  assert.deepEqual({ out: r.out, err: r.err }, { out: "out\n", err: "err\n" }, explain(r, rt));
  r = await p.call(rt, ["ps", "-a", "--filter", `name=^${n}$`, "--format", "{{.Status}}"]);
  assert.match(r.out, /^Exited \(0\) /, explain(r, rt));
});

scenario("podman run --network none: a network namespace with only lo, and lo up", async (p, rt) => {
  const r = await p.call(rt, ["run", "--rm", ...p.isolation, p.image, "busybox", "ip", "-o", "link"]);
  assert.equal(r.code, 0, explain(r, rt));
  const links = r.out.trim().split("\n");
  assert.equal(links.length, 1, explain(r, rt));
  assert.match(links[0]!, /^1: lo: <LOOPBACK,UP,LOWER_UP>/, explain(r, rt));
});

scenario("podman run --read-only: the root refuses writes, the tmpfs /tmp takes them", async (p, rt) => {
  const r = await p.call(rt, ["run", "--rm", ...p.isolation, "--read-only", p.image, "sh", "-c", "touch /x 2>&1; touch /tmp/y && echo tmp-ok"]);
  assert.equal(r.code, 0, explain(r, rt));
  assert.equal(r.out, "touch: /x: Read-only file system\ntmp-ok\n", explain(r, rt));
});

scenario("podman run --user 1000: the program runs as uid 1000, gid 0", async (p, rt) => {
  const r = await p.call(rt, ["run", "--rm", ...p.isolation, "--user", "1000", p.image, "id"]);
  assert.equal(r.code, 0, explain(r, rt));
  assert.match(r.out, /^uid=1000(\(\S+\))? gid=0(\(\S+\))?/, explain(r, rt));
});

scenario("podman run --cap-drop ALL: no effective capability", async (p, rt) => {
  const r = await p.call(rt, ["run", "--rm", ...p.isolation, "--cap-drop", "ALL", p.image, "grep", "CapEff", "/proc/self/status"]);
  assert.equal(r.code, 0, explain(r, rt));
  assert.equal(r.out, "CapEff:\t0000000000000000\n", explain(r, rt));
});

scenario("podman pod of two containers: they share the infra container's uts namespace, not its pid namespace", async (p, rt, names) => {
  const pod = names.pod("pod");
  let r = await p.call(rt, ["pod", "create", "--name", pod, "--network", "none", "--cgroup-parent", p.cgroupParent, "--infra-image", p.infraImage]);
  assert.equal(r.code, 0, explain(r, rt));
  const member = names.container("m");
  r = await p.call(rt, ["run", "-d", "--pod", pod, "--name", member, p.image, "sleep", "1000"]);
  assert.equal(r.code, 0, explain(r, rt));
  r = await p.call(rt, ["run", "--rm", "--pod", pod, p.image, "sh", "-c", "hostname; echo $$"]);
  assert.equal(r.code, 0, explain(r, rt));
  assert.equal(r.out, `${pod}\n1\n`, explain(r, rt));
  r = await p.call(rt, ["exec", member, "hostname"]);
  assert.equal(r.out, `${pod}\n`, explain(r, rt));
  r = await p.call(rt, ["pod", "ps", "--filter", `name=^${pod}$`, "--format", "{{.Status}} {{.NumberOfContainers}}"]);
  assert.equal(r.out.trim(), "Running 2", explain(r, rt));
});
