import { loadProject, validateStackName, type Project } from "../engine/project";

/** The flags that pick the project and stack, shared by the stack and config commands. */
export const STACK_TARGET_FLAGS = {
  cwd: { type: "string" },
  stack: { type: "string", short: "s" },
} as const;

export const STACK_TARGET_USAGE = `  --cwd DIR             project directory (holding Pulumi.yaml; default: current directory)
  -s, --stack NAME      stack (default: $HOSTFORM_STACK, else dev)`;

/** The project in --cwd and the stack named by --stack, $HOSTFORM_STACK or "dev" (as the engine commands pick them). */
export function resolveStackTarget(values: { cwd?: string; stack?: string }): { project: Project; stack: string } {
  const project = loadProject(values.cwd ?? process.cwd());
  const stack = defaultStackName(values.stack);
  validateStackName(stack);
  return { project, stack };
}

/** --stack when given, else $HOSTFORM_STACK, else "dev". */
export function defaultStackName(flag: string | undefined): string {
  return flag ?? process.env.HOSTFORM_STACK ?? "dev";
}
