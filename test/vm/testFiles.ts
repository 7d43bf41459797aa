// Which compiled tests the guest runs: every *.test.js under the kernel-facing test directories,
// picked up by directory so that new tests join without touching the runner.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** dist/test subdirectories whose tests touch cgroups, namespaces, seccomp or containers. */
export const KERNEL_TEST_DIRS = ["cgroup", "ns", "seccomp", "sys", "runtime"] as const;

function walk(dir: string, out: string[]): void {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return; // a directory that does not exist yet has no tests
  }
  for (const name of names) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith(".test.js")) out.push(p);
  }
}

/**
 * Absolute paths of the test files: the kernel test directories under distTest, then the VM's own
 * canary. filters, when given, keep the files whose path contains any of them (the canary always runs).
 */
export function kernelTestFiles(distTest: string, filters: readonly string[] = []): string[] {
  const files: string[] = [];
  for (const d of KERNEL_TEST_DIRS) walk(join(distTest, d), files);
  const chosen = filters.length === 0 ? files : files.filter((f) => filters.some((x) => f.includes(x)));
  return [...chosen, join(distTest, "vm", "canary.test.js")];
}
