#!/usr/bin/env node
"use strict";
// Runs every compiled test file with node:test. Kept as a script (not a shell glob in package.json)
// so that it works the same under npm, CI and by hand, and accepts a filter: node test/run.js cgroup
const { spawnSync } = require("node:child_process");
const { readdirSync, statSync } = require("node:fs");
const { join, relative } = require("node:path");

const root = join(__dirname, "..", "dist", "test");
const filters = process.argv.slice(2);
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      // VM tests run through their own runner (npm run test:v2), not on the host.
      if (relative(root, p) !== "vm") walk(p);
    } else if (name.endsWith(".test.js")) files.push(p);
  }
})(root);
const chosen = filters.length === 0 ? files : files.filter((f) => filters.some((x) => f.includes(x)));
if (chosen.length === 0) {
  console.error(`no test files match ${filters.join(" ")}`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ["--test", "--test-concurrency=2", "--test-reporter=spec", ...chosen], { stdio: "inherit" });
process.exit(r.status ?? 1);
