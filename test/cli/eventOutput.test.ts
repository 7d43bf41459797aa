// What the engine commands print for machines and what exec gives a terminal (issue 17, item 5):
// --json carries no debug diagnostics unless --debug asks for them, and exec -t hands the
// caller's TERM to the program.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { createDisplay } from "../../src/cli/display";
import { execEnv } from "../../src/cli/commands/exec";
import type { EngineEvent } from "../../src/engine/events";

function jsonLines(debug: boolean, events: EngineEvent[]): unknown[] {
  let text = "";
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  const d = createDisplay({ json: true, interactive: false, detailed: false, debug, out });
  for (const e of events) d.sink(e);
  d.close();
  return text.trim().split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as unknown);
}

test("--json: debug diagnostics only with --debug; every other event always", () => {
  const events: EngineEvent[] = [
    { type: "start", operation: "update", project: "p", stack: "dev", dryRun: false },
    { type: "diagnostic", severity: "debug", message: "provider chatter" },
    { type: "diagnostic", severity: "warning", message: "a warning" },
  ];
  assert.deepEqual(jsonLines(false, events), [events[0], events[2]]);
  assert.deepEqual(jsonLines(true, events), events);
});

test("on a terminal, something moves while the program runs and no step is in flight", async () => {
  let text = "";
  const out = Object.assign(new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  }), { isTTY: true, columns: 80, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
  const d = createDisplay({ json: false, interactive: true, detailed: false, debug: false, out });
  d.sink({ type: "start", operation: "update", project: "p", stack: "dev", dryRun: false });
  // ora draws on its own timer (or, on a stream it will not animate, once at start).
  await new Promise((r) => setTimeout(r, 200));
  d.close();
  assert.match(text, /running the program/);
});

test("exec -t gives the program the caller's TERM unless --env sets one; without -t nothing is added", () => {
  assert.deepEqual(execEnv(undefined, true, "xterm-256color"), ["TERM=xterm-256color"]);
  assert.deepEqual(execEnv(["A=1"], true, undefined), ["TERM=xterm", "A=1"]);
  assert.deepEqual(execEnv(["TERM=vt100"], true, "xterm-256color"), ["TERM=vt100"]);
  assert.deepEqual(execEnv(["A=1"], false, "xterm-256color"), ["A=1"]);
});
