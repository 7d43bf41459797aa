// The JSON text of a validated seccomp profile, one property per line, so that a changed profile
// shows as a line diff. 64-bit datums are written as exact integers (parseProfileJson reads them
// back as bigint), never rounded through a double.
import type { SeccompProfile } from "../../../src/seccomp/profile";

/** Pretty JSON of `profile`, bigints as plain integer literals. */
export function profileJson(profile: SeccompProfile): string {
  const marks: string[] = [];
  const text = JSON.stringify(
    profile,
    (_key, value: unknown) => {
      if (typeof value !== "bigint") return value;
      if (value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(value);
      marks.push(value.toString());
      return `__bigint_${marks.length - 1}__`;
    },
    2,
  );
  return text.replace(/"__bigint_(\d+)__"/g, (m, i: string) => marks[Number(i)] ?? m);
}
