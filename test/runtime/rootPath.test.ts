import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SysError } from "../../src/sys/errors";
import { SymlinkLoopError, resolveInRoot } from "../../src/runtime/rootPath";
import { testPrefix } from "../../fixtures/prefix";

test("a symlink loop in the rootfs is a SymlinkLoopError naming the path, not a made-up syscall failure", (t) => {
  const root = mkdtempSync(join(tmpdir(), `${testPrefix("rootloop")}-`));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  symlinkSync("/b", join(root, "a"));
  symlinkSync("a", join(root, "b"));
  assert.throws(() => resolveInRoot(root, "/a/x"), (e: unknown) => {
    assert.ok(e instanceof SymlinkLoopError, String(e));
    assert.ok(!(e instanceof SysError));
    assert.equal(e.path, "/a/x");
    assert.match(e.message, /^\/a\/x in the rootfs .*: more than 40 symbolic links/);
    return true;
  });
});
