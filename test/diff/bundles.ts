// The config.json bundles both runtimes run: `runc spec`'s default, adjusted identically for both
// (no terminal, our args and hostname, no /sys/fs/cgroup mount, which hostform does not support
// yet), and one variant per feature the differential test compares.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A parsed config.json; the tests edit it as plain JSON, as a user would. */
export type OciConfig = {
  process: {
    terminal?: boolean;
    user: { uid: number; gid: number; additionalGids?: number[] };
    args: string[];
    env?: string[];
    capabilities?: Record<string, string[]>;
    rlimits?: Array<{ type: string; soft: number; hard: number }>;
    noNewPrivileges?: boolean;
  };
  root: { path: string; readonly?: boolean };
  hostname?: string;
  mounts?: Array<{ destination: string; type?: string; source?: string; options?: string[] }>;
  linux: {
    namespaces: Array<{ type: string }>;
    resources?: { memory?: { limit?: number }; pids?: { limit?: number }; devices?: unknown[] };
    seccomp?: Record<string, unknown>;
    cgroupsPath?: string;
    maskedPaths?: string[];
    readonlyPaths?: string[];
  };
} & Record<string, unknown>;

/** runc's own default config.json (`runc spec`), read once. */
export function runcDefaultConfig(prefix: string): OciConfig {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-spec-`));
  try {
    execFileSync("runc", ["spec", "--bundle", dir]);
    return JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as OciConfig;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What the container prints: its credentials and security state, hostname, limits, mount table and
 * two probes (a mkdir, denied by the allow-list bundle; a write to /, denied by a read-only root).
 * It then execs a sleep so the host can read the container's cgroup while it runs.
 */
export const REPORT_SCRIPT = [
  "echo ==status",
  "grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp|Seccomp_filters|Uid|Gid|Groups):' /proc/self/status",
  "echo ==hostname", "hostname",
  "echo ==limits", "cat /proc/self/limits",
  "echo ==mounts", "cat /proc/self/mountinfo",
  "echo ==probes", "mkdir /tmp/probe-dir 2>&1; echo mkdir=$?", "touch /probe-file 2>&1; echo touch=$?",
  "echo ==end", "exec sleep 600",
].join("\n");

/** Syscalls busybox sh/cat/grep/mkdir/touch/sleep and runc's Go init (between its seccomp load and execve) need; mkdir and mkdirat are left out on purpose. */
export const ALLOWED_SYSCALLS = [
  "access", "arch_prctl", "brk", "capget", "capset", "chdir", "clock_gettime", "clock_nanosleep", "clone", "clone3", "close",
  "close_range", "dup", "dup2", "dup3", "epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_wait", "eventfd2", "execve",
  "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fchdir", "fcntl", "fork", "fstat", "fstatfs", "futex", "getcwd",
  "getdents64", "getegid", "geteuid", "getgid", "getgroups", "getpgrp", "getpid", "getppid", "getrandom", "getrlimit", "gettid",
  "getuid", "ioctl", "kill", "lseek", "lstat", "madvise", "mmap", "mprotect", "munmap", "nanosleep", "newfstatat", "open",
  "openat", "pipe", "pipe2", "poll", "ppoll", "prctl", "pread64", "prlimit64", "read", "readlink", "readlinkat", "rt_sigaction",
  "rt_sigprocmask", "rt_sigreturn", "sched_getaffinity", "sched_yield", "set_robust_list", "set_tid_address", "setgid",
  "setgroups", "setpgid", "setresgid", "setresuid", "setuid", "sigaltstack", "stat", "statx", "tgkill", "time", "uname",
  "utimensat", "vfork", "wait4", "waitid", "write", "writev",
];

/** The bundles compared, each a change of runc's default config. */
export function variants(base: OciConfig, hostDir: string): Array<{ name: string; config: OciConfig }> {
  const clone = (): OciConfig => structuredClone(base);
  const out: Array<{ name: string; config: OciConfig }> = [];

  out.push({ name: "default", config: clone() });

  const ro = clone();
  ro.root.readonly = true;
  out.push({ name: "read-only root", config: ro });

  const caps = clone();
  caps.process.capabilities = {
    bounding: ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_KILL", "CAP_NET_RAW", "CAP_SYS_CHROOT"],
    effective: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"],
    permitted: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"],
    inheritable: ["CAP_NET_RAW"],
    ambient: ["CAP_NET_RAW"],
  };
  out.push({ name: "custom capabilities", config: caps });

  const rl = clone();
  rl.process.rlimits = [
    { type: "RLIMIT_NOFILE", soft: 256, hard: 512 },
    { type: "RLIMIT_NPROC", soft: 100, hard: 200 },
    { type: "RLIMIT_CORE", soft: 0, hard: 0 },
    { type: "RLIMIT_MEMLOCK", soft: 65536, hard: 65536 },
  ];
  out.push({ name: "rlimits", config: rl });

  const sc = clone();
  sc.linux.seccomp = {
    defaultAction: "SCMP_ACT_ERRNO",
    architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    syscalls: [{ names: ALLOWED_SYSCALLS, action: "SCMP_ACT_ALLOW" }],
  };
  out.push({ name: "seccomp allow-list", config: sc });

  const user = clone();
  user.process.user = { uid: 1000, gid: 1000, additionalGids: [10, 100] };
  // A non-root user keeps a capability only through the ambient set (inheritable and permitted too).
  user.process.capabilities = { ...user.process.capabilities, inheritable: ["CAP_NET_BIND_SERVICE"], ambient: ["CAP_NET_BIND_SERVICE"] };
  out.push({ name: "user 1000", config: user });

  const mounts = clone();
  mounts.mounts = [
    ...(mounts.mounts ?? []),
    { destination: "/data", type: "bind", source: hostDir, options: ["rbind", "ro", "nosuid", "nodev"] },
    { destination: "/scratch", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "noexec", "size=1m", "mode=1777"] },
  ];
  out.push({ name: "extra bind and tmpfs mounts", config: mounts });

  const cg = clone();
  cg.linux.resources = { ...(cg.linux.resources ?? {}), memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 50 } };
  out.push({ name: "cgroup limits", config: cg });

  return out;
}

/** runc's default adjusted for a non-interactive run of REPORT_SCRIPT; identical for both runtimes. */
export function adjustDefault(config: OciConfig, hostname: string): OciConfig {
  const c = structuredClone(config);
  c.process.terminal = false;
  c.process.args = ["sh", "-c", REPORT_SCRIPT];
  c.process.env = (c.process.env ?? []).filter((e) => !e.startsWith("TERM="));
  c.hostname = hostname;
  c.root.readonly = false;
  // runc's default lists ambient capabilities but no inheritable ones; the kernel refuses to raise an
  // ambient capability that is not inheritable (EPERM), so both runtimes skip them (hostform with a
  // warning). "runc's own default capabilities" in diff.test.ts runs the list as runc gives it.
  if (c.process.capabilities !== undefined) delete c.process.capabilities.ambient;
  // runc's cgroup mount at /sys/fs/cgroup stays: both bind the container's own cgroup of each
  // hierarchy there (runc's default has no cgroup namespace), and the mount shapes are compared.
  return c;
}
