// The ports the CNI portmap plugin publishes for one container, read back from the live nat table,
// so that a rule removed out of band shows as a port that is no longer published.
//
// What portmap (plugins 1.1) makes, and so what is read here:
//   -A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT         (and the same from OUTPUT)
//   -A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \"<net>\" id: \"<id>\""
//        -m multiport --dports 8080,8081 -j CNI-DN-<hash>                   (one per protocol)
//   -A CNI-DN-<hash> [-d 127.0.0.1/32] -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.89.0.2:80
// (plus masquerade-mark rules, which do not decide whether a port is published). A port counts only
// when its whole path is there: both entry jumps, its protocol's jump, and its DNAT rule.
import { withContext } from "../sys/errors";
import { runNetCommand, type NetnsOptions } from "./netnsCommand";
import type { Protocol, PublishedPort } from "./portSpec";

const ENTRY_CHAIN = "CNI-HOSTPORT-DNAT";

/** One `-A` line of iptables-save: its chain and the rest as arguments, quotes undone. */
interface NatRule {
  chain: string;
  args: string[];
}

/** The ports published for containerId on network, as the nat table of the namespace has them now. */
export async function livePortMappings(network: string, containerId: string, options: NetnsOptions = {}): Promise<PublishedPort[]> {
  let text: string;
  try {
    text = await runNetCommand(["iptables-save", "-t", "nat"], options);
  } catch (err) {
    throw withContext(err, `read the published ports of ${containerId} on network ${network}`);
  }
  return portMappingsIn(parseNatRules(text), network, containerId);
}

/** The container's published ports among the rules (see the file's comment for the shapes). */
function portMappingsIn(rules: readonly NatRule[], network: string, containerId: string): PublishedPort[] {
  const entered = ["PREROUTING", "OUTPUT"].every((from) => rules.some((r) => r.chain === from && option(r, "-j") === ENTRY_CHAIN));
  if (!entered) return [];
  const comment = `dnat name: "${network}" id: "${containerId}"`;
  const out: PublishedPort[] = [];
  for (const jump of rules.filter((r) => r.chain === ENTRY_CHAIN && option(r, "--comment") === comment)) {
    const protocol = protocolOf(jump);
    const target = option(jump, "-j");
    const dports = (option(jump, "--dports") ?? option(jump, "--dport"))?.split(",").map(Number);
    if (protocol === undefined || target === undefined || dports === undefined) continue;
    for (const dnat of rules.filter((r) => r.chain === target && option(r, "-j") === "DNAT")) {
      const p = publishedBy(dnat);
      if (p !== undefined && p.protocol === protocol && dports.includes(p.hostPort) && !out.some((q) => same(p, q))) out.push(p);
    }
  }
  return out;
}

function publishedBy(rule: NatRule): PublishedPort | undefined {
  if (rule.args.includes("!")) return undefined;
  const protocol = protocolOf(rule);
  const hostPort = Number(option(rule, "--dport"));
  const to = /^(?:\d{1,3}\.){3}\d{1,3}:(\d+)$/.exec(option(rule, "--to-destination") ?? "");
  if (protocol === undefined || !Number.isInteger(hostPort) || hostPort < 1 || to === null) return undefined;
  const p: PublishedPort = { hostPort, containerPort: Number(to[1]), protocol };
  const dst = option(rule, "-d");
  if (dst !== undefined) p.hostIp = dst.replace(/\/32$/, "");
  return p;
}

function protocolOf(rule: NatRule): Protocol | undefined {
  const p = option(rule, "-p");
  return p === "tcp" || p === "udp" ? p : undefined;
}

function same(a: PublishedPort, b: PublishedPort): boolean {
  return a.hostPort === b.hostPort && a.containerPort === b.containerPort && a.protocol === b.protocol && a.hostIp === b.hostIp;
}

/** The value after the first occurrence of flag. */
function option(rule: NatRule, flag: string): string | undefined {
  const i = rule.args.indexOf(flag);
  return i < 0 ? undefined : rule.args[i + 1];
}

/** The `-A` rules of iptables-save output. */
function parseNatRules(text: string): NatRule[] {
  const rules: NatRule[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("-A ")) continue;
    const [, chain, ...args] = splitArgs(line);
    if (chain !== undefined) rules.push({ chain, args });
  }
  return rules;
}

/** Splits on spaces, keeping "quoted strings" (with \" and \\ escapes) as one argument. */
function splitArgs(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  let started = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted && c === "\\" && i + 1 < line.length) {
      cur += line[++i];
    } else if (c === '"') {
      quoted = !quoted;
      started = true;
    } else if (c === " " && !quoted) {
      if (started) out.push(cur);
      cur = "";
      started = false;
    } else {
      cur += c;
      started = true;
    }
  }
  if (started) out.push(cur);
  return out;
}
