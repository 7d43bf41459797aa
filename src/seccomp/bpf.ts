// Classic BPF as seccomp runs it: struct sock_filter {u16 code; u8 jt; u8 jf; u32 k}, 8 bytes,
// host byte order. A tiny assembler with forward labels is enough for the stubs hostform writes.
import { endianness } from "node:os";

export const BPF_INSTRUCTION_SIZE = 8;

// Opcodes (linux/bpf_common.h): class | size | mode, class | op | src.
export const BPF_LD_W_ABS = 0x20; // BPF_LD | BPF_W | BPF_ABS
export const BPF_JMP_JA = 0x05; // BPF_JMP | BPF_JA
export const BPF_JMP_JEQ_K = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
export const BPF_JMP_JGT_K = 0x25; // BPF_JMP | BPF_JGT | BPF_K
export const BPF_JMP_JGE_K = 0x35; // BPF_JMP | BPF_JGE | BPF_K
export const BPF_JMP_JSET_K = 0x45; // BPF_JMP | BPF_JSET | BPF_K
export const BPF_RET_K = 0x06; // BPF_RET | BPF_K

/** Offsets into struct seccomp_data. */
export const SECCOMP_DATA_NR = 0;
export const SECCOMP_DATA_ARCH = 4;

/** SECCOMP_RET_ERRNO | errno: the syscall fails with that errno without running. */
export function retErrno(errno: number): number {
  return (0x00050000 | (errno & 0xffff)) >>> 0;
}

export interface Instruction {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

type Target = string | number;

interface Pending {
  code: number;
  k: number;
  jt?: Target;
  jf?: Target;
  /** For BPF_JA: the label k jumps to. */
  ja?: Target;
}

/**
 * Builds a program from instructions whose jumps name labels. A label may be defined after use;
 * a label never defined is an error unless assemble(externals) gives its offset, which may lie
 * past the program, e.g. the start of the program appended after it.
 */
export class BpfAssembler {
  private readonly items: Pending[] = [];
  private readonly labels = new Map<string, number>();

  label(name: string): this {
    if (this.labels.has(name)) throw new Error(`bpf: label ${name} defined twice`);
    this.labels.set(name, this.items.length);
    return this;
  }

  loadAbs(offset: number): this {
    this.items.push({ code: BPF_LD_W_ABS, k: offset });
    return this;
  }

  /** Conditional jump: code is one of BPF_JMP_J*_K; targets are labels or a relative skip count. */
  jump(code: number, k: number, jt: Target, jf: Target): this {
    this.items.push({ code, k: k >>> 0, jt, jf });
    return this;
  }

  goto(target: Target): this {
    this.items.push({ code: BPF_JMP_JA, k: 0, ja: target });
    return this;
  }

  ret(k: number): this {
    this.items.push({ code: BPF_RET_K, k: k >>> 0 });
    return this;
  }

  get length(): number {
    return this.items.length;
  }

  /** Resolves labels; `externals` maps labels to instruction offsets (may be >= length). */
  assemble(externals: Record<string, number> = {}): Instruction[] {
    const where = (t: Target, at: number, maxOffset: number): number => {
      let dest: number;
      if (typeof t === "number") dest = at + 1 + t;
      else {
        const pos = this.labels.get(t) ?? externals[t];
        if (pos === undefined) throw new Error(`bpf: undefined label ${t}`);
        dest = pos;
      }
      const off = dest - (at + 1);
      // Classic BPF only jumps forward, which is also what guarantees seccomp filters terminate.
      if (off < 0 || off > maxOffset) throw new Error(`bpf: jump from ${at} to ${String(t)} out of range`);
      return off;
    };
    return this.items.map((it, at) => {
      if (it.ja !== undefined) return { code: it.code, jt: 0, jf: 0, k: where(it.ja, at, 0xffffffff) };
      if (it.jt !== undefined && it.jf !== undefined) return { code: it.code, jt: where(it.jt, at, 0xff), jf: where(it.jf, at, 0xff), k: it.k };
      return { code: it.code, jt: 0, jf: 0, k: it.k };
    });
  }
}

/** Encodes instructions as struct sock_filter bytes in host byte order. */
export function encodeBpf(program: readonly Instruction[]): Buffer {
  const buf = Buffer.alloc(program.length * BPF_INSTRUCTION_SIZE);
  const le = endianness() === "LE";
  program.forEach((ins, i) => {
    const o = i * BPF_INSTRUCTION_SIZE;
    if (le) {
      buf.writeUInt16LE(ins.code, o);
      buf.writeUInt32LE(ins.k, o + 4);
    } else {
      buf.writeUInt16BE(ins.code, o);
      buf.writeUInt32BE(ins.k, o + 4);
    }
    buf.writeUInt8(ins.jt, o + 2);
    buf.writeUInt8(ins.jf, o + 3);
  });
  return buf;
}

/** Decodes struct sock_filter bytes (host byte order). */
export function decodeBpf(bytes: Buffer): Instruction[] {
  if (bytes.length % BPF_INSTRUCTION_SIZE !== 0) throw new Error(`bpf: ${bytes.length} bytes is not a whole number of instructions`);
  const le = endianness() === "LE";
  const out: Instruction[] = [];
  for (let o = 0; o < bytes.length; o += BPF_INSTRUCTION_SIZE) {
    out.push({
      code: le ? bytes.readUInt16LE(o) : bytes.readUInt16BE(o),
      jt: bytes.readUInt8(o + 2),
      jf: bytes.readUInt8(o + 3),
      k: le ? bytes.readUInt32LE(o + 4) : bytes.readUInt32BE(o + 4),
    });
  }
  return out;
}
