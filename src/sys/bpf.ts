// The bpf(2) calls hostform makes for cgroup v2 device filters: load a BPF_PROG_TYPE_CGROUP_DEVICE
// program, attach it to a cgroup directory, list and detach what is attached there, and read a
// program's tag. glibc has no wrapper, so each call fills the kernel's union bpf_attr (uapi
// linux/bpf.h) in a zeroed buffer: the kernel refuses non-zero bytes past the fields it knows.
import { closeSync, constants as fsConstants, openSync } from "node:fs";
import { SYS } from "./constants";
import { SysError } from "./errors";
import { koffi, lastErrno, syscallFunction } from "./ffi";

/** bpf(2) commands (enum bpf_cmd). */
const BPF_PROG_LOAD = 5;
const BPF_PROG_ATTACH = 8;
const BPF_PROG_DETACH = 9;
const BPF_PROG_GET_FD_BY_ID = 13;
const BPF_OBJ_GET_INFO_BY_FD = 15;
const BPF_PROG_QUERY = 16;

export const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
export const BPF_CGROUP_DEVICE = 6;
/** Several programs per cgroup, all of which must allow (runc and systemd attach this way). */
export const BPF_F_ALLOW_MULTI = 2;

/** struct bpf_cgroup_dev_ctx: access_type (type in the low 16 bits, access above), major, minor. */
export const DEV_CTX_ACCESS_TYPE = 0;
export const DEV_CTX_MAJOR = 4;
export const DEV_CTX_MINOR = 8;
export const BPF_DEVCG_DEV_BLOCK = 1;
export const BPF_DEVCG_DEV_CHAR = 2;
export const BPF_DEVCG_ACC_MKNOD = 1;
export const BPF_DEVCG_ACC_READ = 2;
export const BPF_DEVCG_ACC_WRITE = 4;

/** One eBPF instruction: struct bpf_insn {u8 code; u8 dst:4, src:4; s16 off; s32 imm}. */
export interface BpfInsn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

export const BPF_INSN_SIZE = 8;

/** The program's bytes as the kernel reads them (little-endian on every architecture hostform runs on). */
export function encodeInsns(insns: readonly BpfInsn[]): Buffer {
  const out = Buffer.alloc(insns.length * BPF_INSN_SIZE);
  insns.forEach((i, n) => {
    const at = n * BPF_INSN_SIZE;
    out.writeUInt8(i.code, at);
    out.writeUInt8((i.dst & 0xf) | ((i.src & 0xf) << 4), at + 1);
    out.writeInt16LE(i.off, at + 2);
    out.writeInt32LE(i.imm, at + 4);
  });
  return out;
}

/** Runs bpf(cmd, attr); `object` names what it acted on in the SysError. */
function bpf(cmd: number, attr: Buffer, name: string, object: string): number {
  const ret = Number(syscallFunction()(SYS.bpf, "int", cmd, "void *", attr, "unsigned int", attr.length));
  if (ret < 0) throw new SysError(`bpf(${name})`, lastErrno(), object);
  return ret;
}

function address(buf: Buffer): bigint {
  return koffi.address(buf);
}

/** Size of the attr buffers passed: larger than any field used here, zero-filled. */
const ATTR_SIZE = 128;

/** Loads a program; on a verifier refusal the error carries the verifier's log. Returns its fd. */
export function loadProgram(type: number, insns: readonly BpfInsn[], license: string, name: string): number {
  const code = encodeInsns(insns);
  const lic = Buffer.from(`${license}\0`);
  const log = Buffer.alloc(64 * 1024);
  const attr = Buffer.alloc(ATTR_SIZE);
  attr.writeUInt32LE(type, 0);
  attr.writeUInt32LE(insns.length, 4);
  attr.writeBigUInt64LE(address(code), 8);
  attr.writeBigUInt64LE(address(lic), 16);
  attr.writeUInt32LE(1, 24); // log_level
  attr.writeUInt32LE(log.length, 28);
  attr.writeBigUInt64LE(address(log), 32);
  attr.write(name.slice(0, 15), 48, "latin1"); // prog_name, NUL-terminated by the zeroed buffer
  try {
    return bpf(BPF_PROG_LOAD, attr, "BPF_PROG_LOAD", `program ${name}`);
  } catch (err) {
    const text = log.subarray(0, Math.max(0, log.indexOf(0))).toString("utf8").trim();
    throw text === "" || !(err instanceof SysError) ? err : err.withContext(`the verifier refused program ${name}: ${text.split("\n").slice(-3).join(" | ")}`);
  } finally {
    // attr holds only their addresses: keep the buffers referenced until the call has returned, or a
    // collection between address() and the call could free what the kernel is about to read.
    void code.length, void lic.length;
  }
}

