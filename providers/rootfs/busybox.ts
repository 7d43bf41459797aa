// A small root filesystem made from the host's static busybox: the binary, one symlink per applet,
// the directories a container's init mounts on, and minimal /etc files. Built in a temporary
// sibling directory and renamed into place, so a rootfs is either complete or absent.
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync, chmodSync } from "node:fs";
import { readMountinfo } from "../../src/sys/mountinfo";
import { libDir } from "../../src/sys/paths";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { HostformError, SysError, UnsupportedError, ValidationError, hasCode } from "../../src/sys/errors";
import { assertStaticElf } from "./staticElf";

/** Where hostform keeps built root filesystems; HOSTFORM_LIB_DIR moves it (tests, other layouts). */
export function rootfsBaseDir(): string {
  return join(libDir(), "rootfs");
}

/** Busybox candidates, in the order busybox-static installs them. */
export const BUSYBOX_CANDIDATES = ["/bin/busybox", "/usr/bin/busybox"];

/** File that marks a directory as a rootfs hostform built, and records from what. */
export const MARKER = ".hostform-rootfs.json";

/** What the marker records. */
export interface RootfsMarker {
  version: 1;
  busyboxDigest: string;
  applets: string[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Checks a rootfs name (a directory under rootfsBaseDir()). */
export function validateRootfsName(name: unknown, field = "name"): string {
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new ValidationError(field, `${JSON.stringify(name)} is not a valid rootfs name`, "use 1-128 characters from a-z A-Z 0-9 _ . - starting with a letter or digit");
  }
  return name;
}

/** The busybox to use: the given path, or the first installed candidate. */
export function findBusybox(given: string | undefined, field = "busybox"): string {
  const path = given ?? BUSYBOX_CANDIDATES.find((p) => existsSync(p));
  if (path === undefined) throw new UnsupportedError(`${field}: busybox is not installed (apt-get install busybox-static)`);
  assertStaticElf(path, field);
  return path;
}

/** sha256 hex of a file. */
export function fileDigest(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** The applets this busybox provides (`busybox --list`), or the given subset after checking it. */
export function appletList(busybox: string, wanted: readonly string[] | undefined, field = "applets"): string[] {
  const r = spawnSync(busybox, ["--list"], { encoding: "utf8", timeout: 10_000 });
  if (r.status !== 0) throw new HostformError(`${busybox} --list failed: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
  const all = r.stdout.split("\n").filter((a) => /^[A-Za-z0-9_.[-]+$/.test(a) && a !== "busybox");
  if (wanted === undefined) return all.sort();
  wanted.forEach((a, i) => {
    if (!all.includes(a)) throw new ValidationError(`${field}[${i}]`, `${busybox} has no applet ${JSON.stringify(a)}`);
  });
  return [...new Set(wanted)].sort();
}

/** The marker of dir, or undefined when it has none (not built by hostform, or half-removed). */
export function readMarker(dir: string): RootfsMarker | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, MARKER), "utf8")) as RootfsMarker;
  } catch (err) {
    if (hasCode(err, "ENOENT") || err instanceof SyntaxError) return undefined;
    throw SysError.fromNode(err, `read ${join(dir, MARKER)}`);
  }
}

/** Mount points at or below dir (a running container's mounts): removing through them would
 *  delete the host files they show. */
export function mountsBelow(dir: string): string[] {
  return readMountinfo()
    .map((m) => m.mountPoint)
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
}

function populate(root: string, busybox: string, applets: readonly string[], digest: string): void {
  for (const d of ["bin", "dev", "etc", "proc", "sys", "tmp", "root", "run", "var"]) mkdirSync(join(root, d), { recursive: true });
  chmodSync(join(root, "tmp"), 0o1777);
  copyFileSync(busybox, join(root, "bin", "busybox"));
  chmodSync(join(root, "bin", "busybox"), 0o755);
  for (const a of applets) symlinkSync("busybox", join(root, "bin", a));
  writeFileSync(join(root, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n");
  writeFileSync(join(root, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n");
  writeFileSync(join(root, "etc", "hosts"), "127.0.0.1 localhost\n::1 localhost\n");
  const marker: RootfsMarker = { version: 1, busyboxDigest: digest, applets: [...applets] };
  writeFileSync(join(root, MARKER), JSON.stringify(marker) + "\n");
}

/**
 * Builds (or rebuilds) the rootfs at dir from busybox with the given applets. An existing dir
 * that hostform did not build is refused; an existing hostform rootfs is swapped for the new one.
 */
export function buildBusyboxRootfs(dir: string, busybox: string, applets: readonly string[]): RootfsMarker {
  const digest = fileDigest(busybox);
  if (existsSync(dir) && readMarker(dir) === undefined) {
    throw new ValidationError("name", `${dir} exists and was not built by hostform`, "choose another name or remove the directory");
  }
  mkdirSync(dirname(dir), { recursive: true, mode: 0o755 });
  const tmp = `${dir}.tmp-${randomBytes(4).toString("hex")}`;
  try {
    mkdirSync(tmp, { mode: 0o755 });
    populate(tmp, busybox, applets, digest);
    if (existsSync(dir)) removeRootfs(dir);
    renameSync(tmp, dir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw SysError.fromNode(err, `build busybox rootfs ${dir}`);
  }
  return readMarker(dir)!;
}

/** Removes a rootfs; gone is success. Refuses while anything is mounted inside it. */
export function removeRootfs(dir: string): void {
  const mounts = mountsBelow(dir);
  if (mounts.length > 0) throw new HostformError(`remove rootfs ${dir}: still mounted at ${mounts.join(", ")} (stop the containers using it first)`);
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch (err) {
    throw SysError.fromNode(err, `remove rootfs ${dir}`);
  }
}
