// A locked-down container: a seccomp allow-list (everything else fails with EPERM), a read-only
// root filesystem with a small tmpfs for scratch files, every capability dropped, user nobody.
import * as pulumi from "@pulumi/pulumi";
import * as hf from "hostform";

const prefix = `${pulumi.getProject()}-${pulumi.getStack()}`;

const rootfs = new hf.BusyboxRootfs("rootfs", { name: `${prefix}-rootfs`, applets: ["sh", "sleep", "date", "echo", "id", "grep", "touch"] });

// What busybox sh, sleep and friends need, and nothing else. execve must be allowed: the filter
// is loaded just before the runtime executes the program.
const allowed = [
  "read", "write", "writev", "open", "openat", "close", "lseek", "fstat", "newfstatat", "stat", "lstat", "statx",
  "access", "faccessat", "faccessat2", "readlink", "readlinkat", "getdents64", "getcwd", "chdir", "fcntl", "ioctl",
  "dup", "dup2", "dup3", "pipe", "pipe2", "poll", "ppoll", "select", "pselect6",
  "mmap", "mprotect", "munmap", "brk", "mremap", "madvise",
  "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "kill", "tgkill", "pause", "restart_syscall",
  "getpid", "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid", "getgroups", "getpgrp", "setpgid", "getpgid", "uname",
  "execve", "exit", "exit_group", "wait4", "waitid", "clone", "clone3", "fork", "vfork",
  "nanosleep", "clock_nanosleep", "clock_gettime", "gettimeofday", "time",
  "utimensat", "rt_sigsuspend", "rt_sigtimedwait",
  "arch_prctl", "set_tid_address", "set_robust_list", "rseq", "prlimit64", "getrandom", "futex", "sched_yield",
];
const profile = new hf.SeccompProfile("allow-list", {
  profile: { defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 1, syscalls: [{ names: allowed, action: "SCMP_ACT_ALLOW" }] },
  // The container holds no capabilities: compile the rules for none.
  caps: [],
});

const locked = new hf.Container("locked", {
  name: `${prefix}-locked`,
  rootfs,
  command: ["/bin/sh", "-c",
    "trap 'exit 0' TERM; while true; do " +
    "echo \"$(date) $(id) $(grep CapEff /proc/self/status) rootfs: $(touch /probe 2>&1 || true)\"; " +
    "sleep 5 & wait; done"],
  user: "nobody",
  readonlyRootfs: true,
  mounts: [{ destination: "/tmp", type: "tmpfs", options: ["nosuid", "nodev", "noexec", "size=1m"] }],
  capabilities: { drop: ["ALL"] },
  seccompProfile: profile,
  limits: { memory: { max: "16Mi" }, pids: { max: 8 } },
  stopTimeout: 3,
});

export const containerId = locked.containerId;
export const seccompDigest = profile.digest;
export const seccompMode = locked.seccompMode;
