// Run by store.test.ts with process.execPath: creates a namespace set, prints its info as JSON
// and exits, so the test can check that the set outlives the process that made it.
import { createNamespaces } from "../../src/ns";

const [name, ...types] = process.argv.slice(2);
createNamespaces(name ?? "", types).then(
  (info) => process.stdout.write(JSON.stringify(info)),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
