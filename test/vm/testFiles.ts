// Which compiled tests the guest runs: every *.test.js under the test directories listed here,
// picked up by directory so that new tests join without touching the runner, plus the runtime's
// tests that place processes in cgroups or mount copy-on-write roots (the guest boots Debian 12's 6.1,
// whose overlayfs has no "lowerdir+"). net/ is there for the bridges, veths and iptables rules the
// CNI plugins make: the guest kernel loads their modules on demand (guest/stage2). What stays on the
// host, and why, is in HOST_ONLY_FILES and test/vm/README.md (measured under TCG on the 2-core CI
// machine).
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

/** dist/test subdirectories whose tests run in the guest (all but HOST_ONLY_FILES). */
export const GUEST_TEST_DIRS = ["cgroup", "ns", "seccomp", "sys", "security", "diff", "providers", "engine", "e2e", "net"] as const;

/** dist/test files run in the guest from directories that otherwise stay on the host. */
export const GUEST_TEST_FILES = ["runtime/launch.test.js", "runtime/lifecycle.test.js", "runtime/spec.test.js", "runtime/exec.test.js", "runtime/rootOverlay.test.js", "runtime/layeredRoot.test.js", "runtime/userNamespace.test.js", "runtime/usernsAuto.test.js", "ociCli/processModel.test.js", "ociCli/userNamespace.test.js"] as const;

/**
 * Files of GUEST_TEST_DIRS that run on the host only, with the reason: deployments through the CLI
 * whose kernel side (if any) is the same under cgroup v2 or tested there by another file, while each
 * costs minutes of the guest's budget.
 */
export const HOST_ONLY_FILES: Readonly<Record<string, string>> = {
  "engine/engine.test.js": "File resources only (no kernel object); 296 s in the guest, against 19 s on the host",
  "engine/stackConfig.test.js": "edits stack and config files through the CLI (no kernel object); 101 s in the guest",
  "engine/passphraseSecrets.test.js": "pure crypto and file parsing (PBKDF2 at 1,000,000 rounds, several keys): nothing of the kernel; not measured in the guest",
  "engine/secretsAtRest.test.js": "what the state, export and output hold (encryption, not the cgroup version); four CLI deployments, three of them File resources only; not measured in the guest",
  "engine/stateSafety.test.js": "checkpoint and lock files on a full or read-only tmpfs, with five CLI runs of File resources: nothing that differs under cgroup v2",
  "engine/checkFailures.test.js": "previews a Cgroup whose check fails through the CLI: nothing reaches the kernel; the dynamic provider alone needs most of the engine's 30 s start budget under TCG beside other files",
  "providers/ownership.test.js": "15 CLI deployments (refusals and imports), 3-6 per test against a 300 s guard where one takes 80-200 s under TCG; what differs under v2, the cgroup's owner xattr, runs in the guest in cgroup/ownerRecord.test.js",
};

/**
 * Deployments through the hostform CLI, one at a time after the others (HOSTFORM_VM_DEPLOYMENTS=0
 * leaves them out). Each starts a Pulumi program and the engine's dynamic provider, which takes
 * 4-10 s to load the Pulumi SDK under TCG: with the engine's default 30 s provider start they
 * failed beside other files, and on a busy host even alone, so the lane gives the provider 120 s
 * (run.ts) and each deployment test a 300 s guard.
 */
export const DEPLOYMENT_FILES = ["e2e/examples.test.js", "providers/engine.test.js"] as const;

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

/** The test files of one guest run, as absolute paths. */
export interface GuestTestFiles {
  /** Run two (HOSTFORM_VM_CONCURRENCY) at a time; the VM's canary last. */
  parallel: string[];
  /** Run one at a time, after the parallel ones: DEPLOYMENT_FILES when asked for. */
  serial: string[];
}

/**
 * The test files under distTest the guest runs. filters, when given, keep the files whose path below
 * distTest contains any of them (the canary always runs); deployments adds DEPLOYMENT_FILES. Below
 * distTest, because the checkout's own path must not match: in a worktree named vmnet, "net" chose
 * every file.
 */
export function guestTestFiles(distTest: string, filters: readonly string[] = [], deployments = false): GuestTestFiles {
  const files: string[] = [];
  for (const d of GUEST_TEST_DIRS) walk(join(distTest, d), files);
  for (const f of GUEST_TEST_FILES) {
    const p = join(distTest, f);
    try {
      if (statSync(p).isFile()) files.push(p);
    } catch {
      // not built (yet): nothing to run
    }
  }
  const hostOnly = Object.keys(HOST_ONLY_FILES).map((f) => join(distTest, f));
  const serial = DEPLOYMENT_FILES.map((f) => join(distTest, f));
  const chosen = files.filter((f) => !hostOnly.includes(f) && (filters.length === 0 || filters.some((x) => relative(distTest, f).includes(x))));
  return {
    parallel: [...chosen.filter((f) => !serial.includes(f)), join(distTest, "vm", "canary.test.js")],
    serial: deployments ? chosen.filter((f) => serial.includes(f)) : [],
  };
}
