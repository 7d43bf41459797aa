// Run by recreate.test.ts with process.execPath: `<name> <rounds> <type>...`. Each round deletes
// the set and creates it again; prints the info of every create as a JSON list.
import { createNamespaces, deleteNamespaces, type NamespaceSetInfo } from "../../src/ns";

async function main(): Promise<void> {
  const [name = "", rounds = "1", ...types] = process.argv.slice(2);
  const made: NamespaceSetInfo[] = [];
  for (let i = 0; i < Number(rounds); i++) {
    await deleteNamespaces(name);
    made.push(await createNamespaces(name, types));
  }
  process.stdout.write(JSON.stringify(made));
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
