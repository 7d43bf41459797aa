// bench/network: what the CNI plugin chain of a hostform bridge network costs on its own, ADD and
// DEL of one container by hand (bridge + host-local, portmap, firewall), with and without one
// published port. It is the reference a container start with a Network is measured against (issue
// 13: hostform may add at most 1.2x what the chain costs). Everything runs inside two network
// namespaces made here, a "host" one where the plugins run and a container one, so no rule, bridge
// or packet reaches the machine's own network.
//   node dist/bench/network/run.js [runs=20]
import { useTestRunDir } from "../../fixtures/nsRunDir";
import { testPrefix } from "../../fixtures/prefix";
import { createNamespaces } from "../../src/ns";
import { bridgeConfList } from "../../src/net/bridgeConfList";
import { addNetwork, delNetwork } from "../../src/net/cniChain";
import { pluginDirs } from "../../src/net/cniPlugins";

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
}

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 20);
  const prefix = testPrefix("bench-net");
  if (pluginDirs().length === 0) {
    console.log("bench/network: skipped, no CNI plugins (apt-get install containernetworking-plugins)");
    return;
  }
  // Pins, leases and cached results go under a run dir of the bench's own, removed with its sets.
  const cleanRunDir = useTestRunDir();
  try {
    const host = await createNamespaces(`${prefix}-host`, ["net"]);
    const box = await createNamespaces(`${prefix}-box`, ["net"]);
    const list = bridgeConfList({ name: `${prefix}-net`, bridge: "hf-bench0", subnet: "10.250.99.0/24" });
    const options = { hostNetns: host.paths.net! };
    const cases = [
      { name: "no port", runtimeConfig: undefined },
      { name: "1 published port", runtimeConfig: { portMappings: [{ hostPort: 18099, containerPort: 80, protocol: "tcp" as const, hostIP: "127.0.0.1" }] } },
    ];
    console.log(`CNI chain (bridge + host-local, portmap, firewall) by hand, ${runs} runs each, plugins under nsenter (ms)`);
    for (const c of cases) {
      const add: number[] = [];
      const del: number[] = [];
      for (let i = 0; i < runs; i++) {
        const at = { containerId: `${prefix}-${i}`, netns: box.paths.net!, ifname: "eth0", ...(c.runtimeConfig !== undefined ? { runtimeConfig: c.runtimeConfig } : {}) };
        let t = process.hrtime.bigint();
        await addNetwork(list, at, options);
        add.push(ms(t));
        t = process.hrtime.bigint();
        await delNetwork(list, at, options);
        del.push(ms(t));
      }
      const both = add.map((a, i) => a + del[i]!);
      const line = (what: string, xs: number[]) => `  ${c.name.padEnd(18)} ${what.padEnd(9)} median ${quantile(xs, 0.5).toFixed(1).padStart(6)}  p90 ${quantile(xs, 0.9).toFixed(1).padStart(6)}`;
      console.log(line("ADD", add));
      console.log(line("DEL", del));
      console.log(line("ADD+DEL", both));
    }
  } finally {
    await cleanRunDir();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
