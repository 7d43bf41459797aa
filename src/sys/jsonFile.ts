// Small JSON record files (network records, attachments, cached CNI results): read back with a missing
// file as "none" and a damaged one as a CorruptFileError that says what to do, listed by name.
import { readdirSync, readFileSync } from "node:fs";
import { CorruptFileError, hasCode, SysError } from "./errors";

/** The parsed content of `file`; undefined when it does not exist. `what` names it in errors, `hint` says how to recover. */
export function readJsonFile<T>(file: string, what: string, hint: string): T | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if (hasCode(err, "ENOENT")) return undefined;
    throw SysError.fromNode(err, `read ${what}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new CorruptFileError(file, `is not valid JSON (${(err as Error).message}); ${hint}`, { cause: err });
  }
}

/** Names of the `.json` files in `dir` without the extension, sorted; [] when dir does not exist. */
export function jsonFileNames(dir: string, what: string): string[] {
  try {
    return readdirSync(dir).filter((n) => n.endsWith(".json")).map((n) => n.slice(0, -".json".length)).sort();
  } catch (err) {
    if (hasCode(err, "ENOENT")) return [];
    throw SysError.fromNode(err, `list ${what}`);
  }
}
