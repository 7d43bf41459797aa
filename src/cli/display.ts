import { diffLines } from "diff";
import type { Ora } from "ora";
import type { EngineEvent, EventSink, OperationKind, PropertyChange } from "../engine/events";
import { displayValue, UNKNOWN } from "../engine/propertyValues";
import { nameOfUrn, typeOfUrn } from "../engine/urn";

export interface DisplayOptions {
  /** One JSON event per line instead of text. */
  json: boolean;
  /** Spinners for steps in flight (only on a terminal). */
  interactive: boolean;
  /** Show every input of creates and deletes, not only the changed ones of updates. */
  detailed: boolean;
  /** Show debug diagnostics (HOSTFORM_LOG=debug). */
  debug: boolean;
  out?: NodeJS.WritableStream;
}

/** Renders engine events; `close` stops any spinner. */
export interface Display {
  sink: EventSink;
  close(): void;
}

const SYMBOL: Record<string, string> = { create: "+", update: "~", replace: "+-", delete: "-", same: " ", refresh: "~", import: "=" };
const COLORS = { green: "\x1b[32m", yellow: "\x1b[33m", magenta: "\x1b[35m", red: "\x1b[31m", dim: "\x1b[2m", bold: "\x1b[1m", reset: "\x1b[0m" };
const OP_COLOR: Record<string, string> = { create: COLORS.green, update: COLORS.yellow, replace: COLORS.magenta, delete: COLORS.red, refresh: COLORS.yellow, import: COLORS.green };
const VERB: Record<OperationKind, [string, string]> = {
  update: ["Updating", "Updated"],
  preview: ["Previewing update", "Previewed"],
  refresh: ["Refreshing", "Refreshed"],
  destroy: ["Destroying", "Destroyed"],
  drift: ["Checking drift of", "Checked"],
};

/** A Pulumi-like text display, or JSON lines for machines. */
export function createDisplay(o: DisplayOptions): Display {
  const out = o.out ?? process.stdout;
  if (o.json) {
    return {
      // The event stream is for machines: debug diagnostics (the engine's and the providers' chatter)
      // only when asked for, as in the text display.
      sink: (e) => {
        if (e.type === "diagnostic" && e.severity === "debug" && !o.debug) return;
        out.write(JSON.stringify(e) + "\n");
      },
      close() {},
    };
  }
  const color = o.interactive;
  const c = (code: string, s: string): string => (color ? `${code}${s}${COLORS.reset}` : s);
  let spinner: Ora | undefined;
  const inFlight = new Map<string, string>();
  if (o.interactive) {
    try {
      // ora is ESM-only; Node 24 loads it through require(esm).
      const ora = (require("ora") as { default: (opts: object) => Ora }).default;
      spinner = ora({ stream: out, discardStdin: false });
    } catch {
      // The spinner only decorates: without it the display still shows every step.
      spinner = undefined;
    }
  }
  const write = (text: string): void => {
    if (spinner?.isSpinning) spinner.clear();
    out.write(text.endsWith("\n") ? text : text + "\n");
    if (spinner?.isSpinning) spinner.render();
  };
  // Between "start" and the end, the program runs even when no step is in flight (it loads, it
  // waits on outputs): the spinner says so, so that the screen never sits still for seconds.
  let programRunning = false;
  const refreshSpinner = (): void => {
    if (spinner === undefined) return;
    if (inFlight.size === 0) {
      if (!programRunning) {
        spinner.stop();
        return;
      }
      spinner.text = "running the program";
      if (!spinner.isSpinning) spinner.start();
      return;
    }
    spinner.text = `${[...inFlight.values()].slice(0, 4).join(", ")}${inFlight.size > 4 ? ` and ${inFlight.size - 4} more` : ""}`;
    if (!spinner.isSpinning) spinner.start();
  };
  let operation: OperationKind = "update";

  const sink: EventSink = (e: EngineEvent) => {
    switch (e.type) {
      case "start":
        operation = e.operation;
        write(c(COLORS.bold, `${VERB[e.operation][0]} (${e.project}/${e.stack}):`));
        programRunning = true;
        refreshSpinner();
        break;
      case "diagnostic": {
        if (e.severity === "debug" && !o.debug) break;
        const who = e.urn !== undefined ? `${nameOfUrn(e.urn)}: ` : "";
        const tag = e.severity === "error" ? c(COLORS.red, "error: ") : e.severity === "warning" ? c(COLORS.yellow, "warning: ") : "";
        write(`    ${tag}${who}${e.message.replace(/\n/g, "\n    ")}`);
        break;
      }
      case "step-start":
        if (e.op === "same") break;
        inFlight.set(`${e.op} ${e.urn}`, `${e.op === "refresh" ? "reading" : e.op.replace(/e$/, "") + "ing"} ${nameOfUrn(e.urn)}`);
        refreshSpinner();
        break;
      case "step-done": {
        inFlight.delete(`${e.op} ${e.urn}`);
        refreshSpinner();
        if (e.op === "same" || e.op === "refresh") break;
        const verb = e.dryRun ? e.op : pastTense(e.op);
        const keys = e.op === "replace" ? (e.replaceKeys ?? []) : e.op === "update" || e.op === "import" ? e.changes.map((ch) => ch.key) : [];
        const extra = keys.length > 0 ? c(COLORS.dim, ` [diff: ${keys.map((k) => `~${k}`).join(", ")}]`) : "";
        const dbr = e.deleteBeforeReplace === true ? c(COLORS.dim, " (delete-before-replace)") : "";
        const original = e.replacedOriginal === true ? c(COLORS.dim, " (original of the replacement)") : "";
        const time = e.dryRun ? "" : c(COLORS.dim, ` ${formatMs(e.durationMs)}`);
        write(`${c(OP_COLOR[e.op] ?? "", ` ${(SYMBOL[e.op] ?? " ").padEnd(2)} ${verb.padEnd(9)}`)} ${typeOfUrn(e.urn).padEnd(36)} ${nameOfUrn(e.urn)}${extra}${dbr}${original}${time}`);
        const shown = e.op === "update" || e.op === "replace" || e.op === "import" || o.detailed ? e.changes : [];
        for (const ch of shown) write(renderChange(ch, c));
        break;
      }
      case "step-failed":
        inFlight.delete(`${e.op} ${e.urn}`);
        refreshSpinner();
        write(`${c(COLORS.red, ` ** ${e.op} failed`)} ${typeOfUrn(e.urn)} ${nameOfUrn(e.urn)}`);
        break;
      case "drift": {
        const label = e.status === "in-sync" ? c(COLORS.green, "in sync ") : e.status === "missing" ? c(COLORS.red, "missing ") : e.status === "stopped" ? c(COLORS.red, "stopped ") : c(COLORS.yellow, "modified");
        const refreshed = e.outputsChanged !== undefined && e.outputsChanged.length > 0 ? c(COLORS.dim, ` (outputs refreshed: ${e.outputsChanged.join(", ")})`) : "";
        write(`    ${label} ${typeOfUrn(e.urn).padEnd(36)} ${nameOfUrn(e.urn)}${refreshed}`);
        for (const ch of e.changes) write(renderChange(ch, c));
        break;
      }
      case "outputs":
        programRunning = false;
        refreshSpinner();
        write(c(COLORS.bold, "Outputs:"));
        for (const [k, v] of Object.entries(e.outputs)) write(`    ${k}: ${JSON.stringify(displayValue(v))}`);
        break;
      case "summary": {
        inFlight.clear();
        programRunning = false;
        refreshSpinner();
        write(c(COLORS.bold, "Resources:"));
        const order = ["create", "import", "update", "replace", "delete", "same", "refresh", "drifted"] as const;
        for (const k of order) {
          const n = e.counts[k];
          if (n === undefined || n === 0) continue;
          const label = k === "same" ? "unchanged" : k === "refresh" ? "read" : k === "drifted" ? "drifted" : e.dryRun ? `to ${k}` : pastTense(k);
          write(`    ${k === "same" || k === "refresh" || k === "drifted" ? "  " : (SYMBOL[k] ?? " ").padEnd(2)}${n} ${label}`);
        }
        write(`${e.ok ? "" : c(COLORS.red, `${VERB[operation][0].split(" ")[0]} failed. `)}Duration: ${formatMs(e.durationMs)}`);
        break;
      }
    }
  };
  return {
    sink,
    close() {
      spinner?.stop();
    },
  };
}

