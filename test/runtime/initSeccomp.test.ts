import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeFilter, planSeccomp } from "../../src/runtime/init/seccomp";

test("without no_new_privs the filter goes on early (it needs CAP_SYS_ADMIN); with it, right before execve", () => {
  const bpf = Buffer.from([6, 0, 0, 0, 0, 0, 0xff, 0x7f]);
  assert.deepEqual(planSeccomp(bpf, false), { early: bpf });
  assert.deepEqual(planSeccomp(bpf, true), { atExec: bpf });
  assert.deepEqual(planSeccomp(undefined, false), {});
  assert.deepEqual(decodeFilter(bpf.toString("base64")), bpf);
  assert.equal(decodeFilter(undefined), undefined);
});
