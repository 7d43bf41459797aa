import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { describeError } from "../../src/engine/errorText";
import { acquireStackLock, lockPath } from "../../src/engine/stackLock";
import { checkpointPath, readCheckpoint, writeCheckpoint } from "../../src/engine/stateFile";
import { StackSecrets } from "../../src/engine/secrets/stackSecrets";
import type { Snapshot } from "../../src/engine/state";
import { atomicWrite, backupPath, FileWriteError } from "../../src/sys/atomicFile";
import { CorruptFileError, SysError } from "../../src/sys/errors";
import { makeProgram } from "../helpers/engineProgram";

function snapshotWith(...ids: string[]): Snapshot {
  const resources = ids.map((id) => ({
    urn: `urn:pulumi:dev::p::pulumi-nodejs:dynamic/hostform:File::${id}`,
    type: "pulumi-nodejs:dynamic/hostform:File",
    custom: true,
    id,
    inputs: { content: id },
    outputs: { content: id },
    dependencies: [],
  }));
  return { resources, pendingOperations: [] };
}

/** These snapshots hold no secret: their stack never needs a passphrase or a salt. */
const NO_SECRETS = new StackSecrets({ stack: "dev", salt: undefined, saveSalt: () => assert.fail("no secret to seal"), passphrase: () => assert.fail("no secret to seal") });

function tempStateDir(): string {
  return mkdtempSync(join(tmpdir(), `${testPrefix("state")}-`));
}

