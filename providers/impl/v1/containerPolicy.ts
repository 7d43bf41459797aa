// Restart policy, stop signal and stop timeout of a running container, changed in place. The
// supervisor keeps them in memory and in state.json, and has no request to change them yet, so
// this asks it to exit (containers keep running), rewrites state.json and lets the next request
// start a supervisor that adopts every container with the new values. See providers/README.md.
import { formatRestartPolicy, parseRestartPolicy } from "../../../src/runtime/restartPolicy";
import { parseSignal } from "../../../src/runtime/stopSignal";
import { readState, writeState, type ContainerState } from "../../../src/runtime/state";
import type { RuntimeClient } from "../../../src/runtime/client";
import { HostformError } from "../../../src/sys/errors";
import type { ContainerInputs } from "./containerInputs";
import { stopSupervisor } from "./containerSupervisor";

/** The supervisor-held settings of a container. */
export interface ContainerPolicies {
  restartPolicy: string;
  stopSignal: string;
  stopTimeout: number;
}

/** The declared settings in the supervisor's canonical form. */
export function declaredPolicies(inputs: ContainerInputs): ContainerPolicies {
  return {
    restartPolicy: formatRestartPolicy(parseRestartPolicy(inputs.restartPolicy ?? undefined, "restartPolicy")),
    stopSignal: parseSignal(inputs.stopSignal ?? "SIGTERM", "stopSignal"),
    stopTimeout: inputs.stopTimeout ?? 10,
  };
}

/** True when the state holds other settings than declared. */
export function policiesDiffer(state: ContainerState, want: ContainerPolicies): boolean {
  return state.restartPolicy !== want.restartPolicy || state.stopSignal !== want.stopSignal || state.stopTimeout !== want.stopTimeout;
}


/**
 * Writes new settings for container `id` without restarting it. The client must use the run dir
 * of this process's environment (state.json is read and written through it).
 */
export async function rewritePolicies(client: RuntimeClient, id: string, want: ContainerPolicies): Promise<void> {
  await stopSupervisor(client);
  const state = readState(id);
  if (state === undefined) throw new HostformError(`container ${id} has no state any more`);
  writeState({ ...state, ...want });
  // Wakes a supervisor now, so the adopted container is watched again at once.
  await client.state(id);
}
