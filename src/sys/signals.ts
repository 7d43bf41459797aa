// The one signal table: names and numbers as the kernel knows them, and as users write them
// ("TERM", "SIGTERM", "15", "sigkill"). Node's os.constants.signals is the source, so the numbers
// are this platform's (they differ between architectures for a few signals).
import { constants } from "node:os";
import { ValidationError } from "./errors";

const BY_NAME: ReadonlyMap<string, number> = new Map(Object.entries(constants.signals));
const BY_NUMBER: ReadonlyMap<number, NodeJS.Signals> = (() => {
  const m = new Map<number, NodeJS.Signals>();
  // SIGIOT/SIGABRT and SIGPOLL/SIGIO share numbers; the first listed is the canonical name.
  for (const [name, n] of BY_NAME) if (!m.has(n)) m.set(n, name as NodeJS.Signals);
  return m;
})();

/** Signals whose default action ends the process: sending one means the user wants it stopped. */
export const TERMINATING_SIGNALS: ReadonlySet<NodeJS.Signals> = new Set(["SIGKILL", "SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP"]);

/** Parses a signal given by name (with or without SIG, any case) or number into its canonical name. */
export function parseSignal(input: string | number, field = "signal"): NodeJS.Signals {
  const text = String(input).trim();
  if (typeof input === "number" || /^\d+$/.test(text)) {
    const name = BY_NUMBER.get(Number(text));
    if (name === undefined) throw new ValidationError(field, `${text} is not a signal number`, "use 1-64 or a name such as TERM");
    return name;
  }
  const up = text.toUpperCase();
  const name = up.startsWith("SIG") ? up : `SIG${up}`;
  if (!BY_NAME.has(name)) throw new ValidationError(field, `${JSON.stringify(input)} is not a signal`, "use a name such as TERM, SIGKILL or a number");
  return name as NodeJS.Signals;
}

/** The number of a signal name; a name Node does not know is a ValidationError naming field. */
export function signalNumber(name: NodeJS.Signals | string, field = "signal"): number {
  const n = BY_NAME.get(name);
  if (n === undefined) throw new ValidationError(field, `unknown signal ${JSON.stringify(name)}`, "use a name such as SIGTERM");
  return n;
}

/** The canonical name of a signal number (what Node reports a child's death by), "SIG<n>" when unnamed. */
export function signalNameOf(n: number): NodeJS.Signals {
  return BY_NUMBER.get(n) ?? (`SIG${n}` as NodeJS.Signals);
}

/** The exit status a shell reports for a process killed by signal: 128 + its number. */
export function signalExitStatus(name: NodeJS.Signals): number {
  return 128 + signalNumber(name);
}
