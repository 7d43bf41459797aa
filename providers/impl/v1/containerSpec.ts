// A Container's declaration as the runtime's ContainerConfig: the runtime's specgen builds the OCI spec
// from it (src/runtime/specgen), naming the resource's own fields in every error. What is left here is
// the provider's own business: the policies it hands the supervisor, and the digest it adopts by.
import { createHash } from "node:crypto";
import { parseRestartPolicy } from "../../../src/runtime/restartPolicy";
import type { ContainerSpec } from "../../../src/runtime/spec";
import type { ContainerConfig } from "../../../src/runtime/specgen/config";
import { generateSpec } from "../../../src/runtime/specgen/generate";
import { ValidationError } from "../../../src/sys/errors";
import { parseSignal } from "../../../src/sys/signals";
import type { ContainerInputs } from "./containerInputs";
import { plannedNetwork } from "./networkSetup";
import { withImage } from "./containerImage";

/** Annotation carrying the digest of everything that makes the container what it is (adoption key). */
export const SPEC_DIGEST_ANNOTATION = "org.hostform.spec-digest";

/** The optional ContainerConfig fields the inputs carry under the same name. */
const CONFIG_KEYS = ["args", "env", "cwd", "user", "hostname", "capabilities", "rlimits", "mounts", "readonlyRootfs", "devices", "userns"] as const satisfies ReadonlyArray<keyof ContainerConfig & keyof ContainerInputs>;

/** The declaration as the runtime's container configuration (the inputs carry the same field names). */
export function configOf(inputs: ContainerInputs): ContainerConfig {
  let config: ContainerConfig = { rootfs: inputs.rootfs ?? "", command: inputs.command ?? [] };
  for (const key of CONFIG_KEYS) if (inputs[key] !== undefined && inputs[key] !== null) Object.assign(config, { [key]: inputs[key] });
  if (inputs.image !== undefined && inputs.image !== null) config = withImage(config, inputs, inputs.image);
  if (inputs.namespacePaths !== undefined && inputs.namespacePaths !== null) config.namespace = { name: inputs.namespaceName ?? "", paths: inputs.namespacePaths };
  // Fixed paths (the pin and the name files are named by the container id), so the digest of a
  // spec built before the network is made equals the one built after.
  if (typeof inputs.name === "string") Object.assign(config, plannedNetwork(inputs));
  return config;
}

/**
 * The OCI spec of a declaration. With checkHost, also what only the host can tell: the rootfs
 * exists, the program is found in it, bind sources exist, user names resolve.
 */
export function buildSpec(inputs: ContainerInputs, checkHost = true): ContainerSpec {
  return generateSpec(configOf(inputs), { checkHost });
}

/**
 * The layers the runtime mounts copy-on-write for the container (topmost first): the image's, or the
 * directory root alone unless copyOnWrite is false. undefined: the directory is the root as it is.
 */
export function rootLayersOf(inputs: ContainerInputs): string[] | undefined {
  if (inputs.image !== undefined && inputs.image !== null) return inputs.image.layers;
  if (inputs.copyOnWrite === false || typeof inputs.rootfs !== "string") return undefined;
  return [inputs.rootfs];
}

/** Exactly one of rootfs and image; a command unless the image gives one. */
export function checkRootChoice(inputs: ContainerInputs): void {
  const hasImage = inputs.image !== undefined && inputs.image !== null;
  const hasRootfs = inputs.rootfs !== undefined && inputs.rootfs !== null;
  if (hasImage && hasRootfs) throw new ValidationError("image", "is given together with rootfs", "give one of them: the image's layers are the root");
  if (!hasImage && !hasRootfs) throw new ValidationError("rootfs", "is missing", "give a directory, a BusyboxRootfs, or an image");
  if (hasImage && inputs.copyOnWrite === false) throw new ValidationError("copyOnWrite", "is false for an image", "an image's layers are shared and read-only: remove copyOnWrite");
  if (!hasImage && (inputs.command === undefined || inputs.command === null)) throw new ValidationError("command", "is missing", "give the program to run (only an image can supply one)");
}

/** Checks the non-spec fields every create needs: restart policy, stop signal and timeout. */
export function validatePolicies(inputs: ContainerInputs): void {
  parseRestartPolicy(inputs.restartPolicy ?? undefined, "restartPolicy");
  if (inputs.stopSignal !== undefined && inputs.stopSignal !== null) parseSignal(inputs.stopSignal, "stopSignal");
  const t = inputs.stopTimeout;
  if (t !== undefined && t !== null && !(typeof t === "number" && Number.isFinite(t) && t >= 0)) {
    throw new ValidationError("stopTimeout", `${JSON.stringify(t)} is not a number of seconds`, "use 0 or more");
  }
  const desired = inputs.desiredState;
  if (desired !== undefined && desired !== null && desired !== "running" && desired !== "exited") {
    throw new ValidationError("desiredState", `${JSON.stringify(desired)} is not "running" or "exited"`, '"running" for a service, "exited" for a job that runs to completion');
  }
  if (desired === "exited" && inputs.restartPolicy === "always") throw new ValidationError("restartPolicy", '"always" never lets a job (desiredState "exited") finish', 'use "no" or "on-failure[:N]"');
  if (inputs.seccomp !== undefined && inputs.seccomp !== null && !["default", "unconfined", "profile"].includes(inputs.seccomp)) {
    throw new ValidationError("seccompProfile", `${JSON.stringify(inputs.seccomp)} is not a seccomp choice`, 'give a SeccompProfile, "default" or "unconfined"');
  }
}

/** True for a job: a container declared to run to completion (desiredState "exited"). */
export function isJob(inputs: ContainerInputs): boolean {
  return inputs.desiredState === "exited";
}

/** sha256 of what the container runs as (spec, seccomp choice and digest, copy-on-write layers): equal digests mean the same container. */
export function specDigest(spec: ContainerSpec, seccompKey: string, rootLayers?: readonly string[]): string {
  const { annotations: _ignored, ...rest } = spec;
  const h = createHash("sha256").update(JSON.stringify(rest)).update("\0").update(seccompKey);
  // A copy-on-write root is part of what the container is (an image's layers are not in its spec).
  if (rootLayers !== undefined) h.update("\0").update(JSON.stringify(rootLayers));
  return h.digest("hex");
}
