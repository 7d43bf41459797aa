// `hostform-runtime update`: runc update's flags, or its -r LinuxResources JSON, as cgroup limits to
// apply to a running container. As in runc (update.go), only these settings change, and a 0 (or an
// empty list) means "leave as is"; other LinuxResources fields in -r (devices, hugepageLimits,
// swappiness, ...) are not update's business and are left alone, as runc leaves them.
import { ValidationError } from "../sys/errors";
import { limitsFromOci, validateLimits, type CgroupLimits, type NormalizedLimits } from "../cgroup/spec";

export type UpdateFlag =
  | "memory" | "memory-reservation" | "memory-swap" | "kernel-memory" | "kernel-memory-tcp"
  | "cpu-share" | "cpu-quota" | "cpu-period" | "cpu-rt-runtime" | "cpu-rt-period" | "cpuset-cpus" | "cpuset-mems"
  | "blkio-weight" | "pids-limit" | "l3-cache-schema" | "mem-bw-schema";

/** Flag values as given on the command line (runc update's names, without "--"). */
export type UpdateFlags = Partial<Record<UpdateFlag, string>>;

type Kind = "bytes" | "uint" | "int" | "list";

interface Setting {
  flag: UpdateFlag;
  /** Where it sits in LinuxResources: [key, field]. */
  oci: readonly [string, string];
  kind: Kind;
  /** hostform's limit field it becomes, for renaming validation errors. */
  limit?: string;
  /** Set when hostform does not implement it: why. */
  refused?: string;
}

const NO_KMEM = "kernel memory limits are not supported (runc ignores them; Linux 6.1 dropped them)";
const NO_RT = "realtime CPU limits are not supported";

const SETTINGS: readonly Setting[] = [
  { flag: "memory", oci: ["memory", "limit"], kind: "bytes", limit: "memory.max" },
  { flag: "memory-reservation", oci: ["memory", "reservation"], kind: "bytes", limit: "memory.low" },
  { flag: "memory-swap", oci: ["memory", "swap"], kind: "bytes", limit: "memory.swapMax" },
  { flag: "kernel-memory", oci: ["memory", "kernel"], kind: "bytes", refused: NO_KMEM },
  { flag: "kernel-memory-tcp", oci: ["memory", "kernelTCP"], kind: "bytes", refused: NO_KMEM },
  { flag: "cpu-share", oci: ["cpu", "shares"], kind: "uint", limit: "cpu.shares" },
  { flag: "cpu-quota", oci: ["cpu", "quota"], kind: "int", limit: "cpu.quota" },
  { flag: "cpu-period", oci: ["cpu", "period"], kind: "uint", limit: "cpu.period" },
  { flag: "cpu-rt-runtime", oci: ["cpu", "realtimeRuntime"], kind: "int", refused: NO_RT },
  { flag: "cpu-rt-period", oci: ["cpu", "realtimePeriod"], kind: "uint", refused: NO_RT },
  { flag: "cpuset-cpus", oci: ["cpu", "cpus"], kind: "list", limit: "cpuset.cpus" },
  { flag: "cpuset-mems", oci: ["cpu", "mems"], kind: "list", limit: "cpuset.mems" },
  { flag: "blkio-weight", oci: ["blockIO", "weight"], kind: "uint", limit: "io.blkioWeight" },
  { flag: "pids-limit", oci: ["pids", "limit"], kind: "int", limit: "pids.max" },
];

const RDT_FLAGS: readonly UpdateFlag[] = ["l3-cache-schema", "mem-bw-schema"];

const UNITS: Readonly<Record<string, number>> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** A size as runc reads one (docker/go-units RAMInBytes: "100", "64m", "1.5GiB", binary units), or -1. */
function parseBytes(v: string, name: string): number {
  if (v === "-1") return -1;
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i.exec(v);
  if (m === null) throw new ValidationError(name, `'${v}' is not a size`, 'give bytes or a size such as 64m or 1g, or -1 for no limit');
  return Math.floor(Number(m[1]) * (UNITS[(m[2] ?? "").toLowerCase()] ?? 1));
}

function parseInteger(v: string, name: string, unsigned: boolean): number {
  if (!(unsigned ? /^\d+$/ : /^-?\d+$/).test(v)) throw new ValidationError(name, `'${v}' is not ${unsigned ? "a non-negative" : "an"} integer`);
  return Number(v);
}

