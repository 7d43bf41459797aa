// The init unshares its mount namespace when it builds the root (init/rootfs.ts), on its main thread:
// libuv's pool threads stay in the host's mount namespace, with the host's root, until execve. Any
// asynchronous file work from the init would run on one of them and see the host's tree instead of
// the container's. So the init's modules do synchronous work only; checked on the sources, so a new
// `await` or fs/promises call there fails here by file and line.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

const INIT = join(__dirname, "..", "..", "..", "src", "runtime", "init");

/** What would put file work on a pool thread, or defer the init's steps behind the event loop. */
const ASYNC = [/\bawait\b/, /\basync\s+(function\b|\(|\w+\s*=>)/, /\.then\(/, /fs\/promises/, /\bfs\.(?!\w+Sync\b)\w+\(/, /\bfsp?\.promises\b/];

test("the container init's modules do only synchronous work (its pool threads keep the host's mount namespace)", () => {
  const found: string[] = [];
  for (const name of readdirSync(INIT).filter((n) => n.endsWith(".ts"))) {
    const lines = readFileSync(join(INIT, name), "utf8").split("\n");
    lines.forEach((line, i) => {
      const code = line.replace(/\/\/.*$/, "");
      if (ASYNC.some((re) => re.test(code))) found.push(`src/runtime/init/${name}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.ok(readdirSync(INIT).length > 10, "the init's sources were found");
  assert.deepEqual(found, []);
});
