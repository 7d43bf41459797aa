// Compiles a resolved seccomp profile to BPF with libseccomp. Compiling the Docker default takes
// milliseconds of FFI calls, so results are cached by a digest of what determines them (crun
// compiles once and reuses by checksum; a provider refreshing many containers does the same).
import { createHash } from "node:crypto";
import { closeSync, fstatSync, readSync } from "node:fs";
import { HostformError, SysError, UnsupportedError, ValidationError } from "../sys/errors";
import { memfdCreate } from "../sys/libc";
import { MFD_CLOEXEC } from "../sys/constants";
import * as scmp from "../sys/libseccomp";
import { BPF_INSTRUCTION_SIZE, encodeBpf } from "./bpf";
import { enosysStub, type ArchLimit } from "./enosysStub";
import { SECCOMP_FLAGS, SECCOMP_OPERATORS, type SeccompAction, type SeccompArchitecture, type SeccompArg, type SeccompProfile } from "./profile";
import { resolveProfile, type CapsContext, type ResolvedProfile, type TargetArch } from "./resolve";

const EPERM = 1;
const ENOSYS = 38;

/** A compiled filter, ready to load with load.ts. */
export interface CompiledFilter {
  /** Target architecture the filter was compiled for. */
  arch: TargetArch;
  /** Architectures the filter covers, target first. */
  architectures: SeccompArchitecture[];
  /** struct sock_filter array (host byte order): the ENOSYS stub followed by libseccomp's program. */
  bpf: Buffer;
  /** libseccomp rules added (one per syscall name and argument split, after skips). */
  rules: number;
  /** BPF instructions in `bpf`, stub included. */
  instructions: number;
  /** Instructions of the ENOSYS stub at the start of `bpf` (0 when none was needed). */
  stubInstructions: number;
  /** Syscall names the installed libseccomp does not know: the filter cannot mention them. */
  unknownSyscalls: string[];
  /** sha256 hex of `bpf`. */
  digest: string;
  /** seccomp(2) flags the profile asks for (SECCOMP_FILTER_FLAG_LOG, ...). */
  loadFlags: number;
  /** libseccomp's Pseudo Filter Code for the program, with the stub described in a header. */
  pfc(): string;
}

/** What to compile for. */
export interface CompileOptions {
  arch?: TargetArch;
  caps?: CapsContext;
  /** Kernel version that includes/excludes minKernel compare with; default: the running kernel. */
  kernel?: string;
  /** Prepend the ENOSYS stub (default true). */
  enosysStub?: boolean;
}

/** libseccomp's uint32 action value for a profile action. */
export function actionValue(action: SeccompAction, errnoRet: number | undefined): number {
  switch (action) {
    case "SCMP_ACT_KILL":
    case "SCMP_ACT_KILL_THREAD":
      return 0x00000000;
    case "SCMP_ACT_KILL_PROCESS":
      return 0x80000000;
    case "SCMP_ACT_TRAP":
      return 0x00030000;
    case "SCMP_ACT_ERRNO":
      return (0x00050000 | ((errnoRet ?? EPERM) & 0xffff)) >>> 0;
    case "SCMP_ACT_TRACE":
      return (0x7ff00000 | ((errnoRet ?? EPERM) & 0xffff)) >>> 0;
    case "SCMP_ACT_LOG":
      return 0x7ffc0000;
    case "SCMP_ACT_ALLOW":
      return 0x7fff0000;
  }
}

/** libseccomp's name for an architecture: SCMP_ARCH_X86_64 -> x86_64. */
function archToken(arch: SeccompArchitecture): number {
  const name = arch.slice("SCMP_ARCH_".length).toLowerCase();
  const token = scmp.seccompArchResolveName(name);
  if (token === 0) {
    const v = scmp.libseccompVersion();
    throw new UnsupportedError(`architecture ${arch}: libseccomp ${v.major}.${v.minor}.${v.micro} does not know it; remove it from the profile or upgrade libseccomp`);
  }
  return token;
}

