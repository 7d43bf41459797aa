// How a provider's Read tells the engine more than "found" or "gone": an object that exists but is
// not running (a container whose process has exited or was killed) is reported under one reserved
// output key. The key belongs to the provider-engine protocol, like the dynamic provider's
// `__provider`: the hostform engine shows such a drift as "stopped" instead of "modified", and keeps
// the key out of the state and out of the changes it shows. Engines that do not know it (the Pulumi
// CLI) store it as one more output, which nothing reads.

/** The output key Read reports the live status under. */
export const LIVE_STATUS_KEY = "__liveStatus";

/** What a provider can report about an object Read found; without a report it is simply there. */
export type LiveStatus = "stopped";

/** Read's outputs with the live status set, or taken out when there is none to report (old outputs may carry one). */
export function withLiveStatus<T extends object>(outputs: T, status: LiveStatus | undefined): T {
  const out = { ...outputs } as Record<string, unknown>;
  if (status !== undefined) out[LIVE_STATUS_KEY] = status;
  else delete out[LIVE_STATUS_KEY];
  return out as T;
}

/** The live status in Read's outputs, if a provider reported one this engine knows. */
export function liveStatusOf(outputs: Record<string, unknown>): LiveStatus | undefined {
  return outputs[LIVE_STATUS_KEY] === "stopped" ? "stopped" : undefined;
}
