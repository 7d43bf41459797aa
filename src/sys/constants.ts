// Linux ABI numbers hostform needs. Values from the kernel's uapi headers; they are the same on
// x86_64 and aarch64 except the syscall numbers, which differ per architecture.

export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;
export const CLONE_NEWTIME = 0x00000080;
/** unshare(CLONE_FS): a thread of its own root, cwd and umask (setns into a mount namespace needs it). */
export const CLONE_FS = 0x00000200;

export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_NOEXEC = 0x8;
export const MS_SYNCHRONOUS = 0x10;
export const MS_REMOUNT = 0x20;
export const MS_MANDLOCK = 0x40;
export const MS_DIRSYNC = 0x80;
export const MS_NOSYMFOLLOW = 0x100;
export const MS_NOATIME = 0x400;
export const MS_NODIRATIME = 0x800;
export const MS_BIND = 0x1000;
export const MS_MOVE = 0x2000;
export const MS_REC = 0x4000;
export const MS_SILENT = 0x8000;
export const MS_UNBINDABLE = 0x20000;
export const MS_PRIVATE = 0x40000;
export const MS_SLAVE = 0x80000;
export const MS_SHARED = 0x100000;
export const MS_RELATIME = 0x200000;
export const MS_STRICTATIME = 0x1000000;

export const MNT_FORCE = 0x1;
export const MNT_DETACH = 0x2;
export const MNT_EXPIRE = 0x4;
export const UMOUNT_NOFOLLOW = 0x8;

export const PR_SET_PDEATHSIG = 1;
export const PR_GET_DUMPABLE = 3;
export const PR_SET_DUMPABLE = 4;
export const PR_SET_KEEPCAPS = 8;
export const PR_SET_NAME = 15;
export const PR_GET_SECCOMP = 21;
export const PR_CAPBSET_READ = 23;
export const PR_CAPBSET_DROP = 24;
export const PR_SET_CHILD_SUBREAPER = 36;
export const PR_SET_NO_NEW_PRIVS = 38;
export const PR_GET_NO_NEW_PRIVS = 39;
export const PR_CAP_AMBIENT = 47;
export const PR_CAP_AMBIENT_RAISE = 2;
export const PR_CAP_AMBIENT_CLEAR_ALL = 4;

export const CLOSE_RANGE_CLOEXEC = 1 << 2;
export const MFD_CLOEXEC = 0x1;
export const MFD_ALLOW_SEALING = 0x2;

export const LINUX_CAPABILITY_VERSION_3 = 0x20080522;

/** Resource numbers for prlimit(2), keyed by the OCI/rlimit names. */
export const RLIMITS: Readonly<Record<string, number>> = {
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
};

/** Capability numbers, keyed by their CAP_* names (include/uapi/linux/capability.h). */
export const CAPABILITIES: Readonly<Record<string, number>> = {
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_DAC_READ_SEARCH: 2,
  CAP_FOWNER: 3,
  CAP_FSETID: 4,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_SETPCAP: 8,
  CAP_LINUX_IMMUTABLE: 9,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_BROADCAST: 11,
  CAP_NET_ADMIN: 12,
  CAP_NET_RAW: 13,
  CAP_IPC_LOCK: 14,
  CAP_IPC_OWNER: 15,
  CAP_SYS_MODULE: 16,
  CAP_SYS_RAWIO: 17,
  CAP_SYS_CHROOT: 18,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_PACCT: 20,
  CAP_SYS_ADMIN: 21,
  CAP_SYS_BOOT: 22,
  CAP_SYS_NICE: 23,
  CAP_SYS_RESOURCE: 24,
  CAP_SYS_TIME: 25,
  CAP_SYS_TTY_CONFIG: 26,
  CAP_MKNOD: 27,
  CAP_LEASE: 28,
  CAP_AUDIT_WRITE: 29,
  CAP_AUDIT_CONTROL: 30,
  CAP_SETFCAP: 31,
  CAP_MAC_OVERRIDE: 32,
  CAP_MAC_ADMIN: 33,
  CAP_SYSLOG: 34,
  CAP_WAKE_ALARM: 35,
  CAP_BLOCK_SUSPEND: 36,
  CAP_AUDIT_READ: 37,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
  CAP_CHECKPOINT_RESTORE: 40,
};

/** Docker's default capability set (moby oci/caps/defaults.go), used when a container says nothing. */
export const DOCKER_DEFAULT_CAPABILITIES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

interface SyscallNumbers {
  pivot_root: number;
  setresuid: number;
  setresgid: number;
  setgroups: number;
  capget: number;
  capset: number;
  clone3: number;
  pidfd_open: number;
  pidfd_send_signal: number;
  pidfd_getfd: number;
  gettid: number;
  bpf: number;
  open_tree: number;
  move_mount: number;
  fsopen: number;
  fsconfig: number;
  fsmount: number;
  mount_setattr: number;
}

const X86_64: SyscallNumbers = {
  pivot_root: 155,
  setresuid: 117,
  setresgid: 119,
  setgroups: 116,
  capget: 125,
  capset: 126,
  clone3: 435,
  pidfd_open: 434,
  pidfd_send_signal: 424,
  pidfd_getfd: 438,
  gettid: 186,
  bpf: 321,
  open_tree: 428,
  move_mount: 429,
  fsopen: 430,
  fsconfig: 431,
  fsmount: 432,
  mount_setattr: 442,
};

// aarch64 uses the generic (asm-generic/unistd.h) table.
const AARCH64: SyscallNumbers = {
  pivot_root: 41,
  setresuid: 147,
  setresgid: 149,
  setgroups: 159,
  capget: 90,
  capset: 91,
  clone3: 435,
  pidfd_open: 434,
  pidfd_send_signal: 424,
  pidfd_getfd: 438,
  gettid: 178,
  bpf: 280,
  open_tree: 428,
  move_mount: 429,
  fsopen: 430,
  fsconfig: 431,
  fsmount: 432,
  mount_setattr: 442,
};

export const SYS: SyscallNumbers = process.arch === "arm64" ? AARCH64 : X86_64;

// mount_setattr(2) flags (struct mount_attr attr_set / attr_clr).
export const MOUNT_ATTR_RDONLY = 0x1;
export const MOUNT_ATTR_NOSUID = 0x2;
export const MOUNT_ATTR_NODEV = 0x4;
export const MOUNT_ATTR_NOEXEC = 0x8;
/** The atime field: the values below, cleared together through MOUNT_ATTR__ATIME. */
export const MOUNT_ATTR__ATIME = 0x70;
export const MOUNT_ATTR_RELATIME = 0x0;
export const MOUNT_ATTR_NOATIME = 0x10;
export const MOUNT_ATTR_STRICTATIME = 0x20;
export const MOUNT_ATTR_NODIRATIME = 0x80;
export const MOUNT_ATTR_NOSYMFOLLOW = 0x200000;
