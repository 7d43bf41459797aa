// create's checks read an image's layers before they are mounted: what findInLayers says is there
// must be what the mounted overlay shows. Each case is asserted by value and against a real overlay
// mount of the same layers.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MNT_DETACH } from "../../src/sys/constants";
import { mknod, umount2 } from "../../src/sys/libc";
import { mountOverlay } from "../../src/sys/overlayMount";
import { setXattr } from "../../src/sys/xattr";
import { findInLayers } from "../../src/runtime/layeredRoot";
import { needsRoot, testPrefix } from "../../fixtures/prefix";

const base = join(tmpdir(), testPrefix("layered"));
let merged: string | undefined;

after(() => {
  if (merged !== undefined) umount2(merged, MNT_DETACH);
  rmSync(base, { recursive: true, force: true });
});

function file(path: string, text: string): void {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
}

test("whiteouts, opaque directories, files over directories and symlinks resolve as the mounted overlay shows them", { skip: needsRoot }, () => {
  const [top, mid, bottom] = ["top", "mid", "bottom"].map((n) => join(base, n)) as [string, string, string];
  // bottom: the base image
  file(join(bottom, "etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
  file(join(bottom, "etc/gone"), "bottom");
  file(join(bottom, "data/old"), "bottom");
  file(join(bottom, "opt/tool/run"), "bottom");
  file(join(bottom, "bin/busybox"), "bottom");
  symlinkSync("busybox", join(bottom, "bin/sh"));
  // mid: deletes etc/gone, makes data opaque with a new file, replaces the opt/tool dir by a file
  mkdirSync(join(mid, "etc"), { recursive: true });
  mknod(join(mid, "etc/gone"), 0o20000, 0, 0);
  file(join(mid, "data/new"), "mid");
  setXattr(join(mid, "data"), "trusted.overlay.opaque", "y");
  file(join(mid, "opt/tool"), "mid file");
  // top: /usr/bin -> /bin (absolute symlink into a lower layer), a newer passwd
  mkdirSync(join(top, "usr"), { recursive: true });
  symlinkSync("/bin", join(top, "usr/bin"));
  file(join(top, "etc/passwd"), "root:x:0:0::/root:/bin/sh\napp:x:100:100::/:/bin/sh\n");
  const layers = [top, mid, bottom];

  const expected: Record<string, string | undefined> = {
    "/etc/passwd": join(top, "etc/passwd"),
    "/etc/gone": undefined,
    "/data/old": undefined,
    "/data/new": join(mid, "data/new"),
    "/opt/tool": join(mid, "opt/tool"),
    "/opt/tool/run": undefined,
    "/usr/bin/sh": join(bottom, "bin/busybox"),
    "/bin/../etc/passwd": join(top, "etc/passwd"),
    "/missing": undefined,
  };
  for (const [inner, host] of Object.entries(expected)) assert.equal(findInLayers(layers, inner), host, inner);

  // The same questions to the kernel.
  merged = join(base, "merged");
  for (const d of ["upper", "work", "merged"]) mkdirSync(join(base, d), { recursive: true });
  mountOverlay({ lowerDirs: layers, upperDir: join(base, "upper"), workDir: join(base, "work") }, merged);
  for (const [inner, host] of Object.entries(expected)) {
    const seen = existsSync(join(merged, inner.replace("/usr/bin/", "/bin/")));
    assert.equal(seen, host !== undefined, `overlay and findInLayers agree on ${inner}`);
    if (host !== undefined) assert.equal(readFileSync(join(merged, inner.replace("/usr/bin/", "/bin/")), "utf8"), readFileSync(host, "utf8"), inner);
  }
});
