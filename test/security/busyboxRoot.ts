// The rootfs the escape attempts run in: the static busybox with EVERY applet linked, because the
// attempts use applets the runtime tests never need (unshare, nsenter, insmod, mount, dd, stat).
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UnsupportedError } from "../../src/sys/errors";

/** Where the host's busybox lives, or undefined when busybox-static is not installed. */
export function hostBusybox(): string | undefined {
  return ["/bin/busybox", "/usr/bin/busybox"].find((p) => existsSync(p));
}

/** A bundle dir `<tmp>/<prefix>-XXXX` holding `rootfs/` with busybox and all its applets; the caller removes it. */
export function makeFullBusyboxBundle(prefix: string): { bundle: string; rootfs: string } {
  const busybox = hostBusybox();
  if (busybox === undefined) throw new UnsupportedError("busybox is not installed (apt-get install busybox-static)");
  const bundle = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const rootfs = join(bundle, "rootfs");
  for (const d of ["bin", "proc", "dev", "sys", "tmp", "etc", "mnt"]) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync(busybox, join(rootfs, "bin", "busybox"));
  const applets = execFileSync(busybox, ["--list"], { encoding: "utf8" }).split("\n").filter((a) => /^[\w.-]+$/.test(a) && a !== "busybox");
  for (const a of applets) symlinkSync("busybox", join(rootfs, "bin", a));
  return { bundle, rootfs };
}
