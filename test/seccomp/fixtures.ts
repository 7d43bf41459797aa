// Shared inputs of the seccomp tests: where Docker's profile lives and an allow-list profile.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { SeccompProfileInput } from "../../src/seccomp/profile";

/** The repository root: tests run from a compiled dir (dist/ or .build-*), so walk up to package.json. */
export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "hostform") return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no hostform package.json above ${__dirname}`);
    dir = up;
  }
}

/** The repository's built-in copy of Docker's default profile. */
export const builtinDockerProfilePath = (): string => join(repoRoot(), "src", "seccomp", "profiles", "docker-default.json");

export const PYTHON = "/usr/bin/python3";

/**
 * A python3 program that makes raw syscalls given as "nr:arg,arg,..." and prints
 * "nr ret errno" per call; numbers are passed as unsigned long so 0xffffffff stays intact.
 */
export const PY_SYSCALLS = `import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
for spec in sys.argv[1:]:
    nr, _, rest = spec.partition(":")
    args = [ctypes.c_ulong(int(a, 0)) for a in rest.split(",") if a]
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(int(nr)), *args)
    print(spec, r, ctypes.get_errno() if r < 0 else 0)
`;

/** Parses PY_SYSCALLS output into spec -> errno (0 on success). */
export function errnosOf(stdout: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of stdout.trim().split("\n")) {
    const [spec, , errno] = line.split(" ");
    out[spec!] = Number(errno);
  }
  return out;
}

/**
 * An allow-list: everything Docker allows unconditionally (so python3 and the worker's fork
 * run), minus socket and personality, which get argument-checked rules of their own.
 */
export function allowListProfile(): SeccompProfileInput {
  const docker = JSON.parse(readFileSync(builtinDockerProfilePath(), "utf8")) as { syscalls: { names: string[] }[] };
  const base = docker.syscalls[0]!.names.filter((n) => n !== "socket" && n !== "personality");
  return {
    defaultAction: "SCMP_ACT_ERRNO",
    defaultErrnoRet: 1,
    architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    syscalls: [
      { names: [...base, "clone", "arch_prctl"], action: "SCMP_ACT_ALLOW" },
      // AF_UNIX sockets work; AF_INET ones fail with EAFNOSUPPORT.
      { names: ["socket"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" }] },
      { names: ["socket"], action: "SCMP_ACT_ERRNO", errnoRet: 97, args: [{ index: 0, value: 2, op: "SCMP_CMP_EQ" }] },
      // AF_INET6 raw sockets fail with EACCES whatever SOCK_* flags are or-ed into the type.
      {
        names: ["socket"],
        action: "SCMP_ACT_ERRNO",
        errnoRet: 13,
        args: [
          { index: 0, value: 10, op: "SCMP_CMP_EQ" },
          { index: 1, value: 0xf, valueTwo: 3, op: "SCMP_CMP_MASKED_EQ" },
        ],
      },
      // Two conditions on one argument: compiled as two rules, either value passes.
      {
        names: ["personality"],
        action: "SCMP_ACT_ALLOW",
        args: [
          { index: 0, value: 0, op: "SCMP_CMP_EQ" },
          { index: 0, value: 0xffffffff, op: "SCMP_CMP_EQ" },
        ],
      },
      // Same action as the default: must be skipped, not compiled.
      { names: ["kexec_load"], action: "SCMP_ACT_ERRNO", errnoRet: 1 },
    ],
  };
}
