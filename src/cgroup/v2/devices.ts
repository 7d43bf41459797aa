// The devices limit group (OCI device rules, resolved into a policy) and its cgroup v2 controller.
// cgroup v2 has no devices files: the policy is a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the
// cgroup (deviceProgram.ts), as runc and crun attach theirs. A program cannot be read back as rules,
// so the policy it enforces is recorded beside it, in a trusted.* attribute of the cgroup directory,
// with the program's tag: read reports the recorded policy only while exactly that program is the one
// attached, and "unknown" with the programs found when it was detached, replaced or joined by others.
import {
  BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI, BPF_PROG_TYPE_CGROUP_DEVICE, attachProgram, detachProgram, loadProgram,
  openCgroupDir, programFdById, programInfo, queryPrograms, withFd, type ProgramInfo,
} from "../../sys/bpf";
import { CorruptFileError, withContext } from "../../sys/errors";
import { getXattr, setXattr } from "../../sys/xattr";
import type { Controller, LimitGroup } from "../controller";
import { ALLOW_ALL, ALLOW_ALL_RULES, devicePolicyOf, type DevicePolicy, type DeviceRule } from "../devicePolicy";
import { deviceProgram } from "./deviceProgram";

export const devicesLimits: LimitGroup<"devices", DeviceRule[], DevicePolicy> = {
  name: "devices",
  validate(input, field) {
    return devicePolicyOf(input, field);
  },
  // linux.resources.devices is a list, not an object of fields: the runtime reads it itself (runc's
  // default rules go after it), so there is no OCI mapping here.
  lift(_olds, news) {
    return Array.isArray(news) ? [...news] : [...ALLOW_ALL_RULES];
  },
};

/** The attribute holding {tag, default, exceptions} of the filter hostform attached. */
const RECORD = "trusted.hostform.devices";
const PROGRAM_NAME = "hostform_dev";

interface FilterRecord extends DevicePolicy {
  tag: string;
}

function readRecord(dir: string): FilterRecord | undefined {
  const raw = getXattr(dir, RECORD);
  if (raw === undefined) return undefined;
  try {
    const r = JSON.parse(raw.toString("utf8")) as FilterRecord;
    if (typeof r.tag === "string" && Array.isArray(r.exceptions)) return r;
  } catch {
    // Reported below with the attribute's name.
  }
  throw new CorruptFileError(`${dir} (${RECORD})`, "is not hostform's device filter record; remove the attribute and apply the limits again");
}

function attachedPrograms(cgroupFd: number, dir: string): ProgramInfo[] {
  return queryPrograms(cgroupFd, BPF_CGROUP_DEVICE, dir).map((id) => withFd(programFdById(id), programInfo));
}

/**
 * Loads the filter for `policy` and makes it the only one attached: the new program is attached
 * before the old ones are detached (BPF_F_ALLOW_MULTI, as runc does), so no access slips through
 * in between. A filter already enforcing the same program is left alone.
 */
function installFilter(dir: string, policy: DevicePolicy): void {
  withFd(openCgroupDir(dir), (cgroupFd) => {
    const old = attachedPrograms(cgroupFd, dir);
    withFd(loadProgram(BPF_PROG_TYPE_CGROUP_DEVICE, deviceProgram(policy), "Apache-2.0", PROGRAM_NAME), (progFd) => {
      const tag = programInfo(progFd).tag;
      const record: FilterRecord = { tag, default: policy.default, exceptions: policy.exceptions };
      if (old.length === 1 && old[0]?.tag === tag) {
        setXattr(dir, RECORD, Buffer.from(JSON.stringify(record)));
        return;
      }
      attachProgram(cgroupFd, progFd, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI, dir);
      setXattr(dir, RECORD, Buffer.from(JSON.stringify(record)));
      for (const p of old) {
        try {
          withFd(programFdById(p.id), (fd) => detachProgram(cgroupFd, fd, BPF_CGROUP_DEVICE, dir));
        } catch (err) {
          throw withContext(err, `detach the earlier device filter (bpf program ${p.id}) after attaching the new one`);
        }
      }
    });
  });
}

/** The policy the cgroup's filter enforces, as far as this cgroup's own attachments tell. */
function readFilter(dir: string): DevicePolicy {
  const attached = withFd(openCgroupDir(dir), (cgroupFd) => attachedPrograms(cgroupFd, dir));
  if (attached.length === 0) return { ...ALLOW_ALL, exceptions: [] };
  const record = readRecord(dir);
  if (attached.length === 1 && record !== undefined && attached[0]?.tag === record.tag) return { default: record.default, exceptions: [...record.exceptions] };
  return { default: "unknown", exceptions: attached.map((p) => `bpf program ${p.id} "${p.name}" (tag ${p.tag}), not the filter hostform attached`) };
}

export const devicesV2: Controller<typeof devicesLimits> = {
  name: "devices",
  limits: devicesLimits,
  builtIn: true,
  apply: installFilter,
  read: readFilter,
};
