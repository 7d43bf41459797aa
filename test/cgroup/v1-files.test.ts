// v1 controller files against fixture directories (youki style), for what a host may not have: the
// blkio weight exists only under a proportional I/O scheduler (CFQ's blkio.weight, BFQ's
// blkio.bfq.weight), which many kernels lack; v1.test.ts runs the same controller on the real kernel.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { blkioV1 } from "../../src/cgroup/v1/blkio";
import { ioLimits } from "../../src/cgroup/v2/io";
import { UnsupportedError } from "../../src/sys/errors";
import { causedBy } from "../helpers/errorChain";

const THROTTLES = ["blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device", "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device"];

/** A blkio cgroup directory holding the given files (every throttle file, empty, unless given). */
function fixture(t: { after(fn: () => void): void }, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "hostform-test-cgv1-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const f of THROTTLES) writeFileSync(join(dir, f), "");
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  return dir;
}

const file = (dir: string, f: string) => readFileSync(join(dir, f), "utf8");

/** A controller method that must exist (blkio has each of these). */
function must<T>(method: T | undefined): T {
  assert.ok(method !== undefined, "controller method missing");
  return method;
}

test("blkio.weight (CFQ): the weight is written and read back; a v2 io weight is converted to the blkio scale", (t) => {
  const dir = fixture(t, { "blkio.weight": "500\n" });
  must(blkioV1.apply)(dir, { blkioWeight: 300 });
  assert.equal(file(dir, "blkio.weight"), "300");
  assert.deepEqual(must(blkioV1.read)(dir), { devices: [], blkioWeight: 300 });
  const fromV2 = must(blkioV1.normalize)(ioLimits.validate({ weight: 10000 }, "io"), "io");
  assert.deepEqual(fromV2, { blkioWeight: 1000 });
  must(blkioV1.apply)(dir, fromV2);
  assert.equal(file(dir, "blkio.weight"), "1000");
  assert.deepEqual(must(blkioV1.normalize)(ioLimits.validate({ weight: 100 }, "io"), "io"), { blkioWeight: 19 });
});

test("blkio.bfq.weight (BFQ, kernels without CFQ): written there, read from both of its spellings", (t) => {
  const dir = fixture(t, { "blkio.bfq.weight": "default 100\n" });
  assert.equal(must(blkioV1.read)(dir).blkioWeight, 100);
  must(blkioV1.apply)(dir, { blkioWeight: 250 });
  assert.equal(file(dir, "blkio.bfq.weight"), "250");
  assert.equal(must(blkioV1.read)(dir).blkioWeight, 250);
  // With both files, CFQ's is the one written.
  const both = fixture(t, { "blkio.weight": "500\n", "blkio.bfq.weight": "default 100\n" });
  must(blkioV1.apply)(both, { blkioWeight: 42 });
  assert.deepEqual([file(both, "blkio.weight"), file(both, "blkio.bfq.weight")], ["42", "default 100\n"]);
});

test("without a weight file a weight is UnsupportedError naming both files; throttles alone still apply and read", (t) => {
  const dir = fixture(t, { "blkio.throttle.read_bps_device": "8:0 1048576\n8:16 0\n", "blkio.throttle.write_iops_device": "8:0 100\n" });
  assert.throws(() => must(blkioV1.apply)(dir, { blkioWeight: 300 }), (e: unknown) => causedBy(e, UnsupportedError) && /blkio\.weight.*blkio\.bfq\.weight/.test((e as Error).message));
  assert.deepEqual(must(blkioV1.read)(dir), { devices: [{ major: 8, minor: 0, readBps: 1048576, writeIops: 100 }] });
  // A declared device rule is written as "MAJ:MIN value" (one write per rule, as the kernel takes them).
  must(blkioV1.apply)(dir, { devices: [{ major: 8, minor: 16, readIops: 7 }] });
  assert.equal(file(dir, "blkio.throttle.read_iops_device"), "8:16 7");
});
