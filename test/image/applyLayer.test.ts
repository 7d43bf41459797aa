// The unpacker against umoci: the same image unpacked by `umoci raw unpack` (all layers applied into
// one tree) and by applyLayer (one overlay-format dir per layer, stacked as overlay lowerdirs) must
// show the same tree. The overlay is mounted only inside a child's private mount namespace, which
// dies with it, so nothing can leak onto the host.
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { buildDifferentialImage, buildImage, type LayerImageFiles } from "../../fixtures/layerImages";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { buildTar } from "../../fixtures/tarWriter";
import { applyLayer } from "../../src/image/applyLayer";
import { CorruptFileError } from "../../src/sys/errors";
import { getXattr } from "../../src/sys/xattr";
import { listTree, type ListedEntry } from "./treeListing";

const prefix = testPrefix("unpack");
const work = join("/tmp", prefix);
const outside = `/tmp/${prefix}-outside`;

/** The merged tree of layer dirs (topmost first), listed by a child in its own mount namespace. */
function listOverlay(layerDirs: string[], mnt: string): Record<string, ListedEntry> {
  mkdirSync(mnt, { recursive: true });
  const script = `mount -t overlay overlay -o ro,lowerdir=${layerDirs.join(":")} "$3" && exec "$1" "$2" "$3"`;
  const json = execFileSync("unshare", ["-m", "--propagation", "private", "sh", "-c", script, "sh", process.execPath, join(__dirname, "treeListing.js"), mnt], { encoding: "utf8", maxBuffer: 64 << 20 });
  return JSON.parse(json) as Record<string, ListedEntry>;
}

const testStart = Date.now();

/**
 * What may differ, each for a reason:
 * - the mtime of a dir made while unpacking (no tar entry, no lower dir): the time it was made;
 * - the root dir's mtime (umoci applies it before later layers add entries at the root);
 * - tmp, usrlib: umoci makes dirs under them (through a symlink) and restores only the parent of
 *   the entry, so their mtimes become the time of unpacking; the layer format keeps the lower's;
 * - x2: umoci deletes the lower x2/old2 (the later .wh.x2) after giving x2 the mtime of its tar entry.
 */
function comparable(tree: Record<string, ListedEntry>): Record<string, ListedEntry> {
  const out = structuredClone(tree);
  for (const [path, e] of Object.entries(out)) {
    if (e.type !== "dir") continue;
    if (e.mtime >= testStart || path === "." || path === "tmp" || path === "usrlib" || path === "x2") e.mtime = 0;
  }
  return out;
}

function diffTrees(a: Record<string, ListedEntry>, b: Record<string, ListedEntry>): string[] {
  const lines: string[] = [];
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = JSON.stringify(a[k]);
    const y = JSON.stringify(b[k]);
    if (x !== y) lines.push(`${k}\n  umoci:   ${x}\n  overlay: ${y}`);
  }
  return lines;
}

async function unpackAll(files: LayerImageFiles, into: string): Promise<string[]> {
  const dirs: string[] = [];
  mkdirSync(into, { recursive: true });
  for (const [i, layer] of files.image.layers.entries()) {
    const dest = join(into, String(i));
    const stats = await applyLayer({ path: layer.blobPath, mediaType: layer.mediaType }, dest, layer.diffId, { lowerDirs: [...dirs].reverse() });
    assert.equal(stats.diffId, layer.diffId);
    dirs.push(dest);
  }
  return dirs.reverse();
}

