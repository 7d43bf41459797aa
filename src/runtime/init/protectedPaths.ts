// After pivot_root: the spec's masked paths (hidden behind the null device or an empty read-only
// tmpfs), its read-only paths and a read-only root, all as bind mounts over the container's view.
import { closeSync, existsSync, statSync } from "node:fs";
import * as libc from "../../sys/libc";
import { MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REC } from "../../sys/constants";
import { remountBind } from "./remount";
import { ValidationError, hasCode } from "../../sys/errors";
import { openNullDevice } from "./devices";
import { step } from "./steps";
import type { ContainerSpec } from "../spec";

function isDirectory(path: string): boolean | undefined {
  try {
    return statSync(path).isDirectory();
  } catch (err) {
    if (hasCode(err, "ENOENT")) return undefined;
    throw err;
  }
}

/** Masks, makes read-only, and finally makes the root read-only if the spec says so. */
export function protectPaths(spec: ContainerSpec): void {
  // Masked files are bound to the container's own null device: the host's, behind the detached
  // old root, cannot be a bind source (EINVAL: not in this mount namespace).
  const hasNull = step("find /dev/null", () => {
    const own = openNullDevice("/dev/null");
    if (own !== undefined) closeSync(own);
    return own !== undefined;
  });
  for (const p of spec.linux?.maskedPaths ?? []) {
    step(`mask ${p}`, () => {
      const dir = isDirectory(p);
      // Nothing there: nothing to hide (runc skips it too).
      if (dir === undefined) return;
      if (dir) libc.mount("tmpfs", p, "tmpfs", MS_RDONLY, null);
      else if (hasNull) libc.mount("/dev/null", p, null, MS_BIND);
      else throw new ValidationError("linux.maskedPaths", `no null device to mask ${p} with`, "mount a tmpfs on /dev (hostform creates the nodes)");
    });
  }
  for (const p of spec.linux?.readonlyPaths ?? []) {
    step(`read-only ${p}`, () => {
      if (!existsSync(p)) return;
      libc.mount(p, p, null, MS_BIND | MS_REC);
      remountBind(p, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
    });
  }
  if (spec.root.readonly === true) step("read-only root", () => remountBind("/", MS_RDONLY));
}
