// OCI hooks: how each one is run (argv, env, stdin, timeout, failure text), the spec's validation of
// them, and the two phases the init runs itself, observed from inside the hooks.
import { test, after, afterEach, before } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HookError, hookFailurePolicy, runHooks, type OciStateJson } from "../../src/runtime/hooks";
import { HOOK_PHASES } from "../../src/runtime/specHooks";
import { pendingHooks, runPendingHooks } from "../../src/runtime/init/hooks";
import { Launcher } from "../../src/runtime/launcher";
import { compileProfile } from "../../src/seccomp/compile";
import { DOCKER_DEFAULT_PROFILE, loadProfile } from "../../src/seccomp/validate";
import { validateSpec, type ContainerSpec, type HookSpec } from "../../src/runtime/spec";
import { defaultSpec } from "../../src/runtime/specgen/defaults";
import { ValidationError, errorFromWire, errorToWire } from "../../src/sys/errors";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { makeBusyboxBundle } from "../../fixtures/busyboxRootfs";
import { useTestRunDir } from "../../fixtures/nsRunDir";
import { causedBy } from "../helpers/errorChain";
import { assertNoMountsOf, assertProcessesGone } from "../helpers/leftovers";

const cleanRunDir = useTestRunDir();
const prefix = testPrefix("hooks");
const BUSYBOX = ["/bin/busybox", "/usr/bin/busybox"].find((p) => existsSync(p)) ?? "/bin/busybox";
/** Host directory the hooks write what they saw into. */
let dir = "";
let bundle = "";
let rootfs = "";
let launcher: Launcher | undefined;
const pids: number[] = [];

const STATE: OciStateJson = { ociVersion: "1.0.2", id: `${prefix}-c`, status: "created", pid: 4242, bundle: "/b", annotations: { a: "b" } };

before(() => {
  dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
});

after(async () => {
  await launcher?.close();
  rmSync(dir, { recursive: true, force: true });
  if (bundle !== "") rmSync(bundle, { recursive: true, force: true });
  await cleanRunDir();
});

afterEach(async () => {
  await assertProcessesGone(pids.splice(0), "container processes left on the host");
  assertNoMountsOf(prefix);
});

/** A busybox sh hook running `script` (argv: sh -c script name...). */
function shHook(script: string, extra: Partial<HookSpec> = {}, path = BUSYBOX): HookSpec {
  return { path, args: ["sh", "-c", script, "hook-name"], ...extra };
}

const read = (name: string): string => readFileSync(join(dir, name), "utf8");

test("a hook gets the state JSON on stdin, args as execv's argv (args[0] is argv0) and exactly its env", () => {
  // busybox picks its applet by argv0: "sh" only runs if args[0] became argv[0].
  // "exit 0" last: busybox sh runs a script's last command in its own place, with an environment of its making.
  const record = `cat > ${dir}/stdin; tr '\\0' '\\n' < /proc/$$/cmdline > ${dir}/argv; tr '\\0' '\\n' < /proc/$$/environ > ${dir}/environ; exit 0`;
  runHooks("createRuntime", [shHook(record, { env: ["A=1", "B=two words", "A=2"] })], STATE);
  assert.deepEqual(JSON.parse(read("stdin")), STATE);
  assert.equal(read("argv"), `sh\n-c\n${record}\nhook-name\n`);
  assert.equal(read("environ"), "A=2\nB=two words\n", "a later duplicate wins, nothing is added");
  runHooks("poststop", [shHook(`tr '\\0' '\\n' < /proc/$$/environ > ${dir}/environ2; exit 0`)], JSON.stringify(STATE));
  assert.equal(read("environ2"), "", "no env given: an empty environment, not ours");
});

test("without args the hook's argv is its path alone", () => {
  writeFileSync(join(dir, "argv0.sh"), `#!${BUSYBOX} sh\necho "$0 $#" > ${dir}/argv0\n`, { mode: 0o755 });
  runHooks("prestart", [{ path: join(dir, "argv0.sh") }], STATE);
  assert.equal(read("argv0"), `${join(dir, "argv0.sh")} 0\n`);
});

test("a failing hook stops its phase with an error naming the phase, index, path, exit status and its stderr", () => {
  const hooks = [shHook(`echo ok > ${dir}/first`), shHook("echo 'something broke' >&2; exit 3"), shHook(`echo ran > ${dir}/third`)];
  assert.throws(
    () => runHooks("createRuntime", hooks, STATE),
    (e: unknown) =>
      e instanceof HookError &&
      e.phase === "createRuntime" &&
      e.index === 1 &&
      e.path === BUSYBOX &&
      e.exitStatus === 3 &&
      e.message === `createRuntime hook 1 (${BUSYBOX}) exited with status 3: something broke`,
  );
  assert.equal(read("first"), "ok\n");
  assert.equal(existsSync(join(dir, "third")), false, "the hooks after a failed one do not run");
  assert.throws(() => runHooks("poststart", [{ path: join(dir, "missing") }], STATE), (e: unknown) => e instanceof HookError && /^poststart hook 0 \(.*missing\) could not be run: .*ENOENT/.test(e.message));
});

