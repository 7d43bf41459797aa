// Device access rules (OCI LinuxDeviceCgroup) and the policy they add up to. Rules are applied in order
// the way the v1 devices controller applies writes to devices.allow/devices.deny: an "a" rule resets the
// default and drops every exception, any other rule adds access to (or takes it from) the exception
// of exactly its type and numbers. Both versions enforce the resulting policy, so a rule list means
// the same on v1 (devices.list) and v2 (the BPF program built from it), as runc's emulator does.
import { CorruptFileError, ValidationError } from "../sys/errors";
import { checkKeys, fieldName } from "./fields";
import { describe, parseIntIn } from "./units";

/** One device rule as declared (OCI linux.resources.devices[i]). */
export interface DeviceRule {
  allow: boolean;
  /** "a" (every device, the default), "c" (character) or "b" (block). */
  type?: "a" | "b" | "c";
  /** Absent or -1: any. */
  major?: number;
  minor?: number;
  /** Letters of r (read), w (write), m (mknod); default "rwm". */
  access?: string;
}

/**
 * What the rules add up to: a default for devices no exception names, and the exceptions as the
 * kernel's devices.list spells them ("c 1:3 rwm", "c 136:* rwm"), sorted. Read back from a v2
 * cgroup whose filter hostform did not attach, `default` is "unknown" and the exceptions name the
 * programs found there.
 */
export interface DevicePolicy {
  default: "allow" | "deny" | "unknown";
  exceptions: string[];
}

const ACCESS_ORDER = "rwm";
const ANY = -1;

/** An exception's key: what it matches. */
interface DeviceMatch {
  type: "b" | "c";
  major: number;
  minor: number;
}

/** A checked rule in kernel terms: wildcards as -1, access as "rwm" letters in that order. */
interface CheckedRule {
  allow: boolean;
  type: "a" | "b" | "c";
  major: number;
  minor: number;
  access: string;
}

function canonicalAccess(value: unknown, field: string): string {
  const hint = 'use letters r (read), w (write) and m (mknod), e.g. "rwm" or "rw"';
  if (typeof value !== "string" || value === "") throw new ValidationError(field, `expected access letters, got ${describe(value)}`, hint);
  for (const ch of value) if (!ACCESS_ORDER.includes(ch)) throw new ValidationError(field, `"${ch}" is not an access letter`, hint);
  return [...ACCESS_ORDER].filter((ch) => value.includes(ch)).join("");
}

function deviceNumber(value: unknown, field: string, max: number): number {
  if (value === undefined || value === null || value === -1) return ANY;
  return parseIntIn(value, field, 0, max, "give the device number (ls -l /dev shows MAJ, MIN), or leave it out for any");
}

/** Checks one rule; errors name `field` ("limits.devices[2].access"). */
function checkRule(input: unknown, field: string, defaultAccess: string | undefined): CheckedRule {
  const r = checkKeys(input, field, ["allow", "type", "major", "minor", "access"], "device rule field");
  if (typeof r.allow !== "boolean") throw new ValidationError(fieldName(field, "allow"), `expected true or false, got ${describe(r.allow)}`, "true grants the access, false takes it away");
  const type = r.type ?? "a";
  if (type !== "a" && type !== "b" && type !== "c") throw new ValidationError(fieldName(field, "type"), `${describe(type)} is not a device type`, 'use "c" (character), "b" (block) or "a" (all)');
  const major = deviceNumber(r.major, fieldName(field, "major"), 4095);
  const minor = deviceNumber(r.minor, fieldName(field, "minor"), 1048575);
  if (type === "a" && (major !== ANY || minor !== ANY)) throw new ValidationError(field, 'a type "a" rule covers every device: it takes no major or minor', 'give type "c" or "b" with the numbers, or drop them');
  const access = r.access === undefined && defaultAccess !== undefined ? defaultAccess : canonicalAccess(r.access, fieldName(field, "access"));
  return { allow: r.allow, type, major, minor, access };
}

function num(n: number): string {
  return n === ANY ? "*" : String(n);
}

function keyOf(m: DeviceMatch): string {
  return `${m.type} ${num(m.major)}:${num(m.minor)}`;
}

function union(a: string, b: string): string {
  return [...ACCESS_ORDER].filter((ch) => a.includes(ch) || b.includes(ch)).join("");
}

function minus(a: string, b: string): string {
  return [...ACCESS_ORDER].filter((ch) => a.includes(ch) && !b.includes(ch)).join("");
}

function intersect(a: string, b: string): string {
  return [...ACCESS_ORDER].filter((ch) => a.includes(ch) && b.includes(ch)).join("");
}

/** The policy being built: the default and, per match, the access its exception holds. */
class PolicyBuilder {
  defaultAllow = false;
  readonly exceptions = new Map<string, { match: DeviceMatch; access: string }>();