/**
 * Argument conditions as libseccomp rules. libseccomp refuses two conditions on one argument in a
 * single rule (-EINVAL), so such a rule becomes one rule per condition: each condition on its own
 * matches, which is how Docker profiles with repeated indexes have always been read.
 */
function ruleConditions(args: readonly SeccompArg[]): scmp.ArgCompare[][] {
  const toCmp = (a: SeccompArg): scmp.ArgCompare => ({ arg: a.index, op: SECCOMP_OPERATORS[a.op], a: a.value, b: a.valueTwo });
  const indexes = new Set(args.map((a) => a.index));
  if (indexes.size === args.length) return [args.map(toCmp)];
  return args.map((a) => [toCmp(a)]);
}

/** Reads everything a libseccomp export function writes, through a memfd (2.5.x has no in-memory export). */
function exportToBuffer(write: (fd: number) => void, what: string): Buffer {
  const fd = memfdCreate(`hostform-seccomp-${what}`, MFD_CLOEXEC);
  try {
    write(fd);
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } catch (err) {
    throw SysError.fromNode(err, `export seccomp ${what}`);
  } finally {
    closeSync(fd);
  }
}

function stubComment(limits: readonly ArchLimit[]): string {
  if (limits.length === 0) return "";
  const lines = ["#", "# hostform ENOSYS stub (runs before the program below):"];
  for (const l of limits) lines.push(`#   arch 0x${l.token.toString(16)}: syscall > ${l.maxSyscall} -> ERRNO(${ENOSYS})`);
  lines.push("#", "");
  return lines.join("\n");
}

interface Built {
  architectures: SeccompArchitecture[];
  bpf: Buffer;
  rules: number;
  stubInstructions: number;
  unknownSyscalls: string[];
  loadFlags: number;
  pfc: string;
}

function build(resolved: ResolvedProfile, withStub: boolean): Built {
  const defaultAction = actionValue(resolved.defaultAction, resolved.defaultErrnoRet);
  const tokens = resolved.architectures.map((a) => ({ arch: a, token: archToken(a) }));
  const ctx = scmp.seccompInit(defaultAction);
  try {
    scmp.seccompAttrSet(ctx, scmp.SCMP_FLTATR_API_SYSRAWRC, 1);
    // A binary tree over syscall numbers: ~15 instead of ~300 instructions run per syscall.
    scmp.seccompAttrSet(ctx, scmp.SCMP_FLTATR_CTL_OPTIMIZE, 2);
    // Architectures before rules: rules added earlier would not be generated for later arches.
    const native = scmp.seccompArchNative();
    for (const { token } of tokens) {
      if (token !== native) scmp.seccompArchAdd(ctx, token);
    }
    if (!tokens.some((t) => t.token === native)) scmp.seccompArchRemove(ctx, native);

    const unknown: string[] = [];
    const seenUnknown = new Set<string>();
    const knownNames = new Set<string>();
    let rules = 0;
    for (const rule of resolved.rules) {
      const action = actionValue(rule.action, rule.errnoRet);
      const field = `syscalls[${rule.index}]`;
      for (const name of rule.names) {
        const nr = scmp.seccompSyscallResolveName(name);
        if (nr === scmp.NR_SCMP_ERROR) {
          if (!seenUnknown.has(name)) {
            seenUnknown.add(name);
            unknown.push(name);
          }
          continue;
        }
        knownNames.add(name);
        // The kernel would never reach such a rule: the default already does the same.
        if (action === defaultAction) continue;
        for (const conds of ruleConditions(rule.args)) {
          try {
            scmp.seccompRuleAddArray(ctx, action, nr, conds, `${field} ${name}`);
          } catch (err) {
            if (err instanceof SysError) {
              throw new ValidationError(`${field}.names`, `libseccomp rejected the rule for ${name}: ${err.code}`, "check the action and args of this entry");
            }
            throw err;
          }
          rules++;
        }
      }
    }

    const program = exportToBuffer((fd) => scmp.seccompExportBpf(ctx, fd), "bpf");
    let stub: Buffer = Buffer.alloc(0);
    let limits: ArchLimit[] = [];
    // With a permissive default, unknown new syscalls already run; ENOSYS would only break them.
    const needsStub = withStub && resolved.defaultAction !== "SCMP_ACT_ALLOW" && resolved.defaultAction !== "SCMP_ACT_LOG" && defaultAction !== actionValue("SCMP_ACT_ERRNO", ENOSYS);
    if (needsStub) {
      limits = tokens
        .map(({ token }) => ({ token, maxSyscall: Math.max(-1, ...[...knownNames].map((n) => scmp.seccompSyscallResolveNameArch(token, n))) }))
        .filter((l) => l.maxSyscall >= 0);
      if (limits.length > 0) stub = encodeBpf(enosysStub(limits));
    }
    const pfc = stubComment(limits) + exportToBuffer((fd) => scmp.seccompExportPfc(ctx, fd), "pfc").toString("utf8");
    let loadFlags = 0;
    for (const f of resolved.flags) loadFlags |= SECCOMP_FLAGS[f];
    return {
      architectures: tokens.map((t) => t.arch),
      bpf: Buffer.concat([stub, program]),
      rules,
      stubInstructions: stub.length / BPF_INSTRUCTION_SIZE,
      unknownSyscalls: unknown,
      loadFlags,
      pfc,
    };
  } finally {
    scmp.seccompRelease(ctx);
  }
}