describe("applyLayer", { skip: needsRoot }, () => {
  let files: LayerImageFiles;
  before(() => {
    mkdirSync(work, { recursive: true });
    files = buildDifferentialImage(join(work, "img"), outside, ["gzip", "none", "zstd"]);
  });
  after(() => {
    rmSync(work, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
    rmSync(`${outside}-rel`, { recursive: true, force: true });
  });

  test("the layer dirs stacked as overlay lowerdirs show exactly umoci's tree", async () => {
    // umoci 0.4.7 cannot read zstd layers: its reference image has the same tars, all gzipped.
    const ref = buildImage(join(work, "ref-img"), files.tars.map((tar) => ({ tar, compression: "gzip" as const })));
    execFileSync("umoci", ["raw", "unpack", "--image", `${ref.layout}:${ref.tag}`, join(work, "umoci-root")], { stdio: ["ignore", "pipe", "pipe"] });
    const expected = listTree(join(work, "umoci-root"));
    const layers = await unpackAll(files, join(work, "layers"));
    const merged = listOverlay(layers, join(work, "mnt"));
    // A hard link to a lower layer's file is a copy (links cannot cross layer dirs): the copies share one inode, the lower file keeps its own.
    assert.deepEqual(["lib/shared", "lib/shared.link", "lib/shared.link2"].map((p) => expected[p]?.linkGroup), ["lib/shared", "lib/shared", "lib/shared"]);
    assert.deepEqual(["lib/shared", "lib/shared.link", "lib/shared.link2"].map((p) => merged[p]?.linkGroup), [undefined, "lib/shared.link", "lib/shared.link"]);
    assert.deepEqual(["usrlib/orig", "hl-through"].map((p) => expected[p]?.linkGroup), ["hl-through", "hl-through"]);
    assert.deepEqual(["usrlib/orig", "hl-through"].map((p) => merged[p]?.linkGroup), [undefined, undefined]);
    for (const p of ["lib/shared", "lib/shared.link", "lib/shared.link2", "usrlib/orig", "hl-through"]) {
      delete expected[p]?.linkGroup;
      delete merged[p]?.linkGroup;
    }
    assert.deepEqual(diffTrees(comparable(expected), comparable(merged)), []);
    // The cases the image was built to hold are really in it (a vacuous tree would also compare equal).
    for (const p of ["bin/suid", "etc/motd.hard", "etc/hl.link", "etc/nulldev", "etc/fifo", "data/new.hard", "x/fresh", "x2/new2", "y", "lib/shared.link", "evil", "tmp", "priv/added", "usrlib/added", "usrlib/sub/added2", "usrlib/added3"]) {
      assert.ok(expected[p] !== undefined, `umoci's tree has ${p}`);
    }
    for (const p of ["etc/deleteme", "etc/hl", "gone", "data/keep", "data/b", "x/old", "x2/old2"]) assert.equal(expected[p], undefined, `${p} is deleted`);
    assert.equal(expected["bin/suid"]?.mode, "6750");
    assert.equal(expected["etc/loopdev"]?.rdev, "7:200");
    assert.ok(expected["bin/ping"]?.xattrs["security.capability"] !== undefined);
  });

  test("whiteouts and opaque dirs are in overlay format in the layer dir", async () => {
    const dest = join(work, "one", "1");
    const lower = join(work, "one", "0");
    mkdirSync(join(work, "one"), { recursive: true });
    const [l0, l1] = files.image.layers;
    assert.ok(l0 !== undefined && l1 !== undefined);
    await applyLayer({ path: l0.blobPath, mediaType: l0.mediaType }, lower, l0.diffId);
    await applyLayer({ path: l1.blobPath, mediaType: l1.mediaType }, dest, l1.diffId, { lowerDirs: [lower] });
    const t = listTree(dest);
    assert.deepEqual([t["etc/deleteme"]?.type, t["etc/deleteme"]?.rdev, t["etc/deleteme"]?.mode], ["char", "0:0", "0"]);
    assert.equal(t["gone"]?.type, "char");
    assert.equal(getXattr(join(dest, "data"), "trusted.overlay.opaque")?.toString(), "y");
    assert.equal(getXattr(join(dest, "x"), "trusted.overlay.opaque")?.toString(), "y", ".wh.x + x/ in one layer");
    assert.equal(getXattr(join(dest, "etc"), "trusted.overlay.opaque"), undefined);
    assert.equal(t["data/.wh..wh..opq"], undefined);
    assert.equal(listTree(lower)["etc/xfile"]?.xattrs["user.hf"], Buffer.from("uval").toString("hex"));
  });

  test("a symlink in the layer never takes a write outside the layer dir", async () => {
    const dest = join(work, "evil");
    const tar = join(work, "evil.tar");
    const body = buildTar([
      { path: "esc", type: "symlink", linkname: outside },
      { path: "esc/pwned", body: "x" },
      { path: "up", type: "symlink", linkname: "../../../../../../.." },
      { path: `up${outside}-rel/pwned`, body: "x" },
    ]);
    writeFileSync(tar, body);
    const digest = `sha256:${(await import("node:crypto")).createHash("sha256").update(body).digest("hex")}`;
    await applyLayer({ path: tar, mediaType: "application/vnd.oci.image.layer.v1.tar" }, dest, digest);
    assert.equal(existsSync(outside), false);
    assert.equal(existsSync(`${outside}-rel`), false);
    assert.equal(readFileSync(join(dest, outside, "pwned"), "utf8"), "x");
    assert.equal(readFileSync(join(dest, `${outside}-rel`, "pwned"), "utf8"), "x");
  });

  test("a hard link through a lower layer's symlink never copies a host file", async () => {
    const tarFile = async (name: string, entries: Parameters<typeof buildTar>[0]): Promise<{ path: string; diffId: string }> => {
      const body = buildTar(entries);
      const path = join(work, name);
      writeFileSync(path, body);
      return { path, diffId: `sha256:${(await import("node:crypto")).createHash("sha256").update(body).digest("hex")}` };
    };
    const a = await tarFile("lnk-a.tar", [{ path: "etcl", type: "symlink", linkname: "/etc" }, { path: "dir/etcl2", type: "symlink", linkname: "../../../../etc" }]);
    const b = await tarFile("lnk-b.tar", [{ path: "stolen", type: "hardlink", linkname: "etcl/hostname" }]);
    const c = await tarFile("lnk-c.tar", [{ path: "stolen", type: "hardlink", linkname: "dir/etcl2/hostname" }]);
    const lower = join(work, "lnk-a");
    await applyLayer({ path: a.path, mediaType: "application/vnd.oci.image.layer.v1.tar" }, lower, a.diffId);
    for (const [name, t] of [["lnk-b", b], ["lnk-c", c]] as const) {
      const dest = join(work, name);
      await assert.rejects(applyLayer({ path: t.path, mediaType: "application/vnd.oci.image.layer.v1.tar" }, dest, t.diffId, { lowerDirs: [lower] }), (err: unknown) => err instanceof CorruptFileError && /neither this layer nor a lower one/.test(err.message));
      assert.equal(existsSync(dest), false);
    }
  });

  test("a member named outside the root is refused and nothing is left", async () => {
    const dest = join(work, "dotdot");
    const body = buildTar([{ path: "a", body: "a" }, { path: "a/../../x", body: "x" }]);
    const tar = join(work, "dotdot.tar");
    writeFileSync(tar, body);
    const digest = `sha256:${(await import("node:crypto")).createHash("sha256").update(body).digest("hex")}`;
    await assert.rejects(applyLayer({ path: tar, mediaType: "application/vnd.oci.image.layer.v1.tar" }, dest, digest), (err: unknown) => err instanceof CorruptFileError && /outside the layer/.test(err.message));
    assert.equal(existsSync(dest), false);
  });

  test("a diff_id mismatch is a CorruptFileError naming the blob and both digests, and dest is removed", async () => {
    const layer = files.image.layers[0];
    assert.ok(layer !== undefined);
    const dest = join(work, "mismatch");
    const wrong = `sha256:${"0".repeat(64)}`;
    await assert.rejects(applyLayer({ path: layer.blobPath, mediaType: layer.mediaType }, dest, wrong), (err: unknown) => {
      assert.ok(err instanceof CorruptFileError, String(err));
      assert.equal(err.path, layer.blobPath);
      assert.match(err.message, new RegExp(`${layer.diffId}.*${wrong}`));
      return true;
    });
    assert.equal(existsSync(dest), false);
  });

  test("gzip, zstd and plain blobs of one tar unpack the same; a wrong media type is corrected by the magic bytes", async () => {
    const tar = readFileSync(files.tars[2] as string);
    const diffId = files.image.layers[2]?.diffId as string;
    writeFileSync(join(work, "l3.tgz"), gzipSync(tar));
    const trees: Record<string, ListedEntry>[] = [];
    // The third layer hard-links a file of the first: it needs its lower layers.
    const lowers = (await unpackAll({ ...files, image: { ...files.image, layers: files.image.layers.slice(0, 2) } }, join(work, "fmt-lower")));
    const sources = [
      { path: files.image.layers[2]?.blobPath as string, mediaType: "application/vnd.oci.image.layer.v1.tar+zstd" },
      { path: join(work, "l3.tgz"), mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip" },
      { path: files.tars[2] as string, mediaType: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" },
    ];
    for (const [i, s] of sources.entries()) {
      const dest = join(work, "fmt", String(i));
      mkdirSync(join(work, "fmt"), { recursive: true });
      const stats = await applyLayer(s, dest, diffId, { lowerDirs: lowers });
      assert.equal(stats.size, tar.length);
      trees.push(listTree(dest));
    }
    assert.ok(Object.keys(trees[0] ?? {}).length > 10);
    assert.deepEqual(comparable(trees[1] ?? {}), comparable(trees[0] ?? {}));
    assert.deepEqual(comparable(trees[2] ?? {}), comparable(trees[0] ?? {}));
  });

  test("the diff_id covers the bytes after the end-of-archive blocks", async () => {
    // tar(1) pads to whole records; a writer may pad more. All of it is in the uncompressed sha256.
    const body = Buffer.concat([buildTar([{ path: "f", body: "f" }]), Buffer.alloc(3 << 20)]);
    const tar = join(work, "padded.tar");
    writeFileSync(tar, body);
    const digest = `sha256:${(await import("node:crypto")).createHash("sha256").update(body).digest("hex")}`;
    const stats = await applyLayer({ path: tar, mediaType: "application/vnd.oci.image.layer.v1.tar" }, join(work, "padded"), digest);
    assert.deepEqual([stats.size, stats.entries], [body.length, 1]);
  });

  test("a truncated blob fails and leaves nothing", async () => {
    const tar = readFileSync(files.tars[0] as string);
    const cut = join(work, "cut.tar");
    writeFileSync(cut, tar.subarray(0, Math.floor(tar.length / 2)));
    const dest = join(work, "cut");
    await assert.rejects(applyLayer({ path: cut, mediaType: "application/vnd.oci.image.layer.v1.tar" }, dest, files.image.layers[0]?.diffId as string), CorruptFileError);
    assert.equal(existsSync(dest), false);
    assert.deepEqual(readdirSync(work).filter((n) => n === "cut"), []);
  });
});