/** Opens a cgroup directory for attach/detach/query (O_RDONLY | O_DIRECTORY). */
export function openCgroupDir(dir: string): number {
  try {
    return openSync(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
  } catch (err) {
    throw SysError.fromNode(err);
  }
}

function attachAttr(cgroupFd: number, progFd: number, attachType: number, flags: number): Buffer {
  const attr = Buffer.alloc(ATTR_SIZE);
  attr.writeUInt32LE(cgroupFd, 0);
  attr.writeUInt32LE(progFd, 4);
  attr.writeUInt32LE(attachType, 8);
  attr.writeUInt32LE(flags, 12);
  return attr;
}

/** Attaches a loaded program to the cgroup open at cgroupFd (named `dir` in errors). */
export function attachProgram(cgroupFd: number, progFd: number, attachType: number, flags: number, dir: string): void {
  bpf(BPF_PROG_ATTACH, attachAttr(cgroupFd, progFd, attachType, flags), "BPF_PROG_ATTACH", dir);
}

/** Detaches one program (by its fd) from the cgroup open at cgroupFd. */
export function detachProgram(cgroupFd: number, progFd: number, attachType: number, dir: string): void {
  bpf(BPF_PROG_DETACH, attachAttr(cgroupFd, progFd, attachType, 0), "BPF_PROG_DETACH", dir);
}

/** Ids of the programs attached directly to the cgroup (not inherited from its parents). */
export function queryPrograms(cgroupFd: number, attachType: number, dir: string): number[] {
  for (let room = 64; ; room *= 4) {
    const ids = Buffer.alloc(room * 4);
    const attr = Buffer.alloc(ATTR_SIZE);
    attr.writeUInt32LE(cgroupFd, 0);
    attr.writeUInt32LE(attachType, 4);
    attr.writeBigUInt64LE(address(ids), 16);
    attr.writeUInt32LE(room, 24);
    try {
      bpf(BPF_PROG_QUERY, attr, "BPF_PROG_QUERY", dir);
    } catch (err) {
      // ENOSPC: more programs than room; prog_cnt now says how many.
      if (err instanceof SysError && err.code === "ENOSPC" && room < 65536) continue;
      throw err;
    }
    const count = attr.readUInt32LE(24);
    return Array.from({ length: count }, (_, n) => ids.readUInt32LE(n * 4));
  }
}

/** An fd of the program with this id (closed by the caller). */
export function programFdById(id: number): number {
  const attr = Buffer.alloc(ATTR_SIZE);
  attr.writeUInt32LE(id, 0);
  return bpf(BPF_PROG_GET_FD_BY_ID, attr, "BPF_PROG_GET_FD_BY_ID", `program id ${id}`);
}

/** What the kernel says about a loaded program. */
export interface ProgramInfo {
  type: number;
  id: number;
  /** The kernel's digest of the instructions as loaded, 16 hex digits. */
  tag: string;
  name: string;
}

/** struct bpf_prog_info up to and including name[16]. */
const PROG_INFO_SIZE = 80;

export function programInfo(progFd: number): ProgramInfo {
  const info = Buffer.alloc(PROG_INFO_SIZE);
  const attr = Buffer.alloc(ATTR_SIZE);
  attr.writeUInt32LE(progFd, 0);
  attr.writeUInt32LE(info.length, 4);
  attr.writeBigUInt64LE(address(info), 8);
  bpf(BPF_OBJ_GET_INFO_BY_FD, attr, "BPF_OBJ_GET_INFO_BY_FD", `program fd ${progFd}`);
  const name = info.subarray(64, 80);
  return {
    type: info.readUInt32LE(0),
    id: info.readUInt32LE(4),
    tag: info.subarray(8, 16).toString("hex"),
    name: name.subarray(0, name.indexOf(0) < 0 ? 16 : name.indexOf(0)).toString("latin1"),
  };
}

/** Runs fn with an fd that is closed afterwards, whatever fn does. */
export function withFd<T>(fd: number, fn: (fd: number) => T): T {
  try {
    return fn(fd);
  } finally {
    closeSync(fd);
  }
}
