// The cgroup limits a Container runs under: its declared limits plus its device policy, which is
// Docker's (deny all, then runc's default list), then each declared host device, then any device
// rules the declaration's limits add. Every read, diff and update compares against this, so a
// loosened device rule is drift like a rewritten memory limit.
import type { CgroupLimits } from "../../../src/cgroup/spec";
import { containerDeviceRules } from "../../../src/runtime/specgen/devices";
import type { ContainerInputs } from "./containerInputs";

export function containerLimits(inputs: Pick<ContainerInputs, "limits" | "devices">): CgroupLimits {
  const declared = (inputs.limits ?? {}) as CgroupLimits;
  return { ...declared, devices: [...containerDeviceRules(inputs.devices ?? undefined), ...(declared.devices ?? [])] };
}