/** One flag's value in LinuxResources terms. */
function fromFlag(s: Setting, v: string): number | string {
  const name = `--${s.flag}`;
  if (s.kind === "bytes") return parseBytes(v, name);
  if (s.kind === "list") return v;
  return parseInteger(v, name, s.kind === "uint");
}

/** One LinuxResources field's value (its JSON type checked). */
function fromJson(s: Setting, v: unknown, name: string): number | string | undefined {
  if (v === undefined || v === null) return undefined;
  if (s.kind === "list") {
    if (typeof v !== "string") throw new ValidationError(name, "must be a string");
    return v;
  }
  if (typeof v !== "number" || !Number.isInteger(v) || (s.kind === "uint" && v < 0)) throw new ValidationError(name, `${JSON.stringify(v)} is not ${s.kind === "uint" ? "a non-negative" : "an"} integer`);
  return v;
}

function parseResourcesJson(text: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ValidationError("--resources", `is not JSON: ${(err as Error).message}`, "give an OCI LinuxResources object", { cause: err });
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new ValidationError("--resources", "must be a JSON object (OCI LinuxResources)");
  const r = doc as Record<string, unknown>;
  if (typeof r.unified === "object" && r.unified !== null && Object.keys(r.unified).length > 0) {
    throw new ValidationError("resources.unified", "raw cgroup v2 files are not supported", "use the memory, cpu, blockIO and pids fields");
  }
  return r;
}

/**
 * The limits `hostform-runtime update` applies: from runc update's flags, or from `resourcesJson`
 * (the text of -r FILE or -), not both. Errors name the flag ("--memory") or the JSON field
 * ("resources.memory.limit"). `current` (the driver's read() of the cgroup) keeps the CFS period
 * when only the quota changes, as runc does; without it the kernel's default period goes with it.
 * Apply the result with the cgroup driver's apply().
 */
export function parseUpdate(flags: UpdateFlags, resourcesJson?: string, current?: NormalizedLimits): CgroupLimits {
  const given = Object.entries(flags).filter(([, v]) => v !== undefined && v !== "");
  if (resourcesJson !== undefined && given.length > 0) {
    // runc ignores the flags then; refusing keeps a caller from believing they were applied.
    throw new ValidationError(`--${given[0]![0]}`, "cannot be combined with --resources (-r)", "put the setting in the resources JSON");
  }
  for (const f of RDT_FLAGS) if (flags[f] !== undefined && flags[f] !== "") throw new ValidationError(`--${f}`, "Intel RDT is not supported", "remove the flag");
  const json = resourcesJson !== undefined ? parseResourcesJson(resourcesJson) : undefined;
  const nameOf = (s: Setting): string => (json !== undefined ? `resources.${s.oci[0]}.${s.oci[1]}` : `--${s.flag}`);
  const oci: Record<string, Record<string, number | string>> = {};
  for (const s of SETTINGS) {
    const name = nameOf(s);
    const section = json?.[s.oci[0]];
    const raw = json !== undefined ? (typeof section === "object" && section !== null ? (section as Record<string, unknown>)[s.oci[1]] : undefined) : flags[s.flag];
    if (raw === undefined || raw === "") continue;
    const v = json !== undefined ? fromJson(s, raw, name) : fromFlag(s, raw as string);
    // runc's "unchanged": 0 and "" (a negative pids limit is its "no limit").
    if (v === undefined || v === 0 || v === "") continue;
    if (s.refused !== undefined) throw new ValidationError(name, s.refused, "remove it");
    (oci[s.oci[0]] ??= {})[s.oci[1]] = s.flag === "pids-limit" && typeof v === "number" && v < 0 ? -1 : v;
  }
  if (oci.memory?.swap !== undefined && oci.memory.limit === undefined) {
    throw new ValidationError(nameOf(SETTINGS[2]!), "memory+swap needs the memory limit in the same update", `give ${nameOf(SETTINGS[0]!)} too`);
  }
  const livePeriod = current?.cpu?.period;
  if (oci.cpu?.quota !== undefined && oci.cpu.period === undefined && livePeriod !== undefined) oci.cpu.period = livePeriod;
  const rename = (err: unknown): unknown => {
    if (!(err instanceof ValidationError)) return err;
    const s = SETTINGS.find((x) => x.limit === err.field || `update.${x.oci[0]}.${x.oci[1]}` === err.field);
    return s !== undefined ? err.renamed(nameOf(s)) : err;
  };
  try {
    const limits = limitsFromOci(oci, "update") ?? {};
    validateLimits(limits);
    return limits;
  } catch (err) {
    throw rename(err);
  }
}
