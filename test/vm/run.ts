// npm run test:v2: runs the kernel tests inside a pure cgroup-v2 guest (Debian's kernel booted with
// cgroup_no_v1=all under qemu), because this project's CI host is a v1/hybrid machine while most
// users' hosts are pure v2. Exit status: the tests' own, or 1 when the guest fails to boot, never
// prints its end marker or times out (its console tail is printed), 2 when a prerequisite is missing.
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { HostformError, ValidationError } from "../../src/sys/errors";
import { cacheRoot, prepareGuestImages } from "./imageCache";
import { prepareModulesImage } from "./modulesImage";
import { buildRepoImage } from "./repoImage";
import { renderJob } from "./jobFile";
import { type BootOutcome, bootGuest } from "./qemu";
import { checkPrerequisites } from "./prerequisites";
import { guestTestFiles } from "./testFiles";

/** The serials by which the guest's stage 2 finds its disks (guest/stage2 spells them too). */
const REPO_SERIAL = "hostform-repo";
const MODULES_SERIAL = "hostform-modules";

/** Runner settings read from the environment; everything else named HOSTFORM_* reaches the tests. */
const RUNNER_ENV = ["HOSTFORM_VM_TIMEOUT", "HOSTFORM_VM_SMP", "HOSTFORM_VM_MEMORY", "HOSTFORM_VM_KERNEL", "HOSTFORM_VM_CACHE",
  "HOSTFORM_VM_VERBOSE", "HOSTFORM_VM_APPEND", "HOSTFORM_VM_CPU", "HOSTFORM_VM_CONCURRENCY",
  "HOSTFORM_VM_TEST_TIMEOUT", "HOSTFORM_VM_DEPLOYMENTS"];

function positiveInt(name: string, fallback: number, hint: string): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new ValidationError(name, `'${raw}' is not a positive integer`, hint);
  return n;
}

/** The checkout this runner was compiled in: dist/test/vm/run.js -> the repository root. */
function repoRoot(): string {
  const root = resolve(__dirname, "..", "..", "..");
  if (!existsSync(join(root, "package.json")) || !existsSync(join(root, "test", "vm", "guest", "init"))) {
    throw new HostformError(`cannot find the repository around ${__dirname} (expected dist/test/vm inside a checkout)`);
  }
  return root;
}

/** HOSTFORM_* variables (minus the runner's own) and colour settings, for the tests in the guest. */
function guestEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && k.startsWith("HOSTFORM_") && !RUNNER_ENV.includes(k)) env[k] = v;
  }
  for (const k of ["NO_COLOR", "FORCE_COLOR"]) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  // Under emulation the dynamic provider needs 4-10 s of its 30 s start alone, and more beside other work.
  env.HOSTFORM_PROVIDER_START_TIMEOUT_MS ??= "120000";
  // Each restart starts a Node init, 1-2 s under emulation: 20 restarts there show what 100 show on the host.
  env.HOSTFORM_TEST_RESTARTS ??= "20";
  // The guest console is a terminal, so node would colour its output even into a CI log.
  if (!process.stdout.isTTY && env.FORCE_COLOR === undefined) env.NO_COLOR = "1";
  return env;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function report(outcome: BootOutcome, timeoutS: number): number {
  const tailOf = (tail: string[]): string => `--- last ${tail.length} lines of the guest console ---\n${tail.join("\n")}\n--- end of guest console ---\n`;
  switch (outcome.kind) {
    case "finished": {
      const boot = outcome.bootMs !== undefined ? `guest up after ${seconds(outcome.bootMs)}, ` : "";
      process.stdout.write(`\ntest:v2: tests exited with status ${outcome.status} (${boot}VM total ${seconds(outcome.totalMs)})\n`);
      return outcome.status;
    }
    case "timeout":
      process.stderr.write(`\ntest:v2: FAILED: timeout after ${timeoutS} s (HOSTFORM_VM_TIMEOUT); qemu killed\n${tailOf(outcome.tail)}`);
      return 1;
    case "no-marker":
      process.stderr.write(`\ntest:v2: FAILED: qemu ended (${outcome.qemuExit}) after ${seconds(outcome.totalMs)} without the guest's end marker: ` +
        `it did not boot, or its init failed\n${tailOf(outcome.tail)}`);
      return 1;
    case "spawn-failed":
      process.stderr.write(`\ntest:v2: FAILED: cannot start qemu: ${outcome.message}\n${tailOf(outcome.tail)}`);
      return 1;
  }
}

