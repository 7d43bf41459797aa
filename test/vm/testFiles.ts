// Which compiled tests the guest runs: every *.test.js under the kernel-facing test directories,
// picked up by directory so that new tests join without touching the runner, plus the runtime's
// launch and lifecycle tests. The rest of test/runtime (exec, oci CLI, restart, logs, supervisor)
// and test/security, test/diff run on the host only: each Node start costs 1-2.5 s under TCG, and
// they exercise nothing of cgroup v2 that launch and lifecycle do not.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** dist/test subdirectories whose tests all run in the guest. */
export const KERNEL_TEST_DIRS = ["cgroup", "ns", "seccomp", "sys"] as const;

/** dist/test files run in the guest from directories that otherwise stay on the host. */
export const KERNEL_TEST_FILES = ["runtime/launch.test.js", "runtime/lifecycle.test.js", "runtime/spec.test.js"] as const;

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
 * Absolute paths of the test files: the kernel test directories and files under distTest, then the
 * VM's own canary. filters, when given, keep the files whose path contains any of them (the canary
 * always runs).
 */
export function kernelTestFiles(distTest: string, filters: readonly string[] = []): string[] {
  const files: string[] = [];
  for (const d of KERNEL_TEST_DIRS) walk(join(distTest, d), files);
  for (const f of KERNEL_TEST_FILES) {
    const p = join(distTest, f);
    try {
      if (statSync(p).isFile()) files.push(p);
    } catch {
      // not built (yet): nothing to run
    }
  }
  const chosen = filters.length === 0 ? files : files.filter((f) => filters.some((x) => f.includes(x)));
  return [...chosen, join(distTest, "vm", "canary.test.js")];
}
