// podman (Debian's 4.3, with conmon) driving the OCI runtime: the 13 scenarios of issue 15 that runc
// passes, each run under runc and under hostform-runtime with the same assertions. podman, its store,
// conmon and the runtimes' state are private to this file (fixtures/ociClients/podman.ts).
// Every scenario but one uses `--network none`. The default-network one uses podman's default network,
// which the fixture makes the test's own (fixtures/ociClients/podmanNetwork.ts): a CNI bridge with a
// unique name and a /24 of 10.251.0.0/16 instead of CNI's `podman` (cni-podman0, 10.88.0.0/16). Its
// outbound NAT is checked by its iptables rule; the only packets are the host's to the container's
// address, inside the namespace the test made (the project's network rule).
import { after, before } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { get } from "node:http";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { missingPrograms, runCommand, type CommandResult } from "../../fixtures/ociClients/command";
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

scenario("podman run -d on the default network (the test's own bridge): an address and a default route via the gateway, NAT for it on the host until rm", async (p, rt, names) => {
  const net = p.network;
  const n = names.container("net");
  // No --network: podman's default network, which this test's containers.conf names.
  let r = await p.call(rt, ["run", "-d", "--name", n, "--cgroup-parent", p.cgroupParent, p.image, "sh", "-c",
    `mkdir /www && echo "hello from ${n}" > /www/index.html && exec busybox httpd -f -p 8080 -h /www`]);
  assert.equal(r.code, 0, explain(r, rt));
  const id = r.out.trim();
  r = await p.call(rt, ["inspect", n, "--format", `{{.NetworkSettings.SandboxKey}} {{(index .NetworkSettings.Networks "${net.name}").IPAddress}}`]);
  assert.equal(r.code, 0, explain(r, rt));
  const [sandbox = "", ip = ""] = r.out.trim().split(" ");
  net.sandboxes.add(sandbox);
  assert.ok(ip.startsWith(net.addressPrefix), `container address ${ip} is not in ${net.subnet}\n${explain(r, rt)}`);

  // Inside: eth0 holds that address in the /24, the default route goes via the bridge, lo is up.
  r = await p.call(rt, ["exec", n, "busybox", "ip", "-4", "-o", "addr", "show", "dev", "eth0"]);
  assert.match(r.out, new RegExp(`\\binet ${ip.replace(/\./g, "\\.")}/24 `), explain(r, rt));
  r = await p.call(rt, ["exec", n, "busybox", "ip", "-4", "route", "show", "default"]);
  assert.equal(r.out.trim(), `default via ${net.gateway} dev eth0`, explain(r, rt));
  r = await p.call(rt, ["exec", n, "busybox", "ip", "-o", "link", "show", "dev", "lo"]);
  assert.match(r.out, /^1: lo: <LOOPBACK,UP,LOWER_UP>/, explain(r, rt));

  // On the host: the bridge with the gateway address, and the masquerade rule for this container
  // (checked by the rule, nothing is sent out).
  const bridge = await runCommand("ip", ["-4", "-o", "addr", "show", "dev", net.bridge]);
  assert.match(bridge.out, new RegExp(`\\binet ${net.gateway.replace(/\./g, "\\.")}/24 `), bridge.err);
  const nat = (await runCommand("iptables", ["-w", "-t", "nat", "-S"])).out.split("\n");
  const jump = nat.find((l) => l.startsWith(`-A POSTROUTING -s ${ip}/32 `) && l.includes(id));
  assert.ok(jump !== undefined, `no POSTROUTING rule for ${ip} (container ${id}):\n${nat.join("\n")}`);
  const chain = /-j (CNI-[0-9a-f]+)$/.exec(jump)?.[1];
  assert.ok(chain !== undefined, jump);
  assert.ok(nat.some((l) => l.startsWith(`-A ${chain} ! -d 224.0.0.0/4 `) && l.endsWith("-j MASQUERADE")), `${chain} does not masquerade:\n${nat.join("\n")}`);

  // The container's address is in a namespace this test made: the host reaches its server over the bridge.
  const page = await httpGet(ip, 8080, 10_000);
  assert.equal(page, `hello from ${n}\n`);

  r = await p.call(rt, ["rm", "-f", "-t", "0", n]);
  assert.equal(r.code, 0, explain(r, rt));
  const after = (await runCommand("iptables", ["-w", "-t", "nat", "-S"])).out;
  const left = after.split("\n").filter((l) => l.includes(id) || l.includes(`${ip}/32`) || l === `-N ${chain}`);
  assert.deepEqual(left, [], `NAT for ${ip} left after rm`);
  assert.ok(!existsSync(sandbox), `${sandbox} left after rm`);
  assert.ok(!existsSync(join(net.leaseDir, net.name, ip)), `lease of ${ip} left after rm`);
});

/** The body of http://ip:port/, retried until the server listens (it starts as the container does). */
async function httpGet(ip: string, port: number, ms: number): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await new Promise<string>((resolve, reject) => {
        const req = get({ host: ip, port, path: "/", timeout: 2_000 }, (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => (body += c));
          res.on("end", () => resolve(body));
          res.on("error", reject);
        });
        req.on("timeout", () => req.destroy(new Error(`GET http://${ip}:${port}/ timed out`)));
        req.on("error", reject);
      });
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`GET http://${ip}:${port}/ failed for ${ms} ms`, { cause: err });
      await delay(200);
    }
  }
}
