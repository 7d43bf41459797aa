// Runs one config.json under runc and under hostform (validateSpec + Launcher, as the runtime does)
// and returns what the container reported plus the cgroup limits the host sees for its process.
// Each run has its own bundle dir (and rootfs copy), removed afterwards with its container.
import { spawn, spawnSync, execFileSync } from "node:child_process";
import { closeSync, openSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { Launcher } from "../../src/runtime/launcher";
import { validateSpec } from "../../src/runtime/spec";
import { openCgroupDriver } from "../../src/cgroup/driver";
import { detectLayout } from "../../src/cgroup/layout";
import type { CgroupLimits } from "../../src/cgroup/spec";
import { compileProfile } from "../../src/seccomp/compile";
import { loadProfile } from "../../src/seccomp/validate";
import { makeFullBusyboxBundle } from "../security/busyboxRoot";
import type { OciConfig } from "./bundles";

/** What one run produced. */
export interface RunReport {
  /** The container's stdout up to the ==end marker. */
  report: string;
  /** Live limits of the container's cgroups, read on the host through /proc/<pid>/cgroup. */
  cgroup: { memoryLimit: string | undefined; pidsMax: string | undefined };
}

const layout = detectLayout();

/**
 * The limit files of the cgroups `pid` is in, read on the host: from the controller's v1 hierarchy
 * when it has one, else from the cgroup2 hierarchy (pure v2, or a hybrid host's unified one). An
 * unlimited memory reads "9223372036854771712" on v1 and "max" on v2: the same for both runtimes.
 */
function cgroupLimitsOf(pid: number): RunReport["cgroup"] {
  const v1Paths = new Map<string, string>();
  let v2Path: string | undefined;
  for (const line of readFileSync(`/proc/${pid}/cgroup`, "utf8").trim().split("\n")) {
    const [hierarchy, ctrls, path] = line.split(":");
    if (hierarchy === "0" && ctrls === "") v2Path = path;
    else for (const c of ctrls!.split(",")) v1Paths.set(c, path!);
  }
  const read = (ctrl: string, v1File: string, v2File: string): string | undefined => {
    const mount = layout.v1Mounts[ctrl];
    const p = v1Paths.get(ctrl);
    if (mount !== undefined && p !== undefined) return readFileSync(join(mount, p, v1File), "utf8").trim();
    if (layout.unifiedMount !== undefined && layout.v2Controllers.includes(ctrl) && v2Path !== undefined) {
      return readFileSync(join(layout.unifiedMount, v2Path, v2File), "utf8").trim();
    }
    return undefined;
  };
  return { memoryLimit: read("memory", "memory.limit_in_bytes", "memory.max"), pidsMax: read("pids", "pids.max", "pids.max") };
}

/** Polls the stdout file until the container printed ==end (no timing assertion; the machine is noisy). */
async function waitForReport(outFile: string, errFile: string, exited: () => boolean, what: string): Promise<string> {
  for (let i = 0; i < 1000; i++) {
    const out = readFileSync(outFile, "utf8");
    const end = out.indexOf("==end\n");
    if (end >= 0) return out.slice(0, end);
    if (exited() && i > 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${what}: no report; stdout: ${readFileSync(outFile, "utf8")} stderr: ${readFileSync(errFile, "utf8")}`);
}

/** runc run in the foreground, with its state under `runcRoot`; deleted (--force) whatever happens. */
export async function runUnderRunc(config: OciConfig, id: string, runcRoot: string): Promise<RunReport> {
  const { bundle } = makeFullBusyboxBundle(id);
  const c = structuredClone(config);
  // runc's cgroupfs driver makes this path in every hierarchy and removes it on delete.
  c.linux.cgroupsPath = `/${id}`;
  writeFileSync(join(bundle, "config.json"), JSON.stringify(c, null, 2));
  const outFile = join(bundle, "stdout");
  const errFile = join(bundle, "stderr");
  const out = openSync(outFile, "w+");
  const err = openSync(errFile, "w+");
  const runc = spawn("runc", ["--root", runcRoot, "run", "--bundle", bundle, id], { stdio: ["ignore", out, err] });
  let done = false;
  const exited = new Promise<void>((resolve) => runc.on("exit", () => resolve()).on("error", () => resolve())).then(() => {
    done = true;
  });
  try {
    const report = await waitForReport(outFile, errFile, () => done, `runc ${id}`);
    const state = JSON.parse(execFileSync("runc", ["--root", runcRoot, "state", id], { encoding: "utf8" })) as { pid: number };
    return { report, cgroup: cgroupLimitsOf(state.pid) };
  } finally {
    closeSync(out);
    closeSync(err);
    try {
      execFileSync("runc", ["--root", runcRoot, "delete", "--force", id], { stdio: "ignore" });
    } catch {
      // `runc run` deletes its container when the init dies; "does not exist" is the normal case.
    }
    await exited;
    rmSync(bundle, { recursive: true, force: true });
  }
}

/** linux.resources fields the bundles set, as hostform cgroup limits (-1 is OCI for unlimited). */
function limitsOf(config: OciConfig): CgroupLimits {
  const r = config.linux.resources;
  const limits: CgroupLimits = {};
  if (r?.memory?.limit !== undefined) limits.memory = { max: r.memory.limit < 0 ? "max" : r.memory.limit };
  if (r?.pids?.limit !== undefined) limits.pids = { max: r.pids.limit < 0 ? "max" : r.pids.limit };
  return limits;
}

/** The same config through validateSpec and the Launcher, in a hostform cgroup carrying linux.resources. */
export async function runUnderHostform(config: OciConfig, id: string, launcher: Launcher): Promise<RunReport> {
  const { bundle } = makeFullBusyboxBundle(id);
  const driver = openCgroupDriver();
  const outFile = join(bundle, "stdout");
  const errFile = join(bundle, "stderr");
  const out = openSync(outFile, "w+");
  const err = openSync(errFile, "w+");
  let pid = 0;
  let done = false;
  try {
    const spec = validateSpec(structuredClone(config));
    const seccomp = config.linux.seccomp === undefined ? undefined : compileProfile(loadProfile(config.linux.seccomp), { caps: config.process.capabilities?.bounding ?? [] }).bpf;
    driver.create(id, limitsOf(config));
    const c = await launcher.launch(spec, {
      bundle,
      stdio: ["ignore", out, err],
      ...(seccomp === undefined ? {} : { seccompFilter: seccomp }),
      onCgroup: (p) => driver.addProcess(id, p),
    });
    pid = c.pid;
    void c.exited.then(() => (done = true));
    const report = await waitForReport(outFile, errFile, () => done, `hostform ${id}`);
    return { report, cgroup: cgroupLimitsOf(pid) };
  } finally {
    closeSync(out);
    closeSync(err);
    if (driver.exists(id)) {
      await driver.kill(id);
      await driver.delete(id);
    }
    if (pid > 0) for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 20));
    rmSync(bundle, { recursive: true, force: true });
  }
}

/** The compiled `hostform-runtime` entry next to this compiled test, when the CLI is part of the build. */
export function runtimeCliEntry(): string | undefined {
  const entry = join(__dirname, "..", "..", "src", "cli", "runtimeMain.js");
  return existsSync(entry) ? entry : undefined;
}

function cliArgs(entry: string, runDir: string, args: string[]): string[] {
  const code = `require(${JSON.stringify(entry)}).main(process.argv.slice(1)).then((c) => process.exit(c), (e) => { console.error(e); process.exit(1); })`;
  return ["-e", code, "--", "--root", runDir, ...args];
}

/** One `hostform-runtime --root runDir ...` invocation to completion. */
function cli(entry: string, runDir: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, cliArgs(entry, runDir, args), { encoding: "utf8", timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `hostform-runtime run` in the foreground, as runc is run; killed and deleted (--force) whatever happens. */
export async function runUnderHostformRuntime(config: OciConfig, id: string, entry: string, runDir: string): Promise<RunReport> {
  const { bundle } = makeFullBusyboxBundle(id);
  writeFileSync(join(bundle, "config.json"), JSON.stringify(config, null, 2));
  const outFile = join(bundle, "stdout");
  const errFile = join(bundle, "stderr");
  const out = openSync(outFile, "w+");
  const err = openSync(errFile, "w+");
  const pidFile = join(bundle, "pid");
  const child = spawn(process.execPath, cliArgs(entry, runDir, ["run", "--bundle", bundle, "--pid-file", pidFile, id]), { stdio: ["ignore", out, err] });
  let done = false;
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()).on("error", () => resolve())).then(() => {
    done = true;
  });
  let pid = 0;
  try {
    const report = await waitForReport(outFile, errFile, () => done, `hostform-runtime ${id}`);
    // runc's --pid-file is written (atomically) before the program starts.
    pid = Number(readFileSync(pidFile, "utf8"));
    return { report, cgroup: cgroupLimitsOf(pid) };
  } finally {
    closeSync(out);
    closeSync(err);
    // Killing the container's PID 1 (by the PID the runtime reported) ends `run`, which then deletes
    // the container; each CLI call would cost one more Node start per run on this busy machine.
    if (pid > 0) process.kill(pid, "SIGKILL");
    else cli(entry, runDir, ["kill", id, "KILL"]);
    await exited;
    rmSync(bundle, { recursive: true, force: true });
  }
}

/** Force-deletes every container hostform-runtime still lists under runDir (normally none). */
export function deleteRuntimeLeftovers(entry: string, runDir: string): string[] {
  const ids = cli(entry, runDir, ["list", "--quiet"]).stdout.split("\n").filter((l) => l !== "");
  for (const id of ids) cli(entry, runDir, ["delete", "--force", id]);
  return ids;
}

/** Stops the supervisor `hostform-runtime` started for runDir (its PID is the first field of supervisor.lock). */
export async function stopRuntimeSupervisor(runDir: string): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(join(runDir, "supervisor.lock"), "utf8").trim().split(/\s+/)[0]);
  } catch {
    return;
  }
  // Only that very process: its command line names this test's own run dir.
  if (!Number.isInteger(pid) || pid <= 1 || !existsSync(`/proc/${pid}`) || !readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(runDir)) return;
  process.kill(pid, "SIGTERM");
  for (let i = 0; i < 250 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 20));
  if (existsSync(`/proc/${pid}`)) process.kill(pid, "SIGKILL");
}
