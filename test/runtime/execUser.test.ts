import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveExecUser } from "../../src/runtime/execUser";
import { ValidationError } from "../../src/sys/errors";

const passwd = "# comment\nroot:x:0:0:root:/root:/bin/sh\nalice:x:1001:1002::/home/alice:/bin/sh\nbroken line\n";
const group = "root:x:0:\nalice:x:1002:\nstaff:x:50:bob,alice\nwheel:x:10:alice\n";

test("numeric users need no entry; a known uid takes its primary group and memberships", () => {
  assert.deepEqual(resolveExecUser("4242", passwd, group), { uid: 4242, gid: 0, additionalGids: [] });
  assert.deepEqual(resolveExecUser("4242:7", "", ""), { uid: 4242, gid: 7, additionalGids: [] });
  assert.deepEqual(resolveExecUser("1001", passwd, group), { uid: 1001, gid: 1002, additionalGids: [50, 10] });
});

test("names resolve through passwd and group", () => {
  assert.deepEqual(resolveExecUser("alice", passwd, group), { uid: 1001, gid: 1002, additionalGids: [50, 10] });
  assert.deepEqual(resolveExecUser("alice:staff", passwd, group), { uid: 1001, gid: 50, additionalGids: [10] });
  assert.deepEqual(resolveExecUser("root:1002", passwd, group), { uid: 0, gid: 1002, additionalGids: [] });
});

test("unknown names and malformed users are ValidationErrors on the user field", () => {
  const isUserError = (re: RegExp) => (e: unknown) => e instanceof ValidationError && e.field === "user" && re.test(e.message);
  assert.throws(() => resolveExecUser("mallory", passwd, group), isUserError(/'mallory' is not in the container's \/etc\/passwd/));
  assert.throws(() => resolveExecUser("alice:nope", passwd, group), isUserError(/group 'nope'/));
  assert.throws(() => resolveExecUser("a:b:c", passwd, group), isUserError(/is not a user/));
  assert.throws(() => resolveExecUser(":5", passwd, group), isUserError(/is not a user/));
  assert.throws(() => resolveExecUser("99999999999", passwd, group), isUserError(/out of range/));
  assert.throws(() => resolveExecUser("root", "", ""), isUserError(/'root' is not in/));
});
