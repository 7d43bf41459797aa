// ps: the host's ps cut down to a container's pids, as `runc ps` prints it, and the json form.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { filterPsOutput, psJson, psTable } from "../../src/runtime/ociPs";
import { ValidationError } from "../../src/sys/errors";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { hasRunc, startRuncContainer } from "../helpers/runcContainer";

const pidsOf = (table: string): number[] => table.trim().split("\n").slice(1).map((l) => Number(l.trim().split(/\s+/)[1]));

test("json is the pid array on one line; the table keeps the header and the lines of those pids only", async (t) => {
  assert.equal(psJson([4535, 5121]), "[4535,5121]\n");
  assert.equal(psJson([]), "[]\n");
  const child = spawn("sleep", ["30"], { stdio: "ignore" });
  t.after(() => child.kill("SIGKILL"));
  const table = psTable([child.pid!]);
  assert.match(table.split("\n")[0]!, /^UID\s+PID\s+PPID/);
  assert.deepEqual(pidsOf(table), [child.pid]);
  assert.match(table, /sleep 30\n$/);
  assert.deepEqual(pidsOf(psTable([child.pid!], ["-o", "user,pid,args", "-e"])).length, 1);
  assert.throws(() => filterPsOutput("USER COMMAND\nroot x\n", [1]), (e: unknown) => e instanceof ValidationError && /no PID column/.test(e.message));
  assert.throws(() => psTable([1], ["-o", "args,pid", "-e"]), (e: unknown) => e instanceof ValidationError && /no pid in column 2/.test(e.message));
});

test("the table for a runc container's pids is what `runc ps` prints", { skip: needsRoot || (hasRunc ? false : "runc is not installed") }, async (t) => {
  const c = await startRuncContainer(testPrefix("ocips"), {});
  t.after(() => c.stop());
  const theirs = c.runc(["ps", c.id]);
  assert.equal(theirs.status, 0, theirs.stderr);
  const json = c.runc(["ps", "--format", "json", c.id]);
  assert.equal(json.stdout, psJson([c.pid]));
  const ours = psTable([c.pid]);
  assert.deepEqual(pidsOf(ours), pidsOf(theirs.stdout));
  assert.equal(ours.split("\n")[0], theirs.stdout.split("\n")[0]);
  assert.equal(ours.split("\n").length, theirs.stdout.split("\n").length);
});
