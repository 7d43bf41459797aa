// bench/network: what a Network adds to a container's create+start and delete, beside what the CNI
// plugin chain costs on its own (ADD and DEL of one container by hand: bridge + host-local, portmap,
// firewall), with and without one published port. Issue 13's target: hostform adds at most 1.2x what
// the chain itself costs.
//
// The whole bench runs in a network namespace of its own (it re-executes itself under
// `unshare --net`), so the chain by hand and hostform's containers run under the same conditions
// (plugins run directly, no nsenter) and no bridge, rule or packet reaches the machine's network.
//   node dist/bench/network/run.js [runs=10]
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { useTestRunDir } from "../../fixtures/nsRunDir";
import { testPrefix } from "../../fixtures/prefix";
import { createNamespaces } from "../../src/ns";
import { bridgeConfList } from "../../src/net/bridgeConfList";
import { addNetwork, delNetwork } from "../../src/net/cniChain";
import { NO_CNI_PLUGINS } from "../../fixtures/cniNetns";
import { RuntimeClient } from "../../src/runtime/client";
import { runDir } from "../../src/sys/paths";
import { appletList, buildBusyboxRootfs, findBusybox } from "../../providers/rootfs/busybox";
import { provider as containers, type ContainerInputs } from "../../providers/impl/v1/container";
import { provider as networks, type NetworkInputs } from "../../providers/impl/v1/network";

const INSIDE = "HOSTFORM_BENCH_NETNS";

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
}

const median = (xs: number[]): number => quantile(xs, 0.5);

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const PORT = { hostPort: 18099, containerPort: 80, protocol: "tcp" as const, hostIp: "127.0.0.1" };

async function chainAlone(prefix: string, runs: number, list: ReturnType<typeof bridgeConfList>): Promise<Record<string, { add: number; del: number }>> {
  const box = await createNamespaces(`${prefix}-box`, ["net"]);
  const out: Record<string, { add: number; del: number }> = {};
  for (const [name, ports] of [["no port", []], ["1 port", [PORT]]] as const) {
    const add: number[] = [];
    const del: number[] = [];
    for (let i = 0; i < runs; i++) {
      const at = { containerId: `${prefix}-chain-${i}`, netns: box.paths.net!, ifname: "eth0", ...(ports.length > 0 ? { runtimeConfig: { portMappings: [{ hostPort: PORT.hostPort, containerPort: PORT.containerPort, protocol: PORT.protocol, hostIP: PORT.hostIp }] } } : {}) };
      let t = process.hrtime.bigint();
      await addNetwork(list, at);
      add.push(ms(t));
      t = process.hrtime.bigint();
      await delNetwork(list, at);
      del.push(ms(t));
    }
    out[name] = { add: median(add), del: median(del) };
  }
  return out;
}

async function hostformContainers(prefix: string, runs: number, rootfs: string, confList: string, networkName: string): Promise<Record<string, { create: number; del: number }>> {
  const out: Record<string, { create: number; del: number }> = {};
  const cases: [string, Partial<ContainerInputs>][] = [
    ["no network", {}],
    ["network, no port", { networkAttachments: [{ network: networkName, confList }] }],
    ["network, 1 port", { networkAttachments: [{ network: networkName, confList }], ports: [PORT] }],
  ];
  for (const [name, extra] of cases) {
    const create: number[] = [];
    const del: number[] = [];
    // One unmeasured round first: the supervisor's start and the first plugin runs are not what is compared.
    for (let i = -1; i < runs; i++) {
      const checked = await containers.check!({} as ContainerInputs, { resourceName: "b", name: `${prefix}-${name.replace(/[^a-z0-9]+/g, "-")}-${i + 1}`, rootfs, command: ["/bin/sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait; done"], stopTimeout: 2, ...extra });
      if ((checked.failures ?? []).length > 0) throw new Error(JSON.stringify(checked.failures));
      let t = process.hrtime.bigint();
      const made = await containers.create(checked.inputs!);
      const c = ms(t);
      t = process.hrtime.bigint();
      await containers.delete!(made.id, made.outs!);
      const d = ms(t);
      if (i >= 0) {
        create.push(c);
        del.push(d);
      }
    }
    out[name] = { create: median(create), del: median(del) };
  }
  return out;
}

async function inside(): Promise<void> {
  const runs = Number(process.argv[2] ?? 10);
  const prefix = testPrefix("bench-net");
  const cleanRunDir = useTestRunDir();
  const work = join(tmpdir(), prefix);
  const rootfs = join(work, "rootfs");
  mkdirSync(work, { recursive: true });
  let networkName: string | undefined;
  try {
    const busybox = findBusybox(undefined);
    buildBusyboxRootfs(rootfs, busybox, appletList(busybox, ["sh", "sleep"]));
    const list = bridgeConfList({ name: `${prefix}-chain`, bridge: "hf-benchc", subnet: "10.250.98.0/24" });
    const chain = await chainAlone(prefix, runs, list);
    const net = await networks.check!({} as NetworkInputs, { resourceName: "n", name: `${prefix}-net`, bridge: "hf-benchn", subnet: "10.250.99.0/24" });
    const made = await networks.create(net.inputs!);
    networkName = made.id;
    const hf = await hostformContainers(prefix, runs, rootfs, made.outs!.confList, made.id);

    console.log(`container create+start and delete, ${runs} runs each, in a network namespace of the bench's own (median ms)`);
    for (const [name, v] of Object.entries(hf)) console.log(`  hostform ${name.padEnd(17)} create ${v.create.toFixed(1).padStart(7)}  delete ${v.del.toFixed(1).padStart(7)}`);
    for (const [name, v] of Object.entries(chain)) console.log(`  CNI chain by hand, ${name.padEnd(8)} ADD    ${v.add.toFixed(1).padStart(7)}  DEL    ${v.del.toFixed(1).padStart(7)}`);
    const base = hf["no network"]!;
    for (const [name, key] of [["no port", "network, no port"], ["1 port", "network, 1 port"]] as const) {
      const addedCreate = hf[key]!.create - base.create;
      const addedDelete = hf[key]!.del - base.del;
      console.log(
        `  ${name.padEnd(8)} hostform adds ${addedCreate.toFixed(1)} ms to create (${(addedCreate / chain[name]!.add).toFixed(2)}x the chain's ADD) ` +
          `and ${addedDelete.toFixed(1)} ms to delete (${(addedDelete / chain[name]!.del).toFixed(2)}x its DEL); target <= 1.2x`,
      );
    }
  } finally {
    if (networkName !== undefined) await networks.delete!(networkName, undefined as never).catch((e: unknown) => console.error(String(e)));
    await new RuntimeClient({ runDir: runDir() }).shutdownSupervisor().catch(() => undefined);
    await cleanRunDir();
    rmSync(work, { recursive: true, force: true });
  }
}

function main(): void {
  if (NO_CNI_PLUGINS !== false) {
    console.log(`bench/network: skipped, ${NO_CNI_PLUGINS}`);
    return;
  }
  if (process.env[INSIDE] === "1") {
    inside().catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
    return;
  }
  // lo up first: the published port is 127.0.0.1's.
  const r = spawnSync("unshare", ["--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", process.execPath, __filename, ...process.argv.slice(2)], { stdio: "inherit", env: { ...process.env, [INSIDE]: "1" } });
  process.exitCode = r.status ?? 1;
}

main();
