// The seccomp profile formats hostform accepts. Docker's profile format (moby profiles/seccomp) is
// a superset of the OCI runtime-spec `linux.seccomp` object: it adds archMap, includes/excludes and
// comments. One validator reads both; what comes out is the normalized SeccompProfile below.

/** Actions a rule or the default may take (SCMP_ACT_NOTIFY needs a listener: unsupported). */
export const SECCOMP_ACTIONS = [
  "SCMP_ACT_KILL",
  "SCMP_ACT_KILL_THREAD",
  "SCMP_ACT_KILL_PROCESS",
  "SCMP_ACT_TRAP",
  "SCMP_ACT_ERRNO",
  "SCMP_ACT_TRACE",
  "SCMP_ACT_LOG",
  "SCMP_ACT_ALLOW",
] as const;
export type SeccompAction = (typeof SECCOMP_ACTIONS)[number];

/** Argument comparison operators, numbered as libseccomp's enum scmp_compare. */
export const SECCOMP_OPERATORS = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
} as const;
export type SeccompOperator = keyof typeof SECCOMP_OPERATORS;

/** Architecture names of the `architectures`/`archMap` fields. */
export const SECCOMP_ARCHITECTURES = [
  "SCMP_ARCH_X86",
  "SCMP_ARCH_X86_64",
  "SCMP_ARCH_X32",
  "SCMP_ARCH_ARM",
  "SCMP_ARCH_AARCH64",
  "SCMP_ARCH_MIPS",
  "SCMP_ARCH_MIPS64",
  "SCMP_ARCH_MIPS64N32",
  "SCMP_ARCH_MIPSEL",
  "SCMP_ARCH_MIPSEL64",
  "SCMP_ARCH_MIPSEL64N32",
  "SCMP_ARCH_PPC",
  "SCMP_ARCH_PPC64",
  "SCMP_ARCH_PPC64LE",
  "SCMP_ARCH_S390",
  "SCMP_ARCH_S390X",
  "SCMP_ARCH_PARISC",
  "SCMP_ARCH_PARISC64",
  "SCMP_ARCH_RISCV64",
  "SCMP_ARCH_LOONGARCH64",
  "SCMP_ARCH_M68K",
  "SCMP_ARCH_SH",
  "SCMP_ARCH_SHEB",
] as const;
export type SeccompArchitecture = (typeof SECCOMP_ARCHITECTURES)[number];

/**
 * Architecture names in includes/excludes `arches`: Go's GOARCH spellings, as Docker matches them
 * against the daemon's own architecture (plus "x32" and "x86", which Docker's profile uses).
 */
export const PROFILE_ARCHES = [
  "386",
  "x86",
  "amd64",
  "x32",
  "arm",
  "arm64",
  "mips",
  "mipsle",
  "mips64",
  "mips64le",
  "mips64n32",
  "mips64len32",
  "ppc",
  "ppc64",
  "ppc64le",
  "s390",
  "s390x",
  "riscv64",
  "loong64",
  "parisc",
  "parisc64",
] as const;

/** seccomp(2) filter flags of the OCI `flags` field hostform can honour. */
export const SECCOMP_FLAGS = {
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
} as const;
export type SeccompFlag = keyof typeof SECCOMP_FLAGS;

/** One argument condition as written in a profile. */
export interface SeccompArgInput {
  index: number;
  value: number | bigint;
  valueTwo?: number | bigint;
  op: string;
}

/** includes/excludes of a Docker profile entry. */
export interface SeccompFilterInput {
  caps?: string[] | null;
  arches?: string[] | null;
  minKernel?: string | null;
}

/** One `syscalls[]` entry as written (Docker or OCI). */
export interface SeccompSyscallInput {
  names?: string[] | null;
  /** Docker's old single-name form. */
  name?: string;
  action: string;
  errnoRet?: number | null;
  args?: SeccompArgInput[] | null;
  includes?: SeccompFilterInput | null;
  excludes?: SeccompFilterInput | null;
  comment?: string;
}

/** Docker's archMap entry. */
export interface SeccompArchMapInput {
  architecture: string;
  subArchitectures?: string[] | null;
}

/** A Docker profile or an OCI `linux.seccomp` object, before validation. */
export interface SeccompProfileInput {
  defaultAction: string;
  defaultErrnoRet?: number | null;
  architectures?: string[] | null;
  archMap?: SeccompArchMapInput[] | null;
  syscalls?: SeccompSyscallInput[] | null;
  flags?: string[] | null;
  listenerPath?: string;
  listenerMetadata?: string;
}

/** A validated argument condition; 64-bit datums are bigint. */
export interface SeccompArg {
  index: number;
  op: SeccompOperator;
  value: bigint;
  valueTwo: bigint;
}

/** A validated includes/excludes clause; empty lists mean "no condition". */
export interface SeccompCondition {
  caps: string[];
  arches: string[];
  /** "major.minor" */
  minKernel?: string;
}

/** A validated syscalls[] entry. */
export interface SeccompRule {
  names: string[];
  action: SeccompAction;
  errnoRet?: number;
  args: SeccompArg[];
  includes: SeccompCondition;
  excludes: SeccompCondition;
  comment?: string;
}

export interface SeccompArchMapEntry {
  architecture: SeccompArchitecture;
  subArchitectures: SeccompArchitecture[];
}

/** A validated profile, normalized so that equal profiles serialize equally. */
export interface SeccompProfile {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  architectures: SeccompArchitecture[];
  archMap: SeccompArchMapEntry[];
  syscalls: SeccompRule[];
  flags: SeccompFlag[];
}
