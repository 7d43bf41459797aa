// overlayfs mounts: a short description goes through mount(2); one longer than mount(2)'s one page of
// options goes through the new mount API one layer at a time (Linux 6.8's "lowerdir+"), and on an
// older kernel fails naming the field, with nothing mounted.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { release, tmpdir } from "node:os";
import { join } from "node:path";
import { ValidationError } from "../../src/sys/errors";
import { MNT_DETACH } from "../../src/sys/constants";
import { umount2 } from "../../src/sys/libc";
import { isOverlayMounted, mountOverlay } from "../../src/sys/overlayMount";
import { needsRoot, testPrefix } from "../../fixtures/prefix";

const base = join(tmpdir(), testPrefix("ovl"));

after(() => {
  for (const m of ["short", "long"]) if (isOverlayMounted(join(base, m, "merged"))) umount2(join(base, m, "merged"), MNT_DETACH);
  rmSync(base, { recursive: true, force: true });
});

/** n layer dirs under dir, each holding a file named after it; paths padded to `pad` characters. */
function layers(dir: string, n: number, pad: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = join(dir, `layer-${String(i).padStart(3, "0")}-`.padEnd(pad, "x"));
    mkdirSync(p, { recursive: true });
    writeFileSync(join(p, `f${i}`), String(i));
    out.push(p);
  }
  return out;
}

function mountAt(name: string, lowerDirs: string[]): string {
  const dir = join(base, name);
  for (const d of ["upper", "work", "merged"]) mkdirSync(join(dir, d), { recursive: true });
  mountOverlay({ lowerDirs, upperDir: join(dir, "upper"), workDir: join(dir, "work") }, join(dir, "merged"));
  return join(dir, "merged");
}

function kernelAtLeast(major: number, minor: number): boolean {
  const [a = 0, b = 0] = release().split(".").map((x) => parseInt(x, 10));
  return a > major || (a === major && b >= minor);
}

test("a few layers mount through mount(2): the merged view holds every layer's file", { skip: needsRoot }, () => {
  const merged = mountAt("short", layers(join(base, "short-layers"), 3, 20));
  assert.deepEqual(readdirSync(merged).sort(), ["f0", "f1", "f2"]);
  umount2(merged, MNT_DETACH);
  assert.equal(isOverlayMounted(merged), false);
});

test("60 layers of 120-character paths (past mount(2)'s page) mount through fsconfig lowerdir+, or fail by name on a kernel without it", { skip: needsRoot }, () => {
  const lower = layers(join(base, "long-layers"), 60, 120);
  assert.ok(lower.join(":").length > 4096, "the description does not fit mount(2)");
  if (kernelAtLeast(6, 8)) {
    const merged = mountAt("long", lower);
    assert.equal(readdirSync(merged).length, 60);
    umount2(merged, MNT_DETACH);
  } else {
    assert.throws(() => mountAt("long", lower), (e: unknown) => e instanceof ValidationError && e.field === "rootfs" && /lowerdir\+/.test(e.message));
    assert.equal(isOverlayMounted(join(base, "long", "merged")), false);
  }
});

test("more layers than overlayfs stacks are refused before any mount", { skip: needsRoot }, () => {
  assert.throws(
    () => mountOverlay({ lowerDirs: Array.from({ length: 501 }, (_, i) => `/l${i}`), upperDir: "/u", workDir: "/w" }, "/nonexistent", "image"),
    (e: unknown) => e instanceof ValidationError && e.field === "image" && /500/.test(e.message),
  );
});
