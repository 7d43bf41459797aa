// Typed bindings to libseccomp (2.5.x) and to the raw seccomp(2) system call. libseccomp reports
// failures as -errno return values (not through errno), so every wrapper turns a negative return
// into a SysError. Actions and architecture tokens are uint32_t: declared signed, SCMP_ACT_ALLOW
// (0x7fff0000) would survive but SCMP_ACT_KILL_PROCESS (0x80000000) would not.
import { koffi, libseccompHandle, lastErrno, syscallFunction } from "./ffi";
import { SysError, UnsupportedError, ValidationError } from "./errors";

type Fn = (...args: unknown[]) => unknown;

/** An opaque libseccomp filter context (scmp_filter_ctx). */
export type FilterContext = unknown;

/** enum scmp_filter_attr values hostform sets. */
export const SCMP_FLTATR_ACT_DEFAULT = 1;
export const SCMP_FLTATR_ACT_BADARCH = 2;
export const SCMP_FLTATR_CTL_NNP = 3;
export const SCMP_FLTATR_CTL_TSYNC = 4;
export const SCMP_FLTATR_CTL_OPTIMIZE = 8;
export const SCMP_FLTATR_API_SYSRAWRC = 9;

/** __NR_SCMP_ERROR: the name is in none of libseccomp's tables. Other negative numbers are valid pseudo-syscalls. */
export const NR_SCMP_ERROR = -1;

/** One argument comparison, as struct scmp_arg_cmp {uint arg; int op; uint64 datum_a; uint64 datum_b}. */
export interface ArgCompare {
  arg: number;
  op: number;
  a: bigint;
  b: bigint;
}

interface Bindings {
  version: Fn;
  init: Fn;
  release: Fn;
  archAdd: Fn;
  archRemove: Fn;
  archExist: Fn;
  archNative: Fn;
  archResolveName: Fn;
  attrSet: Fn;
  resolveName: Fn;
  resolveNameArch: Fn;
  ruleAddArray: Fn;
  exportBpf: Fn;
  exportPfc: Fn;
}

let bound: Bindings | undefined;

function b(): Bindings {
  if (bound !== undefined) return bound;
  const lib = libseccompHandle();
  koffi.struct("hf_scmp_version", { major: "uint", minor: "uint", micro: "uint" });
  // 24 bytes: the two uint64 datums are 8-aligned after two 4-byte fields, so no padding.
  koffi.struct("hf_scmp_arg_cmp", { arg: "uint", op: "int", a: "uint64_t", b: "uint64_t" });
  bound = {
    version: lib.func("const void *seccomp_version(void)"),
    init: lib.func("void *seccomp_init(uint32_t def_action)"),
    release: lib.func("void seccomp_release(void *ctx)"),
    archAdd: lib.func("int seccomp_arch_add(void *ctx, uint32_t arch_token)"),
    archRemove: lib.func("int seccomp_arch_remove(void *ctx, uint32_t arch_token)"),
    archExist: lib.func("int seccomp_arch_exist(void *ctx, uint32_t arch_token)"),
    archNative: lib.func("uint32_t seccomp_arch_native(void)"),
    archResolveName: lib.func("uint32_t seccomp_arch_resolve_name(const char *arch_name)"),
    attrSet: lib.func("int seccomp_attr_set(void *ctx, int attr, uint32_t value)"),
    resolveName: lib.func("int seccomp_syscall_resolve_name(const char *name)"),
    resolveNameArch: lib.func("int seccomp_syscall_resolve_name_arch(uint32_t arch_token, const char *name)"),
    ruleAddArray: lib.func(
      "int seccomp_rule_add_array(void *ctx, uint32_t action, int syscall, unsigned int arg_cnt, const hf_scmp_arg_cmp *arg_array)",
    ),
    exportBpf: lib.func("int seccomp_export_bpf(void *ctx, int fd)"),
    exportPfc: lib.func("int seccomp_export_pfc(void *ctx, int fd)"),
  };
  return bound;
}

function check(ret: unknown, call: string, what?: string): number {
  const n = Number(ret);
  if (n < 0) throw new SysError(call, -n, what);
  return n;
}

/** Version of the libseccomp library actually loaded (not the one compiled against). */
export function libseccompVersion(): { major: number; minor: number; micro: number } {
  // koffi returns a struct pointer as an opaque external; decode reads the struct behind it.
  const v = koffi.decode(b().version(), "hf_scmp_version") as { major: number; minor: number; micro: number };
  return { major: v.major, minor: v.minor, micro: v.micro };
}

/** A new filter context with the given default action and the native architecture. */
export function seccompInit(defaultAction: number): FilterContext {
  const ctx = b().init(defaultAction >>> 0);
  // seccomp_init returns NULL without setting errno; an invalid action is the only documented cause.
  if (ctx === null) throw new ValidationError("defaultAction", `libseccomp refused action 0x${(defaultAction >>> 0).toString(16)}`, "use a seccomp action this libseccomp knows");
  return ctx;
}

