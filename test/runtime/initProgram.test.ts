// Program resolution as the init does it after pivot_root, here against a temporary tree of the
// host (the paths are absolute either way).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SysError, ValidationError } from "../../src/sys/errors";
import type { ContainerSpec } from "../../src/runtime/spec";
import { defaultSpec } from "../../src/runtime/specgen/defaults";
import { resolveProgram } from "../../src/runtime/init/execProgram";
import { testPrefix } from "../../fixtures/prefix";

function specFor(program: string, path: string[], cwd = "/"): ContainerSpec {
  const s = defaultSpec({ rootfs: "/", args: [program] }) as ContainerSpec;
  s.process.env = [`PATH=${path.join(":")}`];
  s.process.cwd = cwd;
  return s;
}

test("resolveProgram searches PATH as execvp does", (t) => {
  const dir = mkdtempSync(join(tmpdir(), `${testPrefix("program")}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const d = (name: string) => join(dir, name);
  for (const name of ["empty", "bin", "later", "isdir/tool", "noexec"]) mkdirSync(d(name), { recursive: true });
  writeFileSync(d("bin/tool"), "#!/bin/sh\n", { mode: 0o755 });
  writeFileSync(d("later/tool"), "#!/bin/sh\n", { mode: 0o755 });
  writeFileSync(d("noexec/tool"), "#!/bin/sh\n", { mode: 0o644 });
  symlinkSync(d("loop"), d("loop"));

  assert.equal(resolveProgram(specFor("tool", [d("empty"), d("bin"), d("later")])), d("bin/tool"), "the first hit wins");
  assert.equal(resolveProgram(specFor("tool", [d("isdir"), d("later")])), d("later/tool"), "a directory is no program");
  assert.equal(resolveProgram(specFor("tool", [d("bin/tool"), d("later")])), d("later/tool"), "ENOTDIR: next entry");
  assert.equal(resolveProgram(specFor("tool", [d("noexec"), d("later")])), d("later/tool"), "a later executable beats a denied one");
  assert.equal(resolveProgram(specFor(d("bin/tool"), [])), d("bin/tool"), "an absolute path is used as it is");
  assert.equal(resolveProgram(specFor("./tool", [d("later")], d("bin"))), d("bin/tool"), "a relative path is relative to cwd");

  assert.throws(() => resolveProgram(specFor("tool", [d("noexec")])), (e: unknown) => e instanceof ValidationError && e.field === "process.args[0]" && /'.*noexec\/tool' is not executable by uid 0/.test(e.message));
  assert.throws(() => resolveProgram(specFor("nope", [d("empty"), d("bin")])), (e: unknown) => e instanceof ValidationError && /'nope' was not found in the container \(searched PATH\)/.test(e.message));
  assert.throws(() => resolveProgram(specFor(d("bin/nope"), [])), (e: unknown) => e instanceof ValidationError && !/searched PATH/.test(e.message));
  // Not a miss but a broken path: reported with the call that failed, as execvp would return it.
  assert.throws(() => resolveProgram(specFor("tool", [d("loop"), d("later")])), (e: unknown) => e instanceof SysError && e.code === "ELOOP" && e.syscall === "access");
});