async function main(argv: string[]): Promise<number> {
  const started = Date.now();
  const repo = repoRoot();
  const deployments = process.env.HOSTFORM_VM_DEPLOYMENTS !== "0";
  // 3.5-7 minutes on the 2-core CI machine, 10-15 with the deployments (test/vm/README.md): room for a busy machine.
  const timeoutS = positiveInt("HOSTFORM_VM_TIMEOUT", deployments ? 1800 : 900, "seconds, e.g. HOSTFORM_VM_TIMEOUT=2400");
  const smp = positiveInt("HOSTFORM_VM_SMP", 2, "a vCPU count, e.g. HOSTFORM_VM_SMP=4");
  const memoryMiB = positiveInt("HOSTFORM_VM_MEMORY", 1024, "MiB, e.g. HOSTFORM_VM_MEMORY=2048");
  // One hung test must not eat the whole run's budget: node --test fails it after this many seconds.
  const testTimeoutS = positiveInt("HOSTFORM_VM_TEST_TIMEOUT", 180, "seconds per test, e.g. HOSTFORM_VM_TEST_TIMEOUT=300");
  // Two files at a time, as the host's test/run.js does: with 2 vCPUs this nearly halves the run
  // (measured 197 s against 507 s for the same files). The CLI deployments, when asked for, run one
  // at a time after them regardless (testFiles.ts DEPLOYMENT_FILES).
  const concurrency = positiveInt("HOSTFORM_VM_CONCURRENCY", 2, "test files run at once, e.g. HOSTFORM_VM_CONCURRENCY=1");

  let prereq;
  try {
    prereq = checkPrerequisites(repo, resolve(__dirname, ".."));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  // The tests compiled next to this runner: dist/test for npm run test:v2, another outDir by hand.
  // The CLI deployments miss the engine's 30 s provider start under emulation on a busy machine: by hand only.
  const files = guestTestFiles(resolve(__dirname, ".."), argv, deployments);
  const canary = files.parallel[files.parallel.length - 1]!;
  if (!existsSync(canary)) {
    process.stderr.write(`test:v2: ${canary} is missing: run npm run build first\n`);
    return 2;
  }

  const images = prepareGuestImages(prereq, join(repo, "test", "vm", "guest"));
  const modules = prepareModulesImage(repo, prereq.mke2fs, cacheRoot());
  const prepared = Date.now();
  process.stdout.write(`test:v2: kernel ${prereq.kernel.version} (${images.kernelRebuilt ? "unpacked" : "cached"} ${images.kernel}), ` +
    `initramfs ${images.initrdRebuilt ? "built" : "cached"} ${images.initrd}, node_modules ${modules.rebuilt ? "built" : "cached"} ${modules.path} ` +
    `in ${seconds(prepared - started)}\n`);
  process.stdout.write(`test:v2: ${files.parallel.length} test files ${concurrency} at a time, then ${files.serial.length} one at a time ` +
    `(${testTimeoutS} s per test), ${smp} vCPUs, ${memoryMiB} MiB, ` +
    `timeout ${timeoutS} s\n`);

  const nonce = randomBytes(8).toString("hex");
  const jobDir = mkdtempSync(join(tmpdir(), "hostform-vm-job-"));
  // Also on SIGINT/SIGTERM, whose handlers end the process without unwinding to the finally below.
  const removeJob = (): void => rmSync(jobDir, { recursive: true, force: true });
  process.on("exit", removeJob);
  try {
    // The guest watchdog outlives the runner's own timeout: it only matters when the runner is gone.
    const repoImage = join(jobDir, "repo.ext4");
    buildRepoImage(repo, repoImage, prereq.mke2fs);
    writeFileSync(join(jobDir, "job.sh"), renderJob({ nonce, repo, modules: modules.source, node: prereq.node, guestTimeoutSeconds: timeoutS + 30, concurrency, testTimeoutSeconds: testTimeoutS, env: guestEnv(), files: files.parallel, serialFiles: files.serial }));
    const quiet = process.env.HOSTFORM_VM_VERBOSE === "1" ? "" : " quiet";
    const extra = process.env.HOSTFORM_VM_APPEND ? ` ${process.env.HOSTFORM_VM_APPEND}` : "";
    const outcome = await bootGuest({
      qemu: prereq.qemu,
      kernel: images.kernel,
      initrd: images.initrd,
      shares: [
        { tag: "hostform-job", path: jobDir },
        { tag: "hostform-usr", path: "/usr" },
      ],
      disks: [{ path: repoImage, serial: REPO_SERIAL }, { path: modules.path, serial: MODULES_SERIAL }],
      smp,
      memoryMiB,
      // rcu_expedited: every umount and network namespace teardown waits for an RCU grace period,
      // which under emulation takes long enough to dominate the container and namespace tests.
      // clocksource=tsc tsc=reliable: under TCG the kernel distrusts the TSC and falls back to a
      // clocksource without a vDSO path, so every clock_gettime becomes a real syscall; a seccomp
      // allow-list without it then kills Node (V8 treats a failing clock_gettime as unreachable).
      append: `console=ttyS0 cgroup_no_v1=all panic=-1 rcupdate.rcu_expedited=1 clocksource=tsc tsc=reliable${quiet}${extra}`,
      cpu: process.env.HOSTFORM_VM_CPU || "max",
      nonce,
      timeoutMs: timeoutS * 1000,
      tailLines: 200,
      write: (t) => process.stdout.write(t),
    });
    const code = report(outcome, timeoutS);
    process.stdout.write(`test:v2: total ${seconds(Date.now() - started)}\n`);
    return code;
  } finally {
    removeJob();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`test:v2: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