test("a hook past its timeout is killed with SIGKILL and the error names the timeout", () => {
  const t0 = Date.now();
  assert.throws(
    () => runHooks("poststart", [shHook(`echo $$ > ${dir}/slow.pid; exec sleep 30`, { timeout: 1 })], STATE),
    (e: unknown) => e instanceof HookError && e.timeout === 1 && e.message === `poststart hook 0 (${BUSYBOX}) ran past its timeout of 1 s and was killed with SIGKILL`,
  );
  assert.ok(Date.now() - t0 < 10_000, "it did not wait for the hook");
  const pid = Number(read("slow.pid"));
  assert.equal(existsSync(`/proc/${pid}`), false, "the hook's process is gone");
});

test("HookError crosses a process boundary with its fields; each phase's failure policy is runc's", () => {
  const e = new HookError("startContainer", 2, { path: "/h" }, "exited with status 1", { exitStatus: 1, stderr: "x" });
  const back = errorFromWire(errorToWire(e));
  assert.ok(back instanceof HookError);
  assert.deepEqual([back.phase, back.index, back.path, back.exitStatus, back.message], ["startContainer", 2, "/h", 1, "startContainer hook 2 (/h) exited with status 1: x"]);
  assert.deepEqual(
    HOOK_PHASES.map((p) => [p, hookFailurePolicy(p)]),
    [["prestart", "abort"], ["createRuntime", "abort"], ["createContainer", "abort"], ["startContainer", "abort"], ["poststart", "kill"], ["poststop", "warn"]],
  );
});

