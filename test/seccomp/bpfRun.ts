// Runs a seccomp BPF program on a syscall, as the kernel's classic-BPF interpreter would, so a test
// can ask a compiled filter what it does with each syscall instead of trusting its rule count.
// Only what seccomp programs use; any other opcode fails the test rather than guessing.
import { decodeBpf, type Instruction } from "../../src/seccomp/bpf";

/** The struct seccomp_data a filter sees. */
export interface SeccompCall {
  nr: number;
  /** AUDIT_ARCH_* token. */
  arch: number;
  args?: readonly bigint[];
}

/** AUDIT_ARCH_X86_64. */
export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const SECCOMP_RET_ALLOW = 0x7fff0000;

/** The 32-bit word at a struct seccomp_data offset (little-endian halves of the u64 fields). */
function loadWord(call: SeccompCall, offset: number): number {
  if (offset === 0) return call.nr >>> 0;
  if (offset === 4) return call.arch >>> 0;
  if (offset >= 16 && offset < 64 && offset % 4 === 0) {
    const arg = call.args?.[Math.floor((offset - 16) / 8)] ?? 0n;
    return Number((offset % 8 === 0 ? arg : arg >> 32n) & 0xffffffffn);
  }
  if (offset === 8 || offset === 12) return 0; // instruction_pointer
  throw new Error(`bpf: load from offset ${offset} of seccomp_data`);
}

/** The filter's return value (SECCOMP_RET_* | data) for one call. */
export function runSeccompBpf(program: Buffer | readonly Instruction[], call: SeccompCall): number {
  const ins = Buffer.isBuffer(program) ? decodeBpf(program) : program;
  let a = 0;
  let x = 0;
  const mem = new Array<number>(16).fill(0);
  for (let pc = 0; pc < ins.length; pc++) {
    const { code, jt, jf, k } = ins[pc]!;
    const jump = (cond: boolean): void => {
      pc += cond ? jt : jf;
    };
    switch (code) {
      case 0x20: a = loadWord(call, k); break; // ld [k]
      case 0x00: a = k >>> 0; break; // ld #k
      case 0x01: x = k >>> 0; break; // ldx #k
      case 0x60: a = mem[k]!; break; // ld M[k]
      case 0x61: x = mem[k]!; break; // ldx M[k]
      case 0x02: mem[k] = a; break; // st M[k]
      case 0x03: mem[k] = x; break; // stx M[k]
      case 0x04: a = (a + k) >>> 0; break; // add #k
      case 0x14: a = (a - k) >>> 0; break; // sub #k
      case 0x44: a = (a | k) >>> 0; break; // or #k
      case 0x54: a = (a & k) >>> 0; break; // and #k
      case 0x64: a = (a << k) >>> 0; break; // lsh #k
      case 0x74: a = a >>> k; break; // rsh #k
      case 0x84: a = -a >>> 0; break; // neg
      case 0x07: x = a; break; // tax
      case 0x87: a = x; break; // txa
      case 0x05: pc += k; break; // ja
      case 0x15: jump(a === k >>> 0); break; // jeq #k
      case 0x25: jump(a > k >>> 0); break; // jgt #k
      case 0x35: jump(a >= k >>> 0); break; // jge #k
      case 0x45: jump((a & k) !== 0); break; // jset #k
      case 0x1d: jump(a === x); break; // jeq x
      case 0x2d: jump(a > x); break; // jgt x
      case 0x3d: jump(a >= x); break; // jge x
      case 0x4d: jump((a & x) !== 0); break; // jset x
      case 0x06: return k >>> 0; // ret #k
      case 0x16: return a; // ret a
      default:
        throw new Error(`bpf: opcode 0x${code.toString(16)} at ${pc} is not one seccomp programs use here`);
    }
  }
  throw new Error("bpf: the program ran off its end without returning");
}