test("every checkpoint write keeps the one it replaces as <file>.bak, as Pulumi's file backend does", () => {
  const dir = tempStateDir();
  try {
    writeCheckpoint("p", "dev", snapshotWith("a"), NO_SECRETS, dir);
    const file = checkpointPath("p", "dev", dir);
    assert.equal(existsSync(backupPath(file)), false, "the first write has nothing to keep");
    const first = readFileSync(file, "utf8");
    writeCheckpoint("p", "dev", snapshotWith("a", "b"), NO_SECRETS, dir);
    assert.equal(readFileSync(backupPath(file), "utf8"), first);
    assert.deepEqual(readCheckpoint("p", "dev", NO_SECRETS, dir)?.resources.map((r) => r.id), ["a", "b"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a damaged checkpoint names its backup and how to restore it; the advice works", () => {
  const dir = tempStateDir();
  try {
    writeCheckpoint("p", "dev", snapshotWith("a"), NO_SECRETS, dir);
    writeCheckpoint("p", "dev", snapshotWith("a", "b"), NO_SECRETS, dir);
    const file = checkpointPath("p", "dev", dir);
    writeFileSync(file, '{"version": 3, "checkpoint": {');
    const err = (() => {
      try {
        readCheckpoint("p", "dev", NO_SECRETS, dir);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof CorruptFileError, String(err));
    assert.equal(err.path, file);
    assert.match(err.message, new RegExp(`restore it with 'cp ${backupPath(file)} ${file}'`));
    // Following the advice gives back the state before the last write.
    spawnSync("cp", [backupPath(file), file]);
    assert.deepEqual(readCheckpoint("p", "dev", NO_SECRETS, dir)?.resources.map((r) => r.id), ["a"]);

    // Without a backup the error says so instead of pointing at a file that is not there.
    rmSync(backupPath(file));
    writeFileSync(file, "not json");
    assert.throws(() => readCheckpoint("p", "dev", NO_SECRETS, dir), (e: Error) => e instanceof CorruptFileError && /there is no readable backup/.test(e.message) && !/restore it with/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a failed write leaves the file as it was, no temp file, and an error naming the file, errno and the fix", () => {
  const dir = tempStateDir();
  try {
    const file = join(dir, "state.json");
    atomicWrite(file, "old\n");
    // A directory where the temp file's rename lands fails the write after the text is on disk.
    const err = (() => {
      try {
        atomicWrite(join(dir, "missing", "state.json"), "new\n");
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof FileWriteError, String(err));
    assert.equal(err.code, "ENOENT");
    assert.equal(err.path, join(dir, "missing", "state.json"));
    assert.equal(readFileSync(file, "utf8"), "old\n");
    assert.deepEqual(spawnSync("ls", [dir], { encoding: "utf8" }).stdout.trim().split("\n"), ["state.json"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a Node system error below a SysError is not shown twice", () => {
  let low: unknown;
  try {
    readFileSync("/nonexistent/hostform-test");
  } catch (e) {
    low = e;
  }
  const text = describeError(SysError.fromNode(low, "read checkpoint"));
  assert.equal(text.match(/ENOENT/g)?.length, 1, text);
});

test("a lock is taken whole: its file always names its holder", () => {
  const dir = tempStateDir();
  try {
    const lock = acquireStackLock("p", "dev", "hostform up", () => undefined, dir);
    const holder = JSON.parse(readFileSync(lockPath("p", "dev", dir), "utf8")) as { pid: number; command: string };
    assert.deepEqual([holder.pid, holder.command], [process.pid, "hostform up"]);
    lock.release();
    assert.equal(existsSync(lockPath("p", "dev", dir)), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

interface UpResult {
  code: number | null;
  stderr: string;
  ms: number;
}
interface Seen {
  checkpoint: string;
  stacks: string[];
  locks: string[];
  live: string;
}

test("a full, nearly full or read-only state disk fails up cleanly: old checkpoint intact, no lock left, the file and the fix named", { skip: needsRoot, timeout: 300_000 }, () => {
  const p = makeProgram();
  try {
    // The child mounts a 1 MiB tmpfs on the state directory in its own mount namespace: the mount
    // cannot outlive it, whatever happens to this test.
    const r = spawnSync("unshare", ["-m", "--propagation", "private", process.execPath, join(__dirname, "fullDiskChild.js"), p.dir, p.state, p.live], { encoding: "utf8", timeout: 280_000 });
    assert.equal(r.status, 0, r.stderr);
    const o = JSON.parse(r.stdout) as Record<string, UpResult & Seen>;
    const file = checkpointPath("files", "dev", p.state);
    assert.equal(o.first!.code, 0, o.first!.stderr);
    assert.deepEqual(o.afterFirst!.stacks, ["dev.json", "dev.json.bak"]);

    // Full: the lock cannot be created, and that is said with its file and the fix, not as a stack trace.
    assert.equal(o.full!.code, 1, o.full!.stderr);
    assert.match(o.full!.stderr, /could not create .*hostform\.json: .*ENOSPC \(no space left on device\); the filesystem holding .* is full: free space there/);
    assert.doesNotMatch(o.full!.stderr, /\n\s+at /, "no stack trace");
    assert.equal(o.afterFull!.checkpoint, o.afterFirst!.checkpoint);
    assert.deepEqual(o.afterFull!.locks, [], "no empty lock left to block the next run");

    // Nearly full: the lock is taken, the first checkpoint write fails before any resource changes.
    assert.equal(o.nearlyFull!.code, 1, o.nearlyFull!.stderr);
    assert.match(o.nearlyFull!.stderr, new RegExp(`the state could not be written: could not write ${file} \\(it is unchanged\\)`));
    assert.match(o.nearlyFull!.stderr, /ENOSPC/);
    assert.equal(o.afterNearlyFull!.checkpoint, o.afterFirst!.checkpoint);
    assert.deepEqual(o.afterNearlyFull!.stacks, ["dev.json", "dev.json.bak"], "no temp file left");
    assert.deepEqual(o.afterNearlyFull!.locks, []);
    assert.equal(o.afterNearlyFull!.live, "one", "nothing changed on the host without a state that records it");

    // Space back: the next up runs at once (no lock to wait out) and converges.
    assert.equal(o.freed!.code, 0, o.freed!.stderr);
    assert.equal(o.afterFreed!.live, "four");

    // Read-only: named as such, the checkpoint and the lock directory untouched.
    assert.equal(o.readOnly!.code, 1, o.readOnly!.stderr);
    assert.match(o.readOnly!.stderr, /EROFS .*read-only: remount it read-write, or point HOSTFORM_STATE_DIR at a writable directory/);
    assert.equal(o.afterReadOnly!.checkpoint, o.afterFreed!.checkpoint);
    assert.deepEqual(o.afterReadOnly!.locks, []);
    assert.equal(o.afterReadOnly!.live, "four");
  } finally {
    p.cleanup();
  }
});