test("validateSpec keeps typed hooks and names the bad field of a hook and the fix", () => {
  const base = defaultSpec({ rootfs: "/r", args: ["/bin/true"] });
  const hooks = { prestart: [{ path: "/p" }], createRuntime: [{ path: "/a", args: ["a", "b"], env: ["X=1"], timeout: 5 }], poststop: [] };
  assert.deepEqual(validateSpec({ ...base, hooks }).hooks, hooks);
  const rejects = (h: unknown, field: string, message: RegExp): void =>
    assert.throws(() => validateSpec({ ...base, hooks: h }), (e: unknown) => e instanceof ValidationError && e.field === field && message.test(e.message), field);
  rejects({ createRuntime: [{ path: "rel/hook" }] }, "hooks.createRuntime[0].path", /'rel\/hook' is not an absolute path \(start it with \/\)/);
  rejects({ poststart: [{ path: "/ok" }, { args: ["x"] }] }, "hooks.poststart[1].path", /is required.*give the hook's absolute path/);
  rejects({ startContainer: [{ path: "/h", timeout: 0 }] }, "hooks.startContainer[0].timeout", /greater than zero/);
  rejects({ startContainer: [{ path: "/h", timeout: 1.5 }] }, "hooks.startContainer[0].timeout", /whole number of seconds/);
  rejects({ createContainer: [{ path: "/h", env: ["NOEQUALS"] }] }, "hooks.createContainer[0].env[0]", /'NOEQUALS' is not KEY=VALUE/);
  rejects({ prestart: [{ path: "/h", args: [1] }] }, "hooks.prestart[0].args", /array of strings/);
  rejects({ poststop: { path: "/h" } }, "hooks.poststop", /must be an array of hooks/);
  rejects([], "hooks", /must be an object of hook lists/);
});

/** The container side: a bundle whose rootfs has a file the host does not, and a host dir bound at /hookout. */
function containerSpec(args: string[], hooks: ContainerSpec["hooks"]): ContainerSpec {
  if (bundle === "") {
    ({ bundle, rootfs } = makeBusyboxBundle(prefix));
    writeFileSync(join(rootfs, "only-in-rootfs"), "rootfs-marker\n");
    launcher = new Launcher({ poolSize: 0 });
  }
  const out = join(dir, "out");
  rmSync(out, { recursive: true, force: true });
  // Writable for a container user other than root.
  mkdirSync(out, { mode: 0o777 });
  chmodSync(out, 0o777);
  const s = defaultSpec({ rootfs, args, hostname: prefix.slice(0, 60) });
  s.mounts = [...(s.mounts ?? []), { destination: "/hookout", type: "bind", source: out, options: ["rbind"] }];
  s.hooks = hooks;
  return validateSpec(s);
}

async function runContainer(s: ContainerSpec, seccompFilter?: Buffer): Promise<number | null> {
  if (launcher === undefined) throw new Error("no launcher");
  const c = await launcher.launch(s, { onCgroup: (pid) => void pids.push(pid), ...(seccompFilter !== undefined ? { seccompFilter } : {}) });
  return (await c.exited).code;
}

test("createContainer runs in the container's mount namespace before pivot_root, in the rootfs; startContainer in the container right before its program", { skip: needsRoot }, async () => {
  const out = join(dir, "out");
  const s = containerSpec(["sh", "-c", "readlink /proc/self/ns/mnt > /hookout/program-mnt; cat /hookout/start-seen > /hookout/program-saw"], {
    createContainer: [shHook(`readlink /proc/self/ns/mnt > ${out}/create-mnt; pwd > ${out}/create-cwd; cat > ${out}/create-stdin; test -d ${dir} && echo host-visible > ${out}/create-host`)],
    // Resolved in the container: /bin/busybox of the rootfs; /only-in-rootfs exists there only.
    startContainer: [shHook("cat /only-in-rootfs > /hookout/start-seen; cat > /hookout/start-stdin; readlink /proc/self/ns/mnt > /hookout/start-mnt", {}, "/bin/busybox")],
  });
  assert.equal(await runContainer(s), 0);
  const r = (n: string): string => readFileSync(join(out, n), "utf8");
  const programMnt = r("program-mnt");
  assert.match(programMnt, /^mnt:\[\d+\]\n$/);
  assert.equal(r("create-mnt"), programMnt, "createContainer ran in the container's mount namespace");
  assert.notEqual(r("create-mnt"), `${readlinkSync("/proc/self/ns/mnt")}\n`, "not the host's");
  assert.equal(r("create-cwd"), `${rootfs}\n`, "createContainer's working directory is the rootfs, as runc's");
  assert.equal(r("create-host"), "host-visible\n", "createContainer ran before pivot_root: the host's tree is still there");
  assert.equal(r("start-seen"), "rootfs-marker\n", "startContainer ran inside the container's root");
  assert.equal(r("start-mnt"), programMnt);
  assert.equal(r("program-saw"), "rootfs-marker\n", "startContainer ran before the program");
  const created = JSON.parse(r("create-stdin")) as OciStateJson;
  const started = JSON.parse(r("start-stdin")) as OciStateJson;
  assert.deepEqual([created.status, created.pid, started.status, started.pid], ["creating", 1, "created", 1], "the init's own pid and the status of the moment, as runc gives");
  assert.equal(created.ociVersion, s.ociVersion);
});

test("a failing createContainer hook fails the create; a failing startContainer hook fails the start and the program never runs", { skip: needsRoot }, async () => {
  const failCreate = containerSpec(["/bin/true"], { createContainer: [shHook("echo no-create >&2; exit 4")] });
  await assert.rejects(runContainer(failCreate), (e: unknown) => causedBy(e, HookError) && /createContainer hook 0 \(.*\) exited with status 4: no-create/.test((e as Error).message));
  const out = join(dir, "out");
  const failStart = containerSpec(["sh", "-c", "echo ran > /hookout/program-ran"], { startContainer: [shHook("echo no-start >&2; exit 5", {}, "/bin/busybox")] });
  await assert.rejects(runContainer(failStart), (e: unknown) => causedBy(e, HookError) && /startContainer hook 0 \(\/bin\/busybox\) exited with status 5: no-start/.test((e as Error).message));
  assert.equal(existsSync(join(out, "program-ran")), false);
});

test("the init's hooks get the launcher's state (id, bundle, annotations) with their own pid and the status of the moment", () => {
  const spec = validateSpec({ ...defaultSpec({ rootfs: "/r", args: ["/bin/true"] }), hooks: { createContainer: [shHook(`cat > ${dir}/init-stdin; pwd > ${dir}/init-cwd`)] } });
  const hookState = JSON.stringify({ ...STATE, status: "creating", pid: 0 });
  assert.equal(pendingHooks({ kind: "prepare", spec, stdio: [null, null, null], hookState }, "startContainer"), undefined, "no hooks of that phase");
  runPendingHooks(pendingHooks({ kind: "prepare", spec, stdio: [null, null, null], hookState }, "createContainer"), dir);
  assert.deepEqual(JSON.parse(read("init-stdin")), { ...STATE, status: "creating", pid: process.pid });
  assert.equal(read("init-cwd"), `${dir}\n`);
});

test("startContainer runs as the container's user under its filter when that is loaded early (no_new_privs off), as in runc", { skip: needsRoot }, async () => {
  const out = join(dir, "out");
  const s = containerSpec(["/bin/true"], { startContainer: [shHook("id -u > /hookout/start-uid; grep Seccomp: /proc/self/status > /hookout/start-seccomp", {}, "/bin/busybox")] });
  s.process.user = { uid: 1000, gid: 1000 };
  s.process.noNewPrivileges = false;
  s.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW" };
  const docker = Buffer.from(compileProfile(loadProfile(DOCKER_DEFAULT_PROFILE), { caps: s.process.capabilities!.bounding! }).bpf);
  assert.equal(await runContainer(s, docker), 0);
  assert.equal(readFileSync(join(out, "start-uid"), "utf8"), "1000\n");
  assert.match(readFileSync(join(out, "start-seccomp"), "utf8"), /^Seccomp:\s+2\n$/);
});
