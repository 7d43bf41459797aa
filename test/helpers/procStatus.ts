import assert from "node:assert/strict";

/** The value of one field of a /proc/<pid>/status text ("CapEff", "NoNewPrivs", ...); asserts it is there. */
export function statusField(status: string, name: string): string {
  const line = status.split("\n").find((l) => l.startsWith(`${name}:`));
  assert.ok(line !== undefined, `${name} in ${status}`);
  return line.slice(name.length + 1).trim();
}