function pastTense(op: string): string {
  return op === "same" ? "unchanged" : op.endsWith("e") ? `${op}d` : `${op}ed`;
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(1)}s`;
}

/** "key: old => new", or a line-by-line diff when either side is a multi-line string. */
export function renderChange(ch: PropertyChange, c: (code: string, s: string) => string): string {
  const oldV = displayValue(ch.old);
  const newV = displayValue(ch.new);
  if ((typeof oldV === "string" && oldV.includes("\n")) || (typeof newV === "string" && newV.includes("\n")) || isBig(oldV) || isBig(newV)) {
    const a = typeof oldV === "string" ? oldV : oldV === undefined ? "" : JSON.stringify(oldV, null, 2);
    const b = typeof newV === "string" ? newV : newV === undefined ? "" : JSON.stringify(newV, null, 2);
    const lines = [`        ${ch.key}:`];
    for (const part of diffLines(ensureNewline(a), ensureNewline(b))) {
      const mark = part.added ? "+" : part.removed ? "-" : " ";
      const code = part.added ? COLORS.green : part.removed ? COLORS.red : COLORS.dim;
      const body = part.value.replace(/\n$/, "").split("\n");
      // Unchanged stretches are cut down to a little context.
      const kept = !part.added && !part.removed && body.length > 6 ? [...body.slice(0, 2), `... ${body.length - 4} unchanged lines ...`, ...body.slice(-2)] : body;
      for (const l of kept) lines.push(c(code, `          ${mark} ${l}`));
    }
    return lines.join("\n");
  }
  const show = (v: unknown): string => (v === undefined ? "(none)" : v === UNKNOWN ? "[unknown]" : JSON.stringify(v));
  return `        ${ch.key}: ${show(oldV)} => ${show(newV)}`;
}

function isBig(v: unknown): boolean {
  return typeof v === "object" && v !== null && JSON.stringify(v).length > 80;
}

function ensureNewline(s: string): string {
  return s.endsWith("\n") || s === "" ? s : s + "\n";
}
