// Restart policy, stop signal and stop timeout of a running container, changed in place by the
// supervisor's "update" request: same process, and the supervisor (which keeps watching every
// container as its child) follows the new values from the next exit or stop on.
import { formatRestartPolicy, parseRestartPolicy } from "../../../src/runtime/restartPolicy";
import { parseSignal } from "../../../src/sys/signals";
import type { ContainerState } from "../../../src/runtime/state";
import type { RuntimeClient } from "../../../src/runtime/client";
import type { ContainerInputs } from "./containerInputs";

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
    stopSignal: parseSignal(inputs.stopSignal ?? inputs.image?.config.stopSignal ?? "SIGTERM", "stopSignal"),
    stopTimeout: inputs.stopTimeout ?? 10,
  };
}

/** True when the state holds other settings than declared. */
export function policiesDiffer(state: ContainerState, want: ContainerPolicies): boolean {
  return state.restartPolicy !== want.restartPolicy || state.stopSignal !== want.stopSignal || state.stopTimeout !== want.stopTimeout;
}

/** Writes new settings for container `id` without restarting it. */
export async function rewritePolicies(client: RuntimeClient, id: string, want: ContainerPolicies): Promise<void> {
  await client.update(id, want);
}
