// A tiny static x86-64 executable that makes ONE raw syscall with fixed integer arguments and exits
// with the errno it got (0 on success). The rootfs has no compiler and busybox has no applet for
// some syscalls (socket(AF_ALG), socket(AF_VSOCK), ptrace); this lets an escape attempt assert the
// exact errno the kernel or the seccomp filter returned, not an applet's paraphrase of it.
import { chmodSync, writeFileSync } from "node:fs";

/** x86-64 syscall numbers the probes use. */
export const NR = {
  kill: 62, ptrace: 101, socket: 41, unshare: 272, clone: 56, mount: 165, init_module: 175, finit_module: 313,
  sethostname: 170, setns: 308, open_by_handle_at: 304, keyctl: 250, bpf: 321, perf_event_open: 298,
} as const;

const LOAD_ADDR = 0x400000n;
const EHDR_SIZE = 64;
const PHDR_SIZE = 56;

function u64(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, v));
  return b;
}

/** Machine code: load nr and six args, syscall, exit_group(rax < 0 ? -rax : 0). */
function code(nr: number, args: readonly bigint[]): Buffer {
  const a = [...args, 0n, 0n, 0n, 0n, 0n, 0n].slice(0, 6);
  const movNr = Buffer.from([0x48, 0xc7, 0xc0, 0, 0, 0, 0]); // mov rax, imm32
  movNr.writeInt32LE(nr, 3);
  // movabs into rdi, rsi, rdx, r10, r8, r9 (the syscall argument registers, in order).
  const regs = [[0x48, 0xbf], [0x48, 0xbe], [0x48, 0xba], [0x49, 0xba], [0x49, 0xb8], [0x49, 0xb9]];
  const loads = regs.map((r, i) => Buffer.concat([Buffer.from(r), u64(a[i]!)]));
  const tail = Buffer.from([
    0x0f, 0x05, // syscall
    0x48, 0x89, 0xc7, // mov rdi, rax
    0x48, 0xf7, 0xdf, // neg rdi
    0x48, 0x85, 0xc0, // test rax, rax
    0x79, 0x02, // jns +2 (success: exit 0)
    0xeb, 0x02, // jmp +2 (failure: exit with errno)
    0x31, 0xff, // xor edi, edi
    0xb8, 0xe7, 0x00, 0x00, 0x00, // mov eax, 231 (exit_group)
    0x0f, 0x05, // syscall
  ]);
  return Buffer.concat([movNr, ...loads, tail]);
}

/** A complete ELF64 executable (one PT_LOAD segment, no sections) for the probe. */
export function probeElf(nr: number, args: readonly (bigint | number)[] = []): Buffer {
  const text = code(nr, args.map((x) => BigInt(x)));
  const size = BigInt(EHDR_SIZE + PHDR_SIZE + text.length);
  const ehdr = Buffer.alloc(EHDR_SIZE);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]).copy(ehdr, 0); // ELF, 64-bit, little endian, SysV
  ehdr.writeUInt16LE(2, 16); // ET_EXEC
  ehdr.writeUInt16LE(62, 18); // EM_X86_64
  ehdr.writeUInt32LE(1, 20); // EV_CURRENT
  ehdr.writeBigUInt64LE(LOAD_ADDR + BigInt(EHDR_SIZE + PHDR_SIZE), 24); // e_entry
  ehdr.writeBigUInt64LE(BigInt(EHDR_SIZE), 32); // e_phoff
  ehdr.writeUInt16LE(EHDR_SIZE, 52);
  ehdr.writeUInt16LE(PHDR_SIZE, 54);
  ehdr.writeUInt16LE(1, 56); // e_phnum
  const phdr = Buffer.alloc(PHDR_SIZE);
  phdr.writeUInt32LE(1, 0); // PT_LOAD
  phdr.writeUInt32LE(5, 4); // PF_R | PF_X
  phdr.writeBigUInt64LE(LOAD_ADDR, 16); // p_vaddr
  phdr.writeBigUInt64LE(LOAD_ADDR, 24); // p_paddr
  phdr.writeBigUInt64LE(size, 32); // p_filesz
  phdr.writeBigUInt64LE(size, 40); // p_memsz
  phdr.writeBigUInt64LE(0x1000n, 48); // p_align
  return Buffer.concat([ehdr, phdr, text]);
}

/** Writes the probe as an executable file (mode 0755). */
export function writeProbe(path: string, nr: number, args: readonly (bigint | number)[] = []): void {
  writeFileSync(path, probeElf(nr, args));
  chmodSync(path, 0o755);
}
