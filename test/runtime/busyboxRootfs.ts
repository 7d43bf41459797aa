// A minimal root filesystem for runtime tests and benchmarks: the static busybox from the
// busybox-static package plus the applet symlinks the tests use.
import { copyFileSync, mkdirSync, mkdtempSync, symlinkSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UnsupportedError } from "../../src/sys/errors";

const APPLETS = ["sh", "true", "false", "cat", "ls", "hostname", "id", "echo", "mkdir", "touch", "readlink", "sleep", "grep", "head"];

/** Creates `<tmp>/<prefix>-XXXX/rootfs` and returns the bundle dir (caller removes it). */
export function makeBusyboxBundle(prefix: string): { bundle: string; rootfs: string } {
  const busybox = ["/bin/busybox", "/usr/bin/busybox"].find((p) => existsSync(p));
  if (busybox === undefined) throw new UnsupportedError("busybox is not installed (apt-get install busybox-static)");
  const bundle = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const rootfs = join(bundle, "rootfs");
  for (const d of ["bin", "proc", "dev", "sys", "tmp", "etc"]) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync(busybox, join(rootfs, "bin", "busybox"));
  for (const a of APPLETS) symlinkSync("busybox", join(rootfs, "bin", a));
  return { bundle, rootfs };
}
