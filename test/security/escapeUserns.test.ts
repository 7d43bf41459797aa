// The escape attempts (escapeSuite.ts) from a default container with userns "auto" (issue 16):
// every one fails as it does without a user namespace, and in addition root inside is an
// unprivileged uid outside: the mapped one, which owns nothing of the host's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { autoUsernsUnavailable } from "../helpers/usernsAuto";
import { autoBlocks } from "../../src/ns/subordinateIds";
import { statusField } from "../helpers/procStatus";
import { defineEscapeTests, escapeSkip } from "./escapeSuite";

const skip = escapeSkip() || autoUsernsUnavailable();
const suite = defineEscapeTests("secuserns", { userns: "auto" }, skip);

test("root inside is the mapped uid outside: the host sees the container's PID 1 as its block's first id, with no capability in the host's namespace", { skip }, async () => {
  const h = suite.containers();
  const s = await h.start(h.spec(["sleep", "60"]));
  try {
    const hostId = s.mappings![0]!.hostID;
    const status = readFileSync(`/proc/${s.container.pid}/status`, "utf8");
    assert.equal(statusField(status, "Uid"), `${hostId}\t${hostId}\t${hostId}\t${hostId}`);
    assert.equal(statusField(status, "Gid"), `${hostId}\t${hostId}\t${hostId}\t${hostId}`);
    assert.ok(autoBlocks().some((b) => b.start === hostId), "a block of hostform's range");
    // Its user namespace is not the host's, and maps only the block.
    assert.equal(readFileSync(`/proc/${s.container.pid}/uid_map`, "utf8").trim().split(/\s+/).join(" "), `0 ${hostId} 65536`);
  } finally {
    process.kill(s.container.pid, "SIGKILL");
    await s.container.exited;
    await h.remove(s.cgroup);
  }
});
