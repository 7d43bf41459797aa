// Keeps secret values out of everything a person or a machine reads: the text display, --json
// events and debug diagnostics. The state keeps them encrypted (secrets/checkpointValues.ts); here
// what is shown is masked.
import type { EngineEvent } from "./events";
import { isSecret } from "./propertyValues";

/** What every secret value is shown as. */
export const SECRET_MASK = "[secret]";

/**
 * Masks secrets in engine events. Wrapped secrets are replaced structurally; text (diagnostics,
 * provider error messages) is scrubbed of every plaintext the engine has seen inside a secret
 * wrapper, because the SDK's debug log prints whole RegisterResource responses (jspb messages
 * stringify to their raw field arrays) and providers may quote a value in an error.
 */
export class SecretRedactor {
  private readonly plaintexts = new Set<string>();
  /** Longest first, so a secret that contains another is masked whole. */
  private sorted: string[] | undefined;

  /** Records the plaintext of every secret found anywhere in `v`. */
  learn(v: unknown): void {
    if (isSecret(v)) {
      this.learnPlain(v.value);
      return;
    }
    if (Array.isArray(v)) for (const x of v) this.learn(x);
    else if (typeof v === "object" && v !== null) for (const x of Object.values(v)) this.learn(x);
  }

  private learnPlain(v: unknown): void {
    if (isSecret(v)) return this.learnPlain(v.value);
    if (Array.isArray(v)) return v.forEach((x) => this.learnPlain(x));
    if (typeof v === "object" && v !== null) {
      for (const x of Object.values(v)) this.learnPlain(x);
      // A secret object may also be printed whole, as JSON.
      this.add(JSON.stringify(v));
      return;
    }
    if (typeof v === "string") this.add(v);
    // Short numbers and booleans would mask every digit of unrelated text; long ones are kept.
    else if (typeof v === "number" && String(v).length >= 4) this.add(String(v));
  }

  private add(s: string): void {
    if (s === "" || this.plaintexts.has(s)) return;
    this.plaintexts.add(s);
    // The same value JSON-escaped, as it appears inside a printed JSON string.
    const escaped = JSON.stringify(s).slice(1, -1);
    if (escaped !== s) this.plaintexts.add(escaped);
    this.sorted = undefined;
  }

  /** `text` with every known secret plaintext replaced by [secret]. */
  text(text: string): string {
    if (this.plaintexts.size === 0) return text;
    this.sorted ??= [...this.plaintexts].sort((a, b) => b.length - a.length);
    let out = text;
    for (const s of this.sorted) if (out.includes(s)) out = out.split(s).join(SECRET_MASK);
    return out;
  }

  /** A copy of `v` with every secret wrapper replaced by [secret] and every string scrubbed. */
  value(v: unknown): unknown {
    if (isSecret(v)) return SECRET_MASK;
    if (typeof v === "string") return this.text(v);
    if (Array.isArray(v)) return v.map((x) => this.value(x));
    if (typeof v === "object" && v !== null) {
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) o[k] = this.value(x);
      return o;
    }
    return v;
  }

  /** The event as it may be shown: secrets learned from it first, then masked. */
  event(e: EngineEvent): EngineEvent {
    switch (e.type) {
      case "diagnostic":
        return { ...e, message: this.text(e.message) };
      case "step-failed":
        return { ...e, message: this.text(e.message) };
      case "step-done":
      case "drift":
        for (const ch of e.changes) {
          this.learn(ch.old);
          this.learn(ch.new);
        }
        return { ...e, changes: e.changes.map((ch) => ({ key: ch.key, old: this.value(ch.old), new: this.value(ch.new) })) };
      case "outputs":
        this.learn(e.outputs);
        return { ...e, outputs: this.value(e.outputs) as Record<string, unknown> };
      default:
        return e;
    }
  }
}
