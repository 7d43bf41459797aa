// The iptables chains every CNI user shares: portmap's CNI-HOSTPORT-* (with jumps from PREROUTING,
// OUTPUT and POSTROUTING) and firewall's CNI-FORWARD and CNI-ADMIN (with a jump from FORWARD). The
// plugins make them on the first ADD and never remove them. When the last hostform network goes and
// nothing is left in them but the plugins' own scaffolding, they are removed, so that a host hostform
// is gone from has no rule of it. Any other rule in them (another CNI user's container, an admin's
// override in CNI-ADMIN) keeps them all; the next ADD of anyone makes them again.
import { withHostNetLock } from "./cniChain";
import { runNetCommand, type NetnsOptions } from "./netnsCommand";

/** One table's rules as iptables-save prints them: "-A CHAIN ..." lines, by chain. */
function rulesByChain(save: string, table: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let inTable = false;
  for (const line of save.split("\n")) {
    if (line.startsWith("*")) inTable = line === `*${table}`;
    else if (inTable && line.startsWith(":")) out.set(line.slice(1).split(" ")[0]!, out.get(line.slice(1).split(" ")[0]!) ?? []);
    else if (inTable && line.startsWith("-A ")) {
      const chain = line.split(" ")[1]!;
      out.set(chain, [...(out.get(chain) ?? []), line]);
    }
  }
  return out;
}

/** The scaffolding of one table: its chains, each with the only rules it may hold, and the jumps into them. */
interface Scaffold {
  table: string;
  chains: Record<string, RegExp[]>;
  jumps: RegExp;
}

const SCAFFOLDS: Scaffold[] = [
  {
    table: "nat",
    chains: {
      "CNI-HOSTPORT-DNAT": [],
      "CNI-HOSTPORT-SETMARK": [/-j MARK --set-xmark 0x2000\/0x2000$/],
      "CNI-HOSTPORT-MASQ": [/--mark 0x2000\/0x2000 -j MASQUERADE$/],
    },
    jumps: /^-A (PREROUTING|OUTPUT|POSTROUTING) .*-j CNI-HOSTPORT-(DNAT|MASQ)$/,
  },
  {
    table: "filter",
    chains: { "CNI-FORWARD": [/-j CNI-ADMIN$/], "CNI-ADMIN": [] },
    jumps: /^-A FORWARD .*-j CNI-FORWARD$/,
  },
];

/** The iptables arguments that delete a rule iptables-save printed as "-A CHAIN ...". */
function deleteArgs(table: string, rule: string): string[] {
  // iptables-save quotes comments with "..."; split on spaces outside quotes, dropping the quotes.
  const words = rule.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
  return ["iptables", "-w", "-t", table, "-D", ...words.slice(1).map((w) => (w.startsWith('"') ? w.slice(1, -1).replace(/\\"/g, '"') : w))];
}

/**
 * Removes the shared CNI chains of each table where they hold nothing but their scaffolding.
 * Returns the tables it cleaned.
 */
export function removeIdleCniChains(options: NetnsOptions = {}): Promise<string[]> {
  return withHostNetLock("remove the idle CNI chains", () => removeIdle(options));
}

async function removeIdle(options: NetnsOptions): Promise<string[]> {
  const save = await runNetCommand(["iptables-save"], options);
  const cleaned: string[] = [];
  for (const s of SCAFFOLDS) {
    const rules = rulesByChain(save, s.table);
    const present = Object.keys(s.chains).filter((c) => rules.has(c));
    if (present.length === 0) continue;
    const idle = present.every((c) => (rules.get(c) ?? []).every((r) => s.chains[c]!.some((allowed) => allowed.test(r))));
    if (!idle) continue;
    for (const [chain, list] of rules) {
      if (s.chains[chain] !== undefined) continue;
      for (const r of list) if (s.jumps.test(r)) await runNetCommand(deleteArgs(s.table, r), options);
    }
    for (const c of present) await runNetCommand(["iptables", "-w", "-t", s.table, "-F", c], options);
    for (const c of present) await runNetCommand(["iptables", "-w", "-t", s.table, "-X", c], options);
    cleaned.push(s.table);
  }
  return cleaned;
}
