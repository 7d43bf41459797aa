#!/usr/bin/env node
"use strict";
// Runs every benchmark (dist/bench/<name>/run.js) one after another, or those named on the command line:
//   npm run bench            all of them
//   node bench/run.js start  only bench/start
// Benchmarks print medians and ratios against runc/crun measured in the same run; they never fail a build.
const { spawnSync } = require("node:child_process");
const { existsSync, readdirSync } = require("node:fs");
const { join } = require("node:path");

const root = join(__dirname, "..", "dist", "bench");
const wanted = process.argv.slice(2);
const names = existsSync(root) ? readdirSync(root).filter((n) => existsSync(join(root, n, "run.js"))).sort() : [];
const chosen = wanted.length === 0 ? names : names.filter((n) => wanted.includes(n));
if (chosen.length === 0) {
  console.error(`no benchmarks${wanted.length > 0 ? ` named ${wanted.join(" ")}` : ""} (built: ${names.join(" ") || "none"})`);
  process.exit(1);
}
let failed = 0;
for (const name of chosen) {
  console.log(`== bench/${name}`);
  const r = spawnSync(process.execPath, [join(root, name, "run.js")], { stdio: "inherit" });
  if (r.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
