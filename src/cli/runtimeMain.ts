/** Entry of `hostform-runtime`, the OCI runtime command line. Filled in by the runtime layer. */
export async function main(_argv: string[]): Promise<number> {
  process.stderr.write("hostform-runtime: not built yet\n");
  return 1;
}
