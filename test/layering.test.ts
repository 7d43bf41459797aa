// The layout is the architecture: imports point one way, sys -> cgroup / ns / net / seccomp / image -> runtime ->
// providers -> engine -> cli, and test/ and bench/ share what they both need through fixtures/.
// Checked on the sources, so a new import that points the wrong way fails here by name.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { test } from "node:test";

const REPO = join(__dirname, "..", "..");

/** Rank of each layer; a module may import its own layer and any lower one. */
const RANK: Record<string, number> = { sys: 0, cgroup: 1, ns: 1, net: 1, seccomp: 1, image: 1, runtime: 2, providers: 3, engine: 4, cli: 5 };

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** Relative imports of a file (import/export from, require, dynamic import), resolved against the repository. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:\bfrom\s+|\bimport\s+|\brequire\(\s*|\bimport\(\s*)["'](\.{1,2}\/[^"']+)["']/g)].map((m) => relative(REPO, resolve(dirname(file), m[1] ?? "")));
}

/** "sys", "cgroup", ... for src/<layer>/..., "providers" for providers/..., else the top-level directory. */
function layerOf(path: string): string {
  const [top, second] = path.split(sep);
  return top === "src" ? (second ?? "src") : (top ?? "");
}

test("src/ and providers/ import only their own layer and the layers below it", () => {
  const wrong: string[] = [];
  for (const file of [...sources(join(REPO, "src")), ...sources(join(REPO, "providers"))]) {
    const from = layerOf(relative(REPO, file));
    for (const target of importsOf(file)) {
      const to = layerOf(target);
      const a = RANK[from];
      const b = RANK[to];
      if (a === undefined || b === undefined || b > a || (b === a && to !== from)) wrong.push(`${relative(REPO, file)} (${from}) imports ${target} (${to})`);
    }
  }
  assert.deepEqual(wrong, []);
});

test("bench/ and test/ do not import each other; what both need is in fixtures/, which imports neither", () => {
  const wrong: string[] = [];
  const rules: Array<[string, string[]]> = [
    ["bench", ["test"]],
    ["test", ["bench"]],
    ["fixtures", ["test", "bench"]],
  ];
  for (const [dir, forbidden] of rules) {
    for (const file of sources(join(REPO, dir))) {
      for (const target of importsOf(file)) if (forbidden.includes(layerOf(target))) wrong.push(`${relative(REPO, file)} imports ${target}`);
    }
  }
  assert.deepEqual(wrong, []);
});
