// Gives a test file its own run dir, so its private ns-dir mount and pins never touch
// /run/hostform, and removes everything under it afterwards (sets, holders, the mount, the dir).
import { existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as libc from "../../src/sys/libc";
import { MNT_DETACH } from "../../src/sys/constants";
import { hasCode } from "../../src/sys/errors";
import { nsDir } from "../../src/sys/paths";
import { deleteNamespaces, listNamespaces } from "../../src/ns";
import { testPrefix } from "../../fixtures/prefix";

/** Points HOSTFORM_RUN_DIR at a fresh /tmp/hostform-test-ns-... directory; returns its cleanup. */
export function useTestRunDir(): () => Promise<void> {
  const dir = join(tmpdir(), testPrefix("ns"));
  process.env.HOSTFORM_RUN_DIR = dir;
  return async () => {
    try {
      for (const set of listNamespaces()) await deleteNamespaces(set.name);
    } finally {
      const root = nsDir();
      for (let i = 0; i < 8 && existsSync(root); i++) {
        try {
          libc.umount2(root, MNT_DETACH);
        } catch (err) {
          if (hasCode(err, "EINVAL") || hasCode(err, "ENOENT")) break;
          throw err;
        }
      }
      rmSync(dir, { recursive: true, force: true });
    }
  };
}
