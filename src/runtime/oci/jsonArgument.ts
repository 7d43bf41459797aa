// JSON files a command line names (a bundle's config.json, exec's --process): read and parsed, a
// missing or malformed one an error that names the flag and the file.
import { readFileSync } from "node:fs";
import { SysError, ValidationError, hasCode } from "../../sys/errors";

export function readJsonArgument(path: string, flag: string, hint: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if (hasCode(err, "ENOENT")) throw new ValidationError(flag, `${path} does not exist`, hint);
    throw SysError.fromNode(err, `read ${path}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ValidationError(flag, `${path} is not valid JSON: ${(err as Error).message}`, hint, { cause: err });
  }
}
