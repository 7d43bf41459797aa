import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { release } from "node:os";

const bin = join(__dirname, "..", "..", "..", "bin", "hostform");

test("host info --json reports the cgroup layout, kernel and libseccomp", () => {
  const out = execFileSync(process.execPath, [bin, "host", "info", "--json"], { encoding: "utf8" });
  const info = JSON.parse(out) as {
    kernel: { release: string };
    cgroup: { mode: string; v1Mounts: Record<string, string>; v2Controllers: string[]; unifiedMount?: string };
    libseccomp: string;
    tools: Record<string, string | null>;
  };
  assert.equal(info.kernel.release, release());
  assert.ok(["v1", "v2", "hybrid"].includes(info.cgroup.mode));
  if (info.cgroup.mode === "v2") assert.equal(Object.keys(info.cgroup.v1Mounts).length, 0);
  else assert.ok(Object.keys(info.cgroup.v1Mounts).length > 0, "v1 and hybrid hosts have v1 controllers");
  if (info.cgroup.mode !== "v1") assert.ok(info.cgroup.unifiedMount, "v2 and hybrid hosts have a cgroup2 mount");
  assert.match(info.libseccomp, /^2\.\d+\.\d+$/);
  assert.ok("nsenter" in info.tools && "unshare" in info.tools);
});

test("host info prints a readable summary", () => {
  const out = execFileSync(process.execPath, [bin, "host", "info"], { encoding: "utf8" });
  assert.match(out, /^kernel: +\S+/m);
  assert.match(out, /^cgroups: +(v1|v2|hybrid)/m);
  assert.match(out, /^libseccomp: +2\./m);
});

test("an unknown command or flag is a usage error with exit 2, not a stack trace", () => {
  const r1 = spawnSync(process.execPath, [bin, "frobnicate"], { encoding: "utf8" });
  assert.equal(r1.status, 2);
  assert.match(r1.stderr, /unknown command 'frobnicate'/);
  const r2 = spawnSync(process.execPath, [bin, "host", "info", "--jsn"], { encoding: "utf8" });
  assert.equal(r2.status, 2);
  assert.match(r2.stderr, /Unknown option '--jsn'/);
  assert.doesNotMatch(r2.stderr, /\n\s+at /);
});
