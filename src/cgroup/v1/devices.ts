// cgroup v1 devices controller: devices.allow / devices.deny take one rule per write, devices.list
// shows the allowed exceptions ("a *:* rwm" while every device is allowed). Only the difference
// between the live and the wanted policy is written, so that a running container never sees a
// moment of "deny all" when its policy is applied again unchanged or with one rule more.
import { join } from "node:path";
import { SysError } from "../../sys/errors";
import { readCgroupFile, writeCgroupFile } from "../cgroupfs";
import type { Controller } from "../controller";
import { parseException, policyFromList, type DevicePolicy } from "../devicePolicy";
import { devicesLimits } from "../v2/devices";

const ALLOW = "devices.allow";
const DENY = "devices.deny";

function accessByMatch(exceptions: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of exceptions) {
    const at = line.lastIndexOf(" ");
    if (parseException(line, "device policy") !== undefined) out.set(line.slice(0, at), line.slice(at + 1));
  }
  return out;
}

function without(a: string, b: string): string {
  return [...a].filter((ch) => !b.includes(ch)).join("");
}

/**
 * The writes that turn `live` into `want`, each [file, rule]. While every device is allowed the kernel
 * lists no deny exceptions, so from there (or when the default changes) the cgroup is reset with "a"
 * and every exception written again; otherwise only what differs is.
 */
export function devicesTransition(live: DevicePolicy, want: DevicePolicy): Array<[string, string]> {
  const writes: Array<[string, string]> = [];
  const grant = want.default === "deny" ? ALLOW : DENY;
  const revoke = want.default === "deny" ? DENY : ALLOW;
  let have = new Map<string, string>();
  if (live.default !== "deny" || want.default !== "deny") {
    writes.push([revoke, "a"]);
  } else {
    have = accessByMatch(live.exceptions);
  }
  const wanted = accessByMatch(want.exceptions);
  for (const [match, access] of have) {
    const dropped = without(access, wanted.get(match) ?? "");
    if (dropped !== "") writes.push([revoke, `${match} ${dropped}`]);
  }
  for (const [match, access] of wanted) {
    const gained = without(access, have.get(match) ?? "");
    if (gained !== "") writes.push([grant, `${match} ${gained}`]);
  }
  return writes;
}

function readPolicy(dir: string): DevicePolicy {
  const list = join(dir, "devices.list");
  return policyFromList(readCgroupFile(list), list);
}

export const devicesV1: Controller<typeof devicesLimits> = {
  name: "devices",
  limits: devicesLimits,
  apply(dir, want) {
    for (const [file, rule] of devicesTransition(readPolicy(dir), want)) {
      try {
        writeCgroupFile(join(dir, file), rule);
      } catch (err) {
        // A child may never be given more than its parent has.
        if (err instanceof SysError && err.code === "EPERM" && file === ALLOW) throw err.withContext(`allow "${rule}": the parent cgroup does not allow it`);
        // The kernel resets a cgroup's default ("a") only while it has no child cgroups.
        if (err instanceof SysError && err.code === "EINVAL" && rule === "a") {
          throw err.withContext("the devices default of a cgroup with nested cgroups cannot change: declare its device rules before anything is nested in it, or replace it");
        }
        throw err;
      }
    }
  },
  read: readPolicy,
};
