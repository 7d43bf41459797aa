// The engine commands' command line: flags, environment, the confirmation prompt on a terminal,
// the display and the exit code. The engine itself takes typed options and reports through events.
import { runDestroy, runDrift, runPreview, runRefresh, runUpdate, type DeploymentOptions, type DeploymentResult } from "../engine/deployment";
import { loadProject, loadStackConfig } from "../engine/project";
import { parseFlags, UsageError } from "./command";
import { confirm } from "./confirm";
import { createDisplay, type Display } from "./display";
import { defaultStackName } from "./stackTarget";

/** The flags every engine command accepts. */
export const OPERATION_FLAGS = {
  cwd: { type: "string" },
  stack: { type: "string", short: "s" },
  yes: { type: "boolean", short: "y" },
  json: { type: "boolean" },
  parallel: { type: "string", short: "p" },
  target: { type: "string", multiple: true },
  replace: { type: "string", multiple: true },
  refresh: { type: "boolean" },
  "expect-no-changes": { type: "boolean" },
  diff: { type: "boolean" },
  "exit-code": { type: "boolean" },
  debug: { type: "boolean" },
} as const;

export const OPERATION_USAGE_FLAGS = `Options:
  --cwd DIR             project directory (holding Pulumi.yaml; default: current directory)
  -s, --stack NAME      stack (default: dev, created on first use)
  -y, --yes             do not ask for confirmation on a terminal
  --json                one JSON event per line
  -p, --parallel N      at most N resource operations at once (default 16)
  --target URN          only operate on this resource (URN or name; repeatable)
  --replace URN         replace this resource even if unchanged (repeatable)
  --refresh             read every resource's live state first
  --expect-no-changes   fail if anything would change
  --diff                show every property of creates and deletes
  --exit-code           (drift, preview) exit 2 when there is drift / there are changes
  --debug               show debug diagnostics too (as HOSTFORM_LOG=debug), in the text and in --json
State: $HOSTFORM_STATE_DIR, default ~/.hostform/state (Pulumi file-backend layout: pulumi login file://<dir>).
Secrets: encrypted with $PULUMI_CONFIG_PASSPHRASE (or the file $PULUMI_CONFIG_PASSPHRASE_FILE names).`;

export type EngineCommandKind = "up" | "preview" | "refresh" | "destroy" | "drift";

/** Runs one engine command from its argv; returns the exit code. */
export async function runEngineCommand(kind: EngineCommandKind, argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, OPERATION_FLAGS, false);
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  if (values["exit-code"] === true && kind !== "drift" && kind !== "preview") throw new UsageError(`--exit-code applies to drift and preview only`);
  const parallel = values.parallel === undefined ? 16 : Number(values.parallel);
  if (!Number.isInteger(parallel) || parallel < 1) throw new UsageError(`--parallel: '${values.parallel}' is not a positive integer`);
  const project = loadProject(values.cwd ?? process.cwd());
  const stack = defaultStackName(values.stack);
  const config = loadStackConfig(project, stack);
  const json = values.json === true;
  const interactive = !json && process.stdout.isTTY === true;
  const display = createDisplay({ json, interactive, detailed: values.diff === true, debug: values.debug === true || process.env.HOSTFORM_LOG === "debug" });
  const options: DeploymentOptions = {
    project,
    stack,
    config,
    parallel,
    targets: values.target ?? [],
    replaces: values.replace ?? [],
    refresh: values.refresh === true,
    events: display.sink,
    command: `hostform ${kind}`,
    ...timeouts(),
  };
  try {
    return await dispatch(kind, options, { yes: values.yes === true, expectNoChanges: values["expect-no-changes"] === true, exitCode: values["exit-code"] === true }, interactive, display);
  } finally {
    display.close();
  }
}

/** Exit-code choices from the command line. */
interface ExitFlags {
  yes: boolean;
  expectNoChanges: boolean;
  /**
   * --exit-code, as `git diff --exit-code` and `terraform plan -detailed-exitcode`: 2 when drift
   * (drift) or changes (preview) were found. Without it both exit 0 on success whatever they found,
   * so a report run under `set -e` or a cron job does not count a finding as a failure.
   */
  exitCode: boolean;
}

async function dispatch(kind: EngineCommandKind, o: DeploymentOptions, flags: ExitFlags, interactive: boolean, display: Display): Promise<number> {
  const { yes, expectNoChanges } = flags;
  const finish = (r: DeploymentResult): number => {
    if (!r.ok) return 1;
    if (expectNoChanges && r.changed) {
      display.sink({ type: "diagnostic", severity: "error", message: "--expect-no-changes: the run had changes" });
      return 1;
    }
    return 0;
  };
  switch (kind) {
    case "preview": {
      const r = await runPreview(o);
      const code = finish(r);
      return code === 0 && flags.exitCode && r.changed ? 2 : code;
    }
    case "drift": {
      const r = await runDrift(o);
      return !r.ok ? 1 : r.drifted && flags.exitCode ? 2 : 0;
    }
    case "refresh":
      return finish(await runRefresh(o));
    case "destroy":
      if (interactive && !yes && !(await confirm("Do you want to destroy every resource of this stack?"))) return 1;
      return finish(await runDestroy(o));
    case "up": {
      // On a terminal, like Pulumi: preview, ask, then run. Elsewhere (GitOps, CI) just run.
      if (interactive && !yes) {
        const p = await runPreview(o);
        if (!p.ok) return 1;
        if (!p.changed) return finish(p);
        if (!(await confirm("Do you want to perform this update?"))) return 1;
      }
      return finish(await runUpdate(o));
    }
  }
}

/** Limits from the environment (tests and slow hosts set them). */
function timeouts(): Pick<DeploymentOptions, "programTimeoutMs" | "providerCallTimeoutMs" | "providerStartTimeoutMs"> {
  const t: Pick<DeploymentOptions, "programTimeoutMs" | "providerCallTimeoutMs" | "providerStartTimeoutMs"> = {};
  const p = Number(process.env.HOSTFORM_PROGRAM_TIMEOUT_MS);
  if (Number.isFinite(p) && p > 0) t.programTimeoutMs = p;
  const c = Number(process.env.HOSTFORM_PROVIDER_TIMEOUT_MS);
  if (Number.isFinite(c) && c > 0) t.providerCallTimeoutMs = c;
  const s = Number(process.env.HOSTFORM_PROVIDER_START_TIMEOUT_MS);
  if (Number.isFinite(s) && s > 0) t.providerStartTimeoutMs = s;
  return t;
}
