import { test } from "node:test";
import assert from "node:assert/strict";
import { parseSeccompStatus, readSeccompStatus } from "../../src/seccomp/inspect";
import { CorruptFileError, SysError } from "../../src/sys/errors";

test("parses the Seccomp lines of /proc/<pid>/status", () => {
  assert.deepEqual(parseSeccompStatus("Name:\tx\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t3\n"), { mode: "filter", noNewPrivs: true, filters: 3 });
  assert.deepEqual(parseSeccompStatus("NoNewPrivs:\t0\nSeccomp:\t1\n"), { mode: "strict", noNewPrivs: false });
  assert.deepEqual(parseSeccompStatus("Name:\tx\n"), { mode: "disabled", noNewPrivs: false });
  assert.throws(() => parseSeccompStatus("Seccomp:\t9\n", "/proc/7/status"), (e: unknown) => e instanceof CorruptFileError && e.path === "/proc/7/status" && /Seccomp value 9/.test(e.message));
});

test("reads this process and fails with ESRCH-like errors for a missing one", () => {
  assert.equal(readSeccompStatus("self").mode, "disabled");
  assert.throws(() => readSeccompStatus(0x3fffffff), (err: unknown) => err instanceof SysError && err.code === "ENOENT");
});
