// The cgroup v2 device filter: a BPF_PROG_TYPE_CGROUP_DEVICE program that answers each device access
// with the policy's verdict. It loads the access type, major and minor from struct bpf_cgroup_dev_ctx,
// then tests the exceptions one block each; an exception that matches returns the opposite of the
// default, and falling off the last block returns the default. Every exception carries the same
// verdict (the policy has already merged the ordered rules), so the order of the blocks does not
// change the answer: it is the answer the v1 devices controller gives for the same rules.
import {
  BPF_DEVCG_ACC_MKNOD, BPF_DEVCG_ACC_READ, BPF_DEVCG_ACC_WRITE, BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_DEV_CHAR,
  DEV_CTX_ACCESS_TYPE, DEV_CTX_MAJOR, DEV_CTX_MINOR, type BpfInsn,
} from "../../sys/bpf";
import { UnsupportedError } from "../../sys/errors";
import { parseException, type DevicePolicy } from "../devicePolicy";

// Registers: R1 holds the context on entry; the filter keeps type in R2, access in R3, major in R4,
// minor in R5, and uses R1 as scratch once the context has been read. R0 is the verdict.
const R0 = 0;
const R1 = 1;
const R2 = 2;
const R3 = 3;
const R4 = 4;
const R5 = 5;

// Opcodes (uapi linux/bpf.h, bpf_common.h): class | op | source.
const LDX_MEM_W = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU32_AND_K = 0x54; // BPF_ALU | BPF_AND | BPF_K
const ALU32_RSH_K = 0x74; // BPF_ALU | BPF_RSH | BPF_K
const ALU32_MOV_K = 0xb4; // BPF_ALU | BPF_MOV | BPF_K
const ALU32_MOV_X = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
const JMP_JNE_K = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const JMP_JNE_X = 0x5d; // BPF_JMP | BPF_JNE | BPF_X
const JMP_EXIT = 0x95; // BPF_JMP | BPF_EXIT

function insn(code: number, dst: number, src: number, off: number, imm: number): BpfInsn {
  return { code, dst, src, off, imm };
}

const ACCESS_BITS: Record<string, number> = { r: BPF_DEVCG_ACC_READ, w: BPF_DEVCG_ACC_WRITE, m: BPF_DEVCG_ACC_MKNOD };
const ALL_ACCESS = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;

/** Reads the context into R2..R5. */
const PROLOGUE: readonly BpfInsn[] = [
  insn(LDX_MEM_W, R2, R1, DEV_CTX_ACCESS_TYPE, 0),
  insn(ALU32_AND_K, R2, 0, 0, 0xffff),
  insn(LDX_MEM_W, R3, R1, DEV_CTX_ACCESS_TYPE, 0),
  insn(ALU32_RSH_K, R3, 0, 0, 16),
  insn(LDX_MEM_W, R4, R1, DEV_CTX_MAJOR, 0),
  insn(LDX_MEM_W, R5, R1, DEV_CTX_MINOR, 0),
];

function ret(verdict: boolean): BpfInsn[] {
  return [insn(ALU32_MOV_K, R0, 0, 0, verdict ? 1 : 0), insn(JMP_EXIT, 0, 0, 0, 0)];
}

/** One exception's block: every test jumps past the block when it fails. */
function exceptionBlock(line: string, verdict: boolean): BpfInsn[] {
  const e = parseException(line, "device policy");
  if (e === undefined) throw new UnsupportedError(`device policy: "${line}" cannot be an exception`);
  // Each test ends in a jump past the rest of the block (skip instructions) when the request fails it.
  const tests: Array<(skip: number) => BpfInsn[]> = [];
  tests.push((skip) => [insn(JMP_JNE_K, R2, 0, skip, e.type === "b" ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR)]);
  const bits = [...e.access].reduce((m, ch) => m | (ACCESS_BITS[ch] ?? 0), 0);
  // The request matches only if every access it asks for is among the exception's.
  if (bits !== ALL_ACCESS) tests.push((skip) => [insn(ALU32_MOV_X, R1, R3, 0, 0), insn(ALU32_AND_K, R1, 0, 0, bits), insn(JMP_JNE_X, R1, R3, skip, 0)]);
  if (e.major >= 0) tests.push((skip) => [insn(JMP_JNE_K, R4, 0, skip, e.major)]);
  if (e.minor >= 0) tests.push((skip) => [insn(JMP_JNE_K, R5, 0, skip, e.minor)]);
  // Built back to front: a test's jump skips everything after it in the block.
  let tail: BpfInsn[] = ret(verdict);
  for (const t of tests.reverse()) tail = [...t(tail.length), ...tail];
  return tail;
}

/** The filter enforcing `policy` (default "allow" or "deny"). */
export function deviceProgram(policy: DevicePolicy): BpfInsn[] {
  if (policy.default === "unknown") throw new UnsupportedError("device policy: an unknown default cannot be enforced");
  const defaultAllow = policy.default === "allow";
  return [...PROLOGUE, ...policy.exceptions.flatMap((line) => exceptionBlock(line, !defaultAllow)), ...ret(defaultAllow)];
}
