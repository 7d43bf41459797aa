// `hostform-runtime spec` writes what `runc spec` writes, and hostform runs it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultBundleSpec } from "../../src/runtime/specTemplate";
import { validateSpec } from "../../src/runtime/spec";
import { UnsupportedError, ValidationError } from "../../src/sys/errors";
import { RUNC_SPEC_CONFIG } from "../../fixtures/runcSpec";
import { testPrefix } from "../../fixtures/prefix";

/** `runc spec` in a fresh directory of this test; the stored copy where runc is not installed. */
function runcSpec(): Record<string, unknown> {
  const dir = mkdtempSync(join(tmpdir(), `${testPrefix("spec")}-`));
  try {
    const r = spawnSync("runc", ["spec"], { cwd: dir, encoding: "utf8" });
    if (r.error !== undefined) return JSON.parse(JSON.stringify(RUNC_SPEC_CONFIG)) as Record<string, unknown>;
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Record<string, unknown>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("the template is runc's config.json but for the spec version and hostname", () => {
  const ours = defaultBundleSpec();
  const theirs = runcSpec();
  assert.deepEqual({ ...ours, ociVersion: "", hostname: "" }, { ...theirs, ociVersion: "", hostname: "" });
  assert.deepEqual([ours.ociVersion, ours.hostname], ["1.0.2", "hostform"]);
});

test("hostform accepts the template (a terminal only once console sockets are supported)", () => {
  const s = validateSpec(defaultBundleSpec({ terminal: false }));
  assert.deepEqual(s.process.args, ["sh"]);
  assert.equal(s.root.readonly, true);
  try {
    validateSpec(defaultBundleSpec());
  } catch (e) {
    assert.ok(e instanceof ValidationError && e.field === "process.terminal", String(e));
  }
  assert.throws(() => defaultBundleSpec({ rootless: true }), (e: unknown) => e instanceof UnsupportedError && /user namespace/.test(e.message));
});
