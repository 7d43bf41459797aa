// OCI mount options as mount(2) sees them: flags set or cleared, propagation changes (each one a
// mount call of its own), and the rest passed through as the filesystem's data string.
import {
  MS_DIRSYNC, MS_MANDLOCK, MS_NOATIME, MS_NODEV, MS_NODIRATIME, MS_NOEXEC, MS_NOSUID, MS_NOSYMFOLLOW,
  MS_PRIVATE, MS_RDONLY, MS_REC, MS_RELATIME, MS_REMOUNT, MS_SHARED, MS_SLAVE, MS_STRICTATIME, MS_SYNCHRONOUS,
  MS_UNBINDABLE,
} from "../../sys/constants";
import {
  MOUNT_ATTR_NOATIME, MOUNT_ATTR_NODEV, MOUNT_ATTR_NODIRATIME, MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NOSYMFOLLOW,
  MOUNT_ATTR_RDONLY, MOUNT_ATTR_RELATIME, MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME,
} from "../../sys/constants";
import { ValidationError } from "../../sys/errors";
import type { MountSpec } from "../spec";

const FLAG_OPTIONS: Readonly<Record<string, { set?: number; clear?: number }>> = {
  ro: { set: MS_RDONLY }, rw: { clear: MS_RDONLY }, nosuid: { set: MS_NOSUID }, suid: { clear: MS_NOSUID },
  nodev: { set: MS_NODEV }, dev: { clear: MS_NODEV }, noexec: { set: MS_NOEXEC }, exec: { clear: MS_NOEXEC },
  sync: { set: MS_SYNCHRONOUS }, async: { clear: MS_SYNCHRONOUS }, dirsync: { set: MS_DIRSYNC },
  remount: { set: MS_REMOUNT }, mand: { set: MS_MANDLOCK }, nomand: { clear: MS_MANDLOCK },
  atime: { clear: MS_NOATIME }, noatime: { set: MS_NOATIME }, diratime: { clear: MS_NODIRATIME },
  nodiratime: { set: MS_NODIRATIME }, relatime: { set: MS_RELATIME }, norelatime: { clear: MS_RELATIME },
  strictatime: { set: MS_STRICTATIME }, nostrictatime: { clear: MS_STRICTATIME }, nosymfollow: { set: MS_NOSYMFOLLOW },
  bind: {}, rbind: {},
};

/**
 * runc's recursive options ("rro" and the like): applied with mount_setattr(AT_RECURSIVE) after the
 * mount, so submounts of an rbind get them too. An atime choice clears the whole atime field first.
 */
const RECURSIVE_OPTIONS: Readonly<Record<string, { set?: number; clear?: number }>> = {
  rro: { set: MOUNT_ATTR_RDONLY }, rrw: { clear: MOUNT_ATTR_RDONLY },
  rnosuid: { set: MOUNT_ATTR_NOSUID }, rsuid: { clear: MOUNT_ATTR_NOSUID },
  rnodev: { set: MOUNT_ATTR_NODEV }, rdev: { clear: MOUNT_ATTR_NODEV },
  rnoexec: { set: MOUNT_ATTR_NOEXEC }, rexec: { clear: MOUNT_ATTR_NOEXEC },
  rnodiratime: { set: MOUNT_ATTR_NODIRATIME }, rdiratime: { clear: MOUNT_ATTR_NODIRATIME },
  rrelatime: { set: MOUNT_ATTR_RELATIME, clear: MOUNT_ATTR__ATIME }, rnorelatime: { clear: MOUNT_ATTR__ATIME },
  rnoatime: { set: MOUNT_ATTR_NOATIME, clear: MOUNT_ATTR__ATIME }, ratime: { clear: MOUNT_ATTR__ATIME },
  rstrictatime: { set: MOUNT_ATTR_STRICTATIME, clear: MOUNT_ATTR__ATIME }, rnostrictatime: { clear: MOUNT_ATTR__ATIME },
  rnosymfollow: { set: MOUNT_ATTR_NOSYMFOLLOW }, rsymfollow: { clear: MOUNT_ATTR_NOSYMFOLLOW },
};


