// The state store: atomic writes that round-trip (the typed pending restart included), and a state
// file that is not what writeState writes read as a CorruptFileError naming the file, never as a
// container that does not exist.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CorruptFileError } from "../../src/sys/errors";
import { exitNoteWithRestart, listStateIds, makeContainerDir, readState, statePath, writeState, type ContainerState } from "../../src/runtime/state";
import { testPrefix } from "../../fixtures/prefix";

const prefix = testPrefix("state");
const base = mkdtempSync(join(tmpdir(), `${prefix}-`));
let saved: string | undefined;

before(() => {
  saved = process.env.HOSTFORM_RUN_DIR;
  process.env.HOSTFORM_RUN_DIR = base;
});

after(() => {
  if (saved === undefined) delete process.env.HOSTFORM_RUN_DIR;
  else process.env.HOSTFORM_RUN_DIR = saved;
  rmSync(base, { recursive: true, force: true });
});

function sample(id: string): ContainerState {
  return {
    ociVersion: "1.0.2", id, status: "stopped", pid: 0, bundle: "/b", annotations: {}, pidStartTime: 0, created: "2025-01-01T00:00:00.000Z",
    exitCode: 1, signal: null, exitNote: "exit code unknown: test", pendingRestart: { at: "2025-01-01T00:00:01.000Z", delayMs: 200, attempt: 1 },
    restartCount: 2, restartPolicy: "always", stopSignal: "SIGTERM", stopTimeout: 10, cgroup: id, ownsCgroup: true, logPath: "/b/log",
    logMaxBytes: 10, logFiles: 1, stdio: "log", spec: { ociVersion: "1.0.2", process: { args: ["true"], cwd: "/" }, root: { path: "/" } } as ContainerState["spec"],
  };
}

test("a written state reads back the same, pending restart included, with no temporary file left", () => {
  const id = `${prefix}-ok`;
  makeContainerDir(id);
  writeState(sample(id));
  assert.deepEqual(readState(id), sample(id));
  assert.deepEqual(readdirSync(join(base, "containers", id)), ["state.json"]);
  assert.ok(listStateIds().includes(id));
  assert.equal(readState(`${prefix}-none`), undefined, "no directory: no container");
});

test("corrupt state files are CorruptFileErrors naming the file and what is wrong", () => {
  const cases: Array<[string, string, RegExp]> = [
    ["json", "{\"id\": ", /is not valid JSON/],
    ["array", "[]", /is not a JSON object/],
    ["field", JSON.stringify({ ...sample("x"), pid: "12" }), /pid is "12", not a pid/],
    ["missing", JSON.stringify({ ...sample("x"), cgroup: undefined }), /cgroup is missing/],
    ["pending", JSON.stringify({ ...sample("x"), pendingRestart: { at: "soon" } }), /pendingRestart is .*not \{ at, delayMs, attempt \}/],
    ["id", JSON.stringify(sample("someone-else")), /holds container "someone-else"/],
  ];
  for (const [name, text, problem] of cases) {
    const id = `${prefix}-bad-${name}`;
    mkdirSync(join(base, "containers", id), { recursive: true });
    // Every case but "id" is otherwise the state of this very container.
    writeFileSync(statePath(id), text.replace('"id":"x"', `"id":"${id}"`));
    assert.throws(() => readState(id), (e: unknown) => e instanceof CorruptFileError && e.path === statePath(id) && problem.test(e.problem), name);
  }
});

test("exitNoteWithRestart shows the note, and a pending restart's reason and delay as exitNote used to", () => {
  assert.equal(exitNoteWithRestart({}), undefined);
  assert.equal(exitNoteWithRestart({ exitNote: "start failed: x" }), "start failed: x");
  assert.equal(exitNoteWithRestart({ pendingRestart: { at: "", delayMs: 400, attempt: 2 } }), "restarting in 400 ms");
  assert.equal(
    exitNoteWithRestart({ exitNote: "restart failed: y", pendingRestart: { at: "", delayMs: 100, attempt: 0, reason: "on-failure counts an unknown exit code as a failure" } }),
    "restart failed: y; on-failure counts an unknown exit code as a failure; restarting in 100 ms",
  );
});
