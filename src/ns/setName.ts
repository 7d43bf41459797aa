import { ValidationError } from "../sys/errors";

// The name becomes a directory under the ns dir: no slashes, no dot-names, bounded length.
const SET_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

/** True when name can name a namespace set. */
export function isValidSetName(name: string): boolean {
  return SET_NAME.test(name);
}

/** Checks the name of a namespace set; throws ValidationError naming `field` otherwise. */
export function validateSetName(name: unknown, field = "name"): string {
  if (typeof name !== "string" || !SET_NAME.test(name)) {
    const shown = typeof name === "string" ? JSON.stringify(name) : typeof name;
    throw new ValidationError(
      field,
      `${shown} is not a valid namespace set name`,
      "use 1-128 characters from a-z A-Z 0-9 _ . - starting with a letter or digit",
    );
  }
  return name;
}