export function seccompRelease(ctx: FilterContext): void {
  b().release(ctx);
}

export function seccompArchAdd(ctx: FilterContext, token: number): void {
  check(b().archAdd(ctx, token >>> 0), "seccomp_arch_add", `arch 0x${(token >>> 0).toString(16)}`);
}

export function seccompArchRemove(ctx: FilterContext, token: number): void {
  check(b().archRemove(ctx, token >>> 0), "seccomp_arch_remove", `arch 0x${(token >>> 0).toString(16)}`);
}

/** True when the filter already holds the architecture (seccomp_arch_exist returns 0 or -EEXIST). */
export function seccompArchExists(ctx: FilterContext, token: number): boolean {
  const ret = Number(b().archExist(ctx, token >>> 0));
  if (ret === 0) return true;
  if (ret === -17) return false;
  return check(ret, "seccomp_arch_exist") === 0;
}

/** Audit token of the architecture libseccomp was built for. */
export function seccompArchNative(): number {
  return Number(b().archNative()) >>> 0;
}

/** Audit token for a libseccomp architecture name ("x86_64", "aarch64", "x32", ...), or 0 if unknown. */
export function seccompArchResolveName(name: string): number {
  return Number(b().archResolveName(name)) >>> 0;
}

export function seccompAttrSet(ctx: FilterContext, attr: number, value: number): void {
  check(b().attrSet(ctx, attr, value >>> 0), "seccomp_attr_set", `attr ${attr}`);
}

/**
 * Syscall number of a name on the native architecture, the form seccomp_rule_add expects;
 * NR_SCMP_ERROR when libseccomp does not know the name.
 */
export function seccompSyscallResolveName(name: string): number {
  return Number(b().resolveName(name));
}

/** Syscall number of a name on one architecture (x32 numbers carry the 0x40000000 bit). */
export function seccompSyscallResolveNameArch(token: number, name: string): number {
  return Number(b().resolveNameArch(token >>> 0, name));
}

/** Adds one rule; conditions are ANDed. libseccomp rejects two conditions on the same argument. */
export function seccompRuleAddArray(ctx: FilterContext, action: number, syscall: number, args: readonly ArgCompare[], what?: string): void {
  const arr = args.map((c) => ({ arg: c.arg, op: c.op, a: c.a, b: c.b }));
  check(b().ruleAddArray(ctx, action >>> 0, syscall, arr.length, arr.length > 0 ? arr : null), "seccomp_rule_add_array", what);
}

/** Writes the filter as raw BPF (struct sock_filter array, host byte order) to fd. */
export function seccompExportBpf(ctx: FilterContext, fd: number): void {
  check(b().exportBpf(ctx, fd), "seccomp_export_bpf", `fd ${fd}`);
}

/** Writes the filter as libseccomp's Pseudo Filter Code text to fd. */
export function seccompExportPfc(ctx: FilterContext, fd: number): void {
  check(b().exportPfc(ctx, fd), "seccomp_export_pfc", `fd ${fd}`);
}

// The raw seccomp(2) syscall. glibc has no wrapper, and libseccomp's seccomp_load would need the
// filter context in the loading thread; loading exported bytes keeps compile and load apart.
const SECCOMP_SYSCALL: Readonly<Record<string, number>> = { x64: 317, arm64: 277 };
export const SECCOMP_SET_MODE_FILTER = 1;
export const SECCOMP_FILTER_FLAG_TSYNC = 1;

/**
 * seccomp(SECCOMP_SET_MODE_FILTER, flags, prog) on the calling thread. bpf holds struct
 * sock_filter entries (8 bytes each) in host byte order.
 */
export function seccompSetModeFilter(bpf: Buffer, flags: number): void {
  const nr = SECCOMP_SYSCALL[process.arch];
  if (nr === undefined) throw new UnsupportedError(`seccomp: hostform knows no seccomp(2) syscall number on ${process.arch}`);
  // struct sock_fprog { unsigned short len; struct sock_filter *filter; }: the pointer sits at
  // offset 8 on 64-bit. koffi gives us the address of a Buffer only through a pointer argument,
  // so the fprog is built with a koffi struct whose pointer member takes the Buffer directly.
  const fprogType = fprog();
  const prog = { len: bpf.length / 8, filter: bpf };
  const ret = Number(syscallFunction()(nr, "int", SECCOMP_SET_MODE_FILTER, "unsigned int", flags, koffi.pointer(fprogType), prog));
  if (ret < 0) throw new SysError("seccomp", lastErrno(), `SECCOMP_SET_MODE_FILTER (${bpf.length / 8} instructions)`);
}

let fprogStruct: koffi.TypeObject | undefined;

function fprog(): koffi.TypeObject {
  fprogStruct ??= koffi.struct("hf_sock_fprog", { len: "uint16_t", filter: "void *" });
  return fprogStruct;
}