const CACHE_LIMIT = 64;
const cache = new Map<string, Built>();

/** Digest of everything that determines a compiled filter. */
export function filterCacheKey(resolved: ResolvedProfile, withStub: boolean): string {
  const text = JSON.stringify({ resolved, withStub }, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v));
  return createHash("sha256").update(text).digest("hex");
}

/** Compiles an already resolved profile (see resolveProfile). */
export function compileResolved(resolved: ResolvedProfile, options: { enosysStub?: boolean } = {}): CompiledFilter {
  const withStub = options.enosysStub ?? true;
  const key = filterCacheKey(resolved, withStub);
  let built = cache.get(key);
  if (built === undefined) {
    built = build(resolved, withStub);
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
    cache.set(key, built);
  } else {
    // Refresh recency: Map iteration order is insertion order.
    cache.delete(key);
    cache.set(key, built);
  }
  const b = built;
  const bpf = Buffer.from(b.bpf);
  return {
    arch: resolved.arch,
    architectures: [...b.architectures],
    bpf,
    rules: b.rules,
    instructions: bpf.length / BPF_INSTRUCTION_SIZE,
    stubInstructions: b.stubInstructions,
    unknownSyscalls: [...b.unknownSyscalls],
    digest: createHash("sha256").update(bpf).digest("hex"),
    loadFlags: b.loadFlags,
    pfc: () => b.pfc,
  };
}

/**
 * Compiles a validated profile for a target architecture and capability set. Unknown syscall
 * names are reported in `unknownSyscalls`, never dropped silently; callers decide whether that
 * is acceptable (the CLI prints them).
 */
export function compileProfile(profile: SeccompProfile, options: CompileOptions = {}): CompiledFilter {
  const resolved = resolveProfile(profile, options);
  try {
    return compileResolved(resolved, options.enosysStub === undefined ? {} : { enosysStub: options.enosysStub });
  } catch (err) {
    if (err instanceof HostformError) throw err;
    throw new HostformError(`compile seccomp profile for ${resolved.arch}: ${(err as Error).message}`, { cause: err });
  }
}

/** Number of entries currently cached (for tests and `hostform stats`). */
export function compiledFilterCacheSize(): number {
  return cache.size;
}
