// Each client scenario is one function, run as two subtests with the same assertions: under runc,
// the reference, and under hostform-runtime (issue 15, item 5).
import { test } from "node:test";
import { RUNTIMES, type RuntimeName } from "../../fixtures/ociClients/runtimeLauncher";

export interface MatrixOptions {
  /** Why the whole scenario cannot run here (a client is not installed), else false. */
  skip: () => string | false;
  /** Per runtime: a broken runtime must fail in seconds, not hang the file. */
  timeoutMs: number;
}

/** Declares `name` with one subtest per runtime, each running scenario(runtime). */
export function eachRuntime(name: string, options: MatrixOptions, scenario: (runtime: RuntimeName) => Promise<void>): void {
  test(name, async (t) => {
    const skip = options.skip();
    if (skip !== false) return t.skip(skip);
    for (const runtime of RUNTIMES) {
      await t.test(runtime, { timeout: options.timeoutMs }, () => scenario(runtime));
    }
  });
}
