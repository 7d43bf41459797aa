// A hostform-runtime container's cgroup, read and changed while it runs: `events --stats` (runc's
// stats document) and `update` (runc's flags or a LinuxResources JSON).
import { ValidationError } from "../../sys/errors";
import { statsEvent, type OciStatsEvent } from "../ociStats";
import { parseUpdate, type UpdateFlags } from "../ociUpdate";
import { ociCgroups } from "./cgroupPath";
import { ContainerStatusError, ociStatus } from "./lifecycle";
import { loadOciRecord, type OciRecord } from "./record";

function liveCgroup(root: string, id: string): OciRecord {
  const rec = loadOciRecord(root, id);
  const status = ociStatus(root, rec);
  if (status === "stopped" || status === "creating") throw new ContainerStatusError(id, status, "container not running");
  if (!ociCgroups().exists(rec.cgroup)) throw new ValidationError("id", `the cgroup of container ${id} (/${rec.cgroup}) is gone`, `delete the container: hostform-runtime delete --force ${id}`);
  return rec;
}

export function ociStatsEvent(root: string, id: string): OciStatsEvent {
  const rec = liveCgroup(root, id);
  const cgroups = ociCgroups();
  return statsEvent(id, cgroups.stats(rec.cgroup), cgroups.read(rec.cgroup));
}

/** Applies `update`'s flags (or the JSON of -r) to the container's cgroup, in place. */
export function ociUpdate(root: string, id: string, flags: UpdateFlags, resourcesJson?: string): void {
  const rec = liveCgroup(root, id);
  const cgroups = ociCgroups();
  const limits = parseUpdate(flags, resourcesJson, cgroups.read(rec.cgroup));
  cgroups.apply(rec.cgroup, limits);
}
