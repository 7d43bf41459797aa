// runc's commands that take a command after the container id (exec, ps): flags come before the id,
// and every word after it belongs to the command, dashes and all.

/** Splits argv at the container id: flags before it are the command's, words after it go on (runc's order). */
export function splitAtId(argv: string[], valueFlags: ReadonlySet<string>): { flags: string[]; command: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") return { flags: argv.slice(0, i + 2), command: argv.slice(i + 2) };
    if (!a.startsWith("-")) return { flags: argv.slice(0, i + 1), command: argv.slice(i + 1) };
    if (valueFlags.has(a)) i++;
  }
  return { flags: argv, command: [] };
}