  apply(rule: CheckedRule, field: string): void {
    if (rule.type === "a") {
      // Writing "a" resets the cgroup: every exception goes, the default becomes the rule's.
      this.defaultAllow = rule.allow;
      this.exceptions.clear();
      return;
    }
    const match: DeviceMatch = { type: rule.type, major: rule.major, minor: rule.minor };
    const key = keyOf(match);
    if (rule.allow !== this.defaultAllow) {
      const had = this.exceptions.get(key)?.access ?? "";
      this.exceptions.set(key, { match, access: union(had, rule.access) });
      return;
    }
    // The kernel only takes access from the exception of exactly these numbers; one with a wildcard
    // that also covers them stays as it is, so refuse a rule that would silently do nothing.
    for (const wider of [{ ...match, major: ANY }, { ...match, minor: ANY }, { ...match, major: ANY, minor: ANY }]) {
      const w = this.exceptions.get(keyOf(wider));
      if (keyOf(wider) === key || w === undefined || intersect(rule.access, w.access) === "") continue;
      throw new ValidationError(field, `cannot take "${rule.access}" from ${key} while the earlier rule ${keyOf(wider)} ${w.access} covers it (the devices cgroup ignores such a rule)`, `narrow the earlier rule, or ${this.defaultAllow ? "allow" : "deny"} all of ${keyOf(wider)}`);
    }
    const left = minus(this.exceptions.get(key)?.access ?? "", rule.access);
    if (left === "") this.exceptions.delete(key);
    else this.exceptions.set(key, { match, access: left });
  }

  policy(): DevicePolicy {
    const sorted = [...this.exceptions.values()].sort((a, b) => compareMatch(a.match, b.match));
    return { default: this.defaultAllow ? "allow" : "deny", exceptions: sorted.map((e) => `${keyOf(e.match)} ${e.access}`) };
  }
}

/** Exceptions in one order for both sides of a drift comparison: type, then major, then minor, "*" first. */
function compareMatch(a: DeviceMatch, b: DeviceMatch): number {
  return a.type.localeCompare(b.type) || a.major - b.major || a.minor - b.minor;
}

/**
 * Checks declared rules and resolves them into the policy they add up to, starting from "deny all"
 * as runc does. `defaultAccess` fills in a missing access (the hostform API says "rwm"; OCI rules
 * must give one, as runc requires). ValidationError names `field[i]` and the fix.
 */
export function devicePolicyOf(input: unknown, field: string, defaultAccess: string | undefined = "rwm"): DevicePolicy {
  if (!Array.isArray(input)) throw new ValidationError(field, `expected a list of device rules, got ${describe(input)}`, '[{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }]');
  const b = new PolicyBuilder();
  input.forEach((r: unknown, i: number) => b.apply(checkRule(r, `${field}[${i}]`, defaultAccess), `${field}[${i}]`));
  return b.policy();
}

/** Checks declared rules, keeping them as rules (canonical access, wildcards left out). */
export function validateDeviceRules(input: unknown, field: string, defaultAccess: string | undefined = "rwm"): DeviceRule[] {
  devicePolicyOf(input, field, defaultAccess);
  return (input as unknown[]).map((r, i) => {
    const c = checkRule(r, `${field}[${i}]`, defaultAccess);
    const out: DeviceRule = { allow: c.allow, type: c.type, access: c.access };
    if (c.major !== ANY) out.major = c.major;
    if (c.minor !== ANY) out.minor = c.minor;
    return out;
  });
}

/** One exception of a policy, parsed back ("c 1:3 rwm"). */
export interface PolicyException {
  type: "b" | "c";
  /** -1 for "*". */
  major: number;
  minor: number;
  access: string;
}

/** Parses an exception line as devices.list prints it; the "a *:* rwm" line gives undefined. */
export function parseException(line: string, where: string): PolicyException | undefined {
  const m = /^([abc]) (\*|\d+):(\*|\d+) ([rwm]+)$/.exec(line.trim());
  if (m === null) throw new ValidationError(where, `"${line}" is not a device rule line ("c 1:3 rwm")`);
  if (m[1] === "a") return undefined;
  const n = (s: string | undefined): number => (s === "*" || s === undefined ? ANY : Number(s));
  return { type: m[1] as "b" | "c", major: n(m[2]), minor: n(m[3]), access: canonicalAccess(m[4], where) };
}

/** The policy a v1 devices.list at `path` describes (each line an allowed exception; "a *:* rwm" = allow all). */
export function policyFromList(text: string, path: string): DevicePolicy {
  const b = new PolicyBuilder();
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    let e: PolicyException | undefined;
    try {
      e = parseException(line, path);
    } catch (err) {
      throw new CorruptFileError(path, `unexpected line "${line}"`, { cause: err });
    }
    b.apply(e === undefined ? { allow: true, type: "a", major: ANY, minor: ANY, access: "rwm" } : { allow: true, ...e }, path);
  }
  return b.policy();
}

/** The policy of no rules at all: every device allowed (what a cgroup without a filter gives). */
export const ALLOW_ALL: DevicePolicy = { default: "allow", exceptions: [] };

/** The rule list that lifts a device policy no longer declared. */
export const ALLOW_ALL_RULES: readonly DeviceRule[] = [{ allow: true, type: "a", access: "rwm" }];
