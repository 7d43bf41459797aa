// Signal names and numbers as users write them: "TERM", "SIGTERM", "15", "sigkill".
import { constants } from "node:os";
import { ValidationError } from "../sys/errors";

/** Parses a signal given by name (with or without SIG) or number into its canonical name. */
export function parseSignal(input: string | number, field = "signal"): NodeJS.Signals {
  const sigs = constants.signals as Record<string, number>;
  if (typeof input === "number" || /^\d+$/.test(String(input).trim())) {
    const n = Number(input);
    const name = Object.keys(sigs).find((k) => sigs[k] === n);
    if (name === undefined) throw new ValidationError(field, `${n} is not a signal number`, "use 1-64 or a name such as TERM");
    return name as NodeJS.Signals;
  }
  const up = String(input).trim().toUpperCase();
  const name = up.startsWith("SIG") ? up : `SIG${up}`;
  if (sigs[name] === undefined) throw new ValidationError(field, `${JSON.stringify(input)} is not a signal`, "use a name such as TERM, SIGKILL or a number");
  return name as NodeJS.Signals;
}

/** The number of a signal name. */
export function signalNumber(name: NodeJS.Signals): number {
  return (constants.signals as Record<string, number>)[name]!;
}
