// The tar reader on archives from GNU tar and on hand-built headers (pax, GNU long names,
// base-256 numbers), fed in small chunks so that every header and body crosses chunk boundaries.
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { testPrefix } from "../../fixtures/prefix";
import { buildTar } from "../../fixtures/tarWriter";
import { readTar, type TarEntry } from "../../src/image/tar";
import { CorruptFileError } from "../../src/sys/errors";

async function* chunked(b: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

interface Read {
  entry: TarEntry;
  body: string;
}

async function readAll(b: Buffer, chunk = 7, readBodies = true): Promise<Read[]> {
  const out: Read[] = [];
  for await (const m of readTar(chunked(b, chunk), "test.tar")) {
    let body = "";
    if (readBodies) for await (const c of m.body()) body += c.toString("utf8");
    out.push({ entry: m.entry, body });
  }
  return out;
}

const work = join("/tmp", testPrefix("tar"));

describe("readTar", () => {
  after(() => rmSync(work, { recursive: true, force: true }));

  test("reads what GNU tar writes: types, modes, owners, link targets and bodies, across chunk boundaries", async () => {
    const src = join(work, "src");
    mkdirSync(join(src, "d"), { recursive: true });
    writeFileSync(join(src, "d", "f"), "x".repeat(1500));
    symlinkSync("d/f", join(src, "s"));
    execFileSync("ln", [join(src, "d", "f"), join(src, "h")]);
    const tar = join(work, "gnu.tar");
    execFileSync("tar", ["--sort=name", "--owner=7", "--group=9", "--mode=u+s", "-C", src, "-cf", tar, "d", "h", "s"]);
    const got = await readAll(readFileSync(tar));
    assert.deepEqual(got.map((r) => [r.entry.path, r.entry.type, r.entry.uid, r.entry.gid, r.entry.linkname]), [
      ["d/", "dir", 7, 9, ""],
      ["d/f", "file", 7, 9, ""],
      ["h", "hardlink", 7, 9, "d/f"],
      ["s", "symlink", 7, 9, "d/f"],
    ]);
    assert.equal(got[1]?.body, "x".repeat(1500));
    assert.equal((got[1]?.entry.mode ?? 0) & 0o4000, 0o4000);
  });

  test("pax records override the header: path, linkpath, ids, fractional mtime, SCHILY and LIBARCHIVE xattrs; g records apply to all later members", async () => {
    const long = "p/".repeat(80) + "file";
    const tar = buildTar([
      { path: "ignored-by-global", pax: { comment: "x" } },
      { path: "short", body: "hello", pax: { path: long, uid: "70000", gid: "80000", mtime: "1700000000.123456789", "SCHILY.xattr.user.a": Buffer.from([0, 0xff, 0x0a]), "LIBARCHIVE.xattr.user.b%3Dc": Buffer.from("vvv").toString("base64") } },
      { path: "l", type: "symlink", linkname: "short-target", pax: { linkpath: "t/".repeat(70) } },
    ]);
    const got = await readAll(tar, 13);
    const e = got[1]?.entry;
    assert.equal(e?.path, long);
    assert.equal(got[1]?.body, "hello");
    assert.deepEqual([e?.uid, e?.gid, e?.mtime], [70000, 80000, 1700000000.123456789]);
    assert.deepEqual(e?.xattrs.get("user.a"), Buffer.from([0, 0xff, 0x0a]));
    assert.equal(e?.xattrs.get("user.b=c")?.toString(), "vvv");
    assert.equal(got[2]?.entry.linkname, "t/".repeat(70));
    const g = Buffer.from("12 uid=4242\n");
    const withGlobal = Buffer.concat([buildGlobal(g), buildTar([{ path: "a" }, { path: "b", uid: 1 }])]);
    assert.deepEqual((await readAll(withGlobal)).map((r) => r.entry.uid), [4242, 4242]);
  });

  test("GNU L/K long names and base-256 numbers", async () => {
    const name = "n".repeat(300);
    const target = "k".repeat(200);
    const got = await readAll(buildTar([
      { path: name, body: "b", gnuLongNames: true },
      { path: "lnk", type: "symlink", linkname: target, gnuLongNames: true },
      { path: "big", body: "z".repeat(700), uid: 3_000_000_000, base256: true },
    ]));
    assert.deepEqual(got.map((r) => r.entry.path), [name, "lnk", "big"]);
    assert.equal(got[1]?.entry.linkname, target);
    assert.deepEqual([got[2]?.entry.uid, got[2]?.entry.size, got[2]?.body.length], [3_000_000_000, 700, 700]);
  });

  test("bodies nobody reads are skipped, and the members after them are intact", async () => {
    const got = await readAll(buildTar([{ path: "a", body: "1".repeat(1000) }, { path: "b", body: "2" }, { path: "c", type: "dir" }]), 100, false);
    assert.deepEqual(got.map((r) => r.entry.path), ["a", "b", "c"]);
  });

  test("a header with a wrong checksum is a CorruptFileError", async () => {
    const tar = buildTar([{ path: "a", body: "x" }]);
    tar[0] = 0x62;
    await assert.rejects(readAll(tar), (err: unknown) => err instanceof CorruptFileError && /checksum/.test(err.message) && err.path === "test.tar");
  });

  test("an archive cut inside a header or a body is a CorruptFileError; one without the end blocks, or without the last padding too, is read whole", async () => {
    const tar = buildTar([{ path: "a", body: "x".repeat(2000) }, { path: "b", body: "y" }]);
    await assert.rejects(readAll(tar.subarray(0, 1000)), (err: unknown) => err instanceof CorruptFileError && /truncated/.test(err.message));
    await assert.rejects(readAll(tar.subarray(0, 2560 + 100)), (err: unknown) => err instanceof CorruptFileError && /truncated/.test(err.message));
    const whole = await readAll(tar.subarray(0, 512 * 4 + 512 + 512 + 512));
    assert.deepEqual(whole.map((r) => r.entry.path), ["a", "b"]);
    // The last body whole but neither its padding nor the end blocks: what umoci 0.4.7's `insert` writes.
    const unpadded = await readAll(tar.subarray(0, 3072 + 1));
    assert.deepEqual(unpadded.map((r) => [r.entry.path, r.body.length]), [["a", 2000], ["b", 1]]);
    // A body cut short is still truncated.
    await assert.rejects(readAll(tar.subarray(0, 512 + 1500)), (err: unknown) => err instanceof CorruptFileError && /truncated/.test(err.message));
  });

  test("an entry type it cannot represent (GNU sparse) is refused rather than guessed", async () => {
    const tar = buildTar([{ path: "s", body: "x" }]);
    tar[156] = "S".charCodeAt(0);
    // Recompute the checksum so only the type is wrong.
    tar.fill(0x20, 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += tar[i] as number;
    tar.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "latin1");
    await assert.rejects(readAll(tar), (err: unknown) => err instanceof CorruptFileError && /unsupported tar entry type/.test(err.message));
  });
});

/** A pax global ('g') header block followed by its data. */
function buildGlobal(data: Buffer): Buffer {
  const h = buildTar([{ path: "g", body: data }]).subarray(0, 1024);
  h[156] = "g".charCodeAt(0);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += h[i] as number;
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "latin1");
  return Buffer.from(h);
}
