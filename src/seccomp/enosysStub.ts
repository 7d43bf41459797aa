// The ENOSYS stub runs before the libseccomp program: a syscall numbered above the highest one
// the profile knows for its architecture fails with ENOSYS instead of the default action.
// glibc and musl treat ENOSYS as "kernel too old, use the fallback" (clone3 -> clone,
// faccessat2 -> faccessat, ...), whereas the usual EPERM default makes them fail for good.
import { BpfAssembler, BPF_JMP_JEQ_K, BPF_JMP_JGT_K, BPF_JMP_JSET_K, SECCOMP_DATA_ARCH, SECCOMP_DATA_NR, retErrno, type Instruction } from "./bpf";

/** libseccomp token and kernel audit arch of x86_64. */
export const AUDIT_ARCH_X86_64 = 0xc000003e;
/** libseccomp's token for x32; the kernel reports x32 calls as AUDIT_ARCH_X86_64 with bit 30 set in nr. */
export const SCMP_ARCH_X32 = 0x4000003e;
export const X32_SYSCALL_BIT = 0x40000000;
const ENOSYS = 38;

/** The highest syscall number the profile names on one architecture of the filter. */
export interface ArchLimit {
  /** libseccomp architecture token (the audit arch, except x32). */
  token: number;
  /** Highest known syscall number on that arch (x32: including X32_SYSCALL_BIT). */
  maxSyscall: number;
}

/**
 * Instructions to prepend to a seccomp program so that syscalls above each arch's maxSyscall
 * return ENOSYS. Every other path falls through to the first instruction after the stub, with
 * nothing assumed about the accumulator: libseccomp's program loads what it needs itself.
 * An architecture the stub does not list falls through too, so libseccomp's bad-arch action
 * still applies to it.
 */
export function enosysStub(limits: readonly ArchLimit[]): Instruction[] {
  const asm = new BpfAssembler();
  const x86_64 = limits.find((l) => l.token === AUDIT_ARCH_X86_64);
  const x32 = limits.find((l) => l.token === SCMP_ARCH_X32);
  const others = limits.filter((l) => l !== x86_64 && l !== x32);
  asm.loadAbs(SECCOMP_DATA_ARCH);
  others.forEach((l, i) => asm.jump(BPF_JMP_JEQ_K, l.token, `arch${i}`, 0));
  if (x86_64 !== undefined || x32 !== undefined) asm.jump(BPF_JMP_JEQ_K, AUDIT_ARCH_X86_64, "x86_64", 0);
  asm.goto("filter");
  others.forEach((l, i) => {
    asm.label(`arch${i}`).loadAbs(SECCOMP_DATA_NR).jump(BPF_JMP_JGT_K, l.maxSyscall, "enosys", "filter");
  });
  if (x86_64 !== undefined || x32 !== undefined) {
    // x86_64 and x32 share an audit arch: the x32 bit in nr tells them apart. When only one of
    // the two is in the filter, calls of the other go to libseccomp's bad-arch handling untouched.
    asm.label("x86_64").loadAbs(SECCOMP_DATA_NR).jump(BPF_JMP_JSET_K, X32_SYSCALL_BIT, "x32", 0);
    if (x86_64 !== undefined) asm.jump(BPF_JMP_JGT_K, x86_64.maxSyscall, "enosys", "filter");
    else asm.goto("filter");
    asm.label("x32");
    if (x32 !== undefined) asm.jump(BPF_JMP_JGT_K, x32.maxSyscall, "enosys", "filter");
    else asm.goto("filter");
  }
  asm.label("enosys").ret(retErrno(ENOSYS));
  return asm.assemble({ filter: asm.length });
}
