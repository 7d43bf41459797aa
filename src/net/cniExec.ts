// One CNI plugin call (SPEC.md section 2): the command and the attachment in CNI_* variables, the
// plugin's configuration on stdin, a result or an error object on stdout.
import { spawn } from "node:child_process";
import { HostformError, registerErrorClass } from "../sys/errors";
import { findPlugin, pluginDirs } from "./cniPlugins";
import type { CniAttachment, CniResult } from "./cniTypes";

export type CniCommand = "ADD" | "DEL" | "CHECK" | "VERSION";

/** A plugin that failed: its CNI error code and message (SPEC.md "Error" object), or how it died. */
export class CniError extends HostformError {
  constructor(
    readonly plugin: string,
    readonly command: CniCommand,
    readonly network: string,
    readonly code: number,
    readonly msg: string,
    readonly details?: string,
  ) {
    super(`CNI ${command} of network ${network}: plugin ${plugin} failed (code ${code}): ${msg}${details !== undefined && details !== "" ? ` (${details})` : ""}`);
  }
}
registerErrorClass(CniError);

export interface ExecOptions {
  /**
   * Network namespace the plugin itself runs in (where it makes the bridge, the host end of the
   * veth and the rules): the host's by default. Tests pass one of their own, so that nothing they
   * do reaches the host's network.
   */
  hostNetns?: string;
}

/** Runs `type` with `command` for the attachment; resolves with its parsed stdout (empty for DEL and CHECK). */
export function execPlugin(type: string, command: CniCommand, network: string, conf: Record<string, unknown>, at: CniAttachment, options: ExecOptions = {}): Promise<CniResult | undefined> {
  const dirs = pluginDirs();
  const binary = findPlugin(type, dirs);
  const env: Record<string, string> = {
    CNI_COMMAND: command,
    CNI_CONTAINERID: at.containerId,
    CNI_NETNS: at.netns,
    CNI_IFNAME: at.ifname,
    CNI_PATH: dirs.join(":"),
    // The plugins run iptables and friends from PATH.
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  };
  const [file, args] = options.hostNetns !== undefined ? ["nsenter", [`--net=${options.hostNetns}`, "--", binary]] : [binary, []];
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", (e) => reject(new CniError(type, command, network, 999, `could not run ${file}: ${e.message}`)));
    child.on("close", (code, signal) => {
      if (code === 0) {
        if (out.trim() === "") return resolve(undefined);
        try {
          return resolve(JSON.parse(out) as CniResult);
        } catch {
          return reject(new CniError(type, command, network, 999, `printed a result that is not JSON: ${out.slice(0, 200)}`));
        }
      }
      reject(pluginError(type, command, network, out, err, code, signal));
    });
    child.stdin.end(JSON.stringify(conf));
  });
}

function pluginError(type: string, command: CniCommand, network: string, out: string, err: string, code: number | null, signal: NodeJS.Signals | null): CniError {
  try {
    const e = JSON.parse(out) as { code?: number; msg?: string; details?: string };
    if (typeof e.msg === "string") return new CniError(type, command, network, e.code ?? 999, e.msg, e.details);
  } catch {
    // Not an error object: report what it printed.
  }
  const how = signal !== null ? `was killed by ${signal}` : `exited with ${code}`;
  return new CniError(type, command, network, 999, `${how}: ${(err || out).trim().slice(0, 500)}`);
}
