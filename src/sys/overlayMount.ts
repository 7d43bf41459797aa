// An overlayfs mount: read-only lower directories (topmost first) under one writable upper. mount(2)
// takes the whole description as one option string, which the kernel cuts at a page, and whose ':'
// and ',' separators cannot be escaped in every kernel: about 40 layers of ~100-character paths fit.
// The new mount API (fsopen, fsconfig "lowerdir+" one layer at a time, fsmount, move_mount; kernel
// 6.8) has neither limit, so a description that does not fit mount(2) goes through it instead. The
// short case stays on mount(2), which every kernel hostform supports has.
import { closeSync } from "node:fs";
import { checkCall, syscallFunction as syscall } from "./ffi";
import { SysError, ValidationError } from "./errors";
import { SYS } from "./constants";
import * as sys from "./libc";
import { readMountinfo } from "./mountinfo";

/** overlayfs refuses more lower layers than this (fs/overlayfs/params.c, OVL_MAX_STACK). */
export const MAX_LOWER_LAYERS = 500;

/** mount(2) copies at most a page of options. */
const MOUNT_DATA_MAX = 4095;

export interface OverlaySpec {
  /** Read-only layers, topmost first. */
  lowerDirs: readonly string[];
  /** The writable layer and overlayfs's scratch directory (same filesystem as upperDir). */
  upperDir: string;
  workDir: string;
}

const FSOPEN_CLOEXEC = 1;
const FSCONFIG_SET_STRING = 1;
const FSCONFIG_CMD_CREATE = 6;
const FSMOUNT_CLOEXEC = 1;
const MOVE_MOUNT_F_EMPTY_PATH = 4;
const AT_FDCWD = -100;

/** The mount(2) option string, or undefined when the description cannot be written as one. */
function legacyOptions(spec: OverlaySpec): string | undefined {
  const paths = [...spec.lowerDirs, spec.upperDir, spec.workDir];
  if (paths.some((p) => /[,:\\]/.test(p))) return undefined;
  const data = `lowerdir=${spec.lowerDirs.join(":")},upperdir=${spec.upperDir},workdir=${spec.workDir}`;
  return data.length <= MOUNT_DATA_MAX ? data : undefined;
}

function fsconfigString(fd: number, key: string, value: string): void {
  checkCall(syscall()(SYS.fsconfig, "int", fd, "unsigned int", FSCONFIG_SET_STRING, "const char *", key, "const char *", value, "int", 0), "fsconfig", `${key}=${value}`);
}

/** The new mount API: each layer a separate fsconfig call, so neither length nor separators matter. */
function mountWithFsContext(spec: OverlaySpec, target: string): void {
  const fd = checkCall(syscall()(SYS.fsopen, "const char *", "overlay", "unsigned int", FSOPEN_CLOEXEC), "fsopen", "overlay");
  try {
    for (const dir of spec.lowerDirs) fsconfigString(fd, "lowerdir+", dir);
    fsconfigString(fd, "upperdir", spec.upperDir);
    fsconfigString(fd, "workdir", spec.workDir);
    checkCall(syscall()(SYS.fsconfig, "int", fd, "unsigned int", FSCONFIG_CMD_CREATE, "const char *", null, "const char *", null, "int", 0), "fsconfig", `create overlay for ${target}`);
    const mnt = checkCall(syscall()(SYS.fsmount, "int", fd, "unsigned int", FSMOUNT_CLOEXEC, "unsigned int", 0), "fsmount", target);
    try {
      checkCall(syscall()(SYS.move_mount, "int", mnt, "const char *", "", "int", AT_FDCWD, "const char *", target, "unsigned int", MOVE_MOUNT_F_EMPTY_PATH), "move_mount", target);
    } finally {
      closeSync(mnt);
    }
  } finally {
    closeSync(fd);
  }
}

/** Mounts the overlay at target (an existing empty directory) in the calling thread's mount namespace. */
export function mountOverlay(spec: OverlaySpec, target: string, field = "rootfs"): void {
  if (spec.lowerDirs.length === 0) throw new ValidationError(field, "has no layers", "give at least one directory");
  if (spec.lowerDirs.length > MAX_LOWER_LAYERS) {
    throw new ValidationError(field, `has ${spec.lowerDirs.length} layers; overlayfs stacks at most ${MAX_LOWER_LAYERS}`, "flatten the image (e.g. squash its layers when building it)");
  }
  const data = legacyOptions(spec);
  if (data !== undefined) {
    sys.mount("overlay", target, "overlay", 0, data);
    return;
  }
  try {
    mountWithFsContext(spec, target);
  } catch (err) {
    // Before 6.8 "lowerdir+" is an unknown parameter (EINVAL); before 5.2 there is no fsopen.
    if (err instanceof SysError && (err.code === "EINVAL" || err.code === "ENOSYS") && (err.syscall === "fsconfig" || err.syscall === "fsopen")) {
      throw new ValidationError(
        field,
        `its ${spec.lowerDirs.length} layer paths do not fit one mount(2) option string, and this kernel's overlayfs has no "lowerdir+" (Linux 6.8)`,
        "use fewer layers, shorter paths (HOSTFORM_LIB_DIR) without ':' or ',', or a newer kernel",
      ).withContext(`mount overlay at ${target}`);
    }
    throw err;
  }
}

/** True when an overlay is mounted exactly at path, as this process's mount namespace sees it. */
export function isOverlayMounted(path: string): boolean {
  return readMountinfo().some((m) => m.mountPoint === path && m.fstype === "overlay");
}