const PROPAGATION: Readonly<Record<string, number>> = {
  private: MS_PRIVATE, rprivate: MS_PRIVATE | MS_REC, slave: MS_SLAVE, rslave: MS_SLAVE | MS_REC,
  shared: MS_SHARED, rshared: MS_SHARED | MS_REC, unbindable: MS_UNBINDABLE, runbindable: MS_UNBINDABLE | MS_REC,
};

/** Every option the init consumes itself; anything else is the filesystem's (and refused on a bind). */
export const MOUNT_OPTION_NAMES: readonly string[] = [...Object.keys(FLAG_OPTIONS), ...Object.keys(PROPAGATION), ...Object.keys(RECURSIVE_OPTIONS), "tmpcopyup", "idmap", "ridmap"];

export interface MountOptions {
  /** MS_* flags for the mount (or, for a bind mount, its remount). */
  flags: number;
  /** Propagation flags, applied in order after the mount. */
  propagation: number[];
  /** Options mount(2) does not know as flags, comma-joined for the filesystem; null when none. */
  data: string | null;
  /** A bind mount: type "bind", or a "bind"/"rbind" option on any type (as runc reads it). */
  bind: boolean;
  /** "rbind": submounts of the source come along. */
  recursive: boolean;
  /** "tmpcopyup" (podman, CRI-O): a tmpfs starts with a copy of what it covers. */
  copyUp: boolean;
  /** MOUNT_ATTR_* flags set and cleared on the whole tree after the mount (the r* options). */
  recursiveSet: number;
  recursiveClear: number;
  /**
   * "idmap" / "ridmap" (runc 1.2, crun): the bind mount is seen through the container's user
   * namespace's mapping (or the mount's own uidMappings), the mounts below it too with "ridmap".
   */
  idmap?: "idmap" | "ridmap";
}

/** Reads a mount's options left to right, so a later "rw" undoes an earlier "ro". */
export function parseMountOptions(m: MountSpec): MountOptions {
  const out: MountOptions = { flags: 0, propagation: [], data: null, bind: m.type === "bind", recursive: false, copyUp: false, recursiveSet: 0, recursiveClear: 0 };
  const data: string[] = [];
  for (const o of m.options ?? []) {
    const f = FLAG_OPTIONS[o];
    const p = PROPAGATION[o];
    if (f !== undefined) {
      out.flags = (out.flags | (f.set ?? 0)) & ~(f.clear ?? 0);
      if (o === "bind" || o === "rbind") out.bind = true;
      if (o === "rbind") out.recursive = true;
    } else if (p !== undefined) {
      out.propagation.push(p);
    } else if (o === "tmpcopyup") {
      out.copyUp = true;
    } else if (o === "idmap" || o === "ridmap") {
      out.idmap = o;
    } else if (RECURSIVE_OPTIONS[o] !== undefined) {
      const r = RECURSIVE_OPTIONS[o];
      // Left to right, as the plain flags: a later "rrw" undoes an earlier "rro".
      out.recursiveSet = (out.recursiveSet & ~(r.clear ?? 0) & ~(r.set ?? 0)) | (r.set ?? 0);
      out.recursiveClear = (out.recursiveClear & ~(r.set ?? 0)) | (r.clear ?? 0);
    } else {
      data.push(o);
    }
  }
  // A bind mount has no filesystem to read data: an option hostform does not know would be
  // dropped without a word (an "rro" misspelt would leave the tree writable).
  if (data.length > 0 && out.bind) {
    throw new ValidationError(`mounts (${m.destination})`, `${data.map((d) => `'${d}'`).join(", ")} ${data.length === 1 ? "is not a bind mount option" : "are not bind mount options"}`, "use ro/rw, nosuid, nodev, noexec, the recursive rro/rnosuid/... or a propagation option");
  }
  if (data.length > 0) out.data = data.join(",");
  return out;
}
