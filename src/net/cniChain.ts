// Executing a network configuration list (SPEC.md section 3): ADD runs the plugins in order, each
// given the previous one's result; the final result is cached, because DEL (in reverse order) and
// CHECK (in order) hand each plugin that cached result as prevResult, as libcni does.
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { atomicWrite } from "../sys/atomicFile";
import { HostformError, withContext } from "../sys/errors";
import { readJsonFile } from "../sys/jsonFile";
import { withFileLock } from "../sys/fileLock";
import { hostNetLockPath, runDir } from "../sys/paths";
import { execPlugin, type CniCommand, type ExecOptions } from "./cniExec";
import type { CniAttachment, CniConfList, CniPluginConf, CniResult } from "./cniTypes";

/** Directory of cached ADD results: one file per network, container and interface. */
export function resultCacheDir(): string {
  return join(runDir(), "cni", "results");
}

function cachePath(list: CniConfList, at: CniAttachment): string {
  return join(resultCacheDir(), `${list.name}-${at.containerId}-${at.ifname}.json`);
}

/** The plugin's stdin: its entry plus the list's name and version, prevResult and runtimeConfig. */
function pluginConf(list: CniConfList, plugin: CniPluginConf, at: CniAttachment, prevResult: CniResult | undefined): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
  if (prevResult !== undefined) conf.prevResult = prevResult;
  // Only the capabilities a plugin declares reach it (SPEC.md "Deriving runtimeConfig").
  const runtimeConfig: Record<string, unknown> = {};
  for (const [cap, on] of Object.entries(plugin.capabilities ?? {})) {
    const value = (at.runtimeConfig as Record<string, unknown> | undefined)?.[cap];
    if (on && value !== undefined) runtimeConfig[cap] = value;
  }
  if (Object.keys(runtimeConfig).length > 0) conf.runtimeConfig = runtimeConfig;
  return conf;
}

/** The ADD result cached for the attachment; undefined when there is none. */
export function cachedResult(list: CniConfList, at: CniAttachment): CniResult | undefined {
  return readJsonFile<CniResult>(cachePath(list, at), "cached CNI result", "remove it and run the network's DEL by hand");
}

/**
 * Attaches the container to the network. A failing plugin leaves nothing: the ones that ran are
 * undone with DEL (in reverse) before the error is thrown, as the spec asks of runtimes.
 */
export function addNetwork(list: CniConfList, at: CniAttachment, options: ExecOptions = {}): Promise<CniResult> {
  return withHostNetLock(`attach ${at.containerId} to network ${list.name}`, () => addLocked(list, at, options));
}

/**
 * Runs fn holding the host's network lock: the plugins' shared chains are made by the first ADD and
 * removed by hostform when idle (sharedChains.ts), and two processes must not interleave those.
 */
export function withHostNetLock<T>(what: string, fn: () => Promise<T>): Promise<T> {
  return withFileLock(hostNetLockPath(), what, LOCK_WAIT_MS, fn);
}

/** Other processes' ADDs and DELs take a few hundred ms each: a minute is a host in trouble. */
const LOCK_WAIT_MS = 60_000;

async function addLocked(list: CniConfList, at: CniAttachment, options: ExecOptions): Promise<CniResult> {
  let result: CniResult | undefined;
  for (const plugin of list.plugins) {
    try {
      result = (await execPlugin(plugin.type, "ADD", list.name, pluginConf(list, plugin, at, result), at, options)) ?? result;
    } catch (err) {
      try {
        await runDel(list, at, result, options);
      } catch (undo) {
        throw withContext(err, `attach ${at.containerId} to network ${list.name}`).withCleanupFailure(`detaching it again`, undo);
      }
      throw err;
    }
  }
  if (result === undefined) throw new HostformError(`network ${list.name}: no plugin returned a result`);
  mkdirSync(resultCacheDir(), { recursive: true, mode: 0o700 });
  atomicWrite(cachePath(list, at), JSON.stringify(result));
  return result;
}

/** Checks that the attachment is as ADD left it; throws the first plugin's CniError otherwise. */
export async function checkNetwork(list: CniConfList, at: CniAttachment, options: ExecOptions = {}): Promise<void> {
  const cached = cachedResult(list, at);
  // portmap up to plugins 1.2 checks ip6tables rules it never made for an IPv4-only attachment and
  // fails (containernetworking/plugins#819); its rules are left out of CHECK there.
  const ipv6 = cached?.ips?.some((ip) => ip.address.includes(":")) === true;
  const checked = ipv6 ? list : { ...list, plugins: list.plugins.filter((p) => p.type !== "portmap") };
  await runEach(checked, at, "CHECK", cached, options);
}

/**
 * Runs the ADD of the list's plugins of `type` alone, with the cached result as prevResult: puts
 * back what such a plugin made (portmap's rules) without touching the interface the others made.
 * The reference plugins' ADD only adds what is missing, so rules still there are not doubled.
 */
export async function readdPlugins(list: CniConfList, type: string, at: CniAttachment, options: ExecOptions = {}): Promise<void> {
  const cached = cachedResult(list, at);
  if (cached === undefined) throw new HostformError(`network ${list.name}: no cached result for ${at.containerId}; it must be attached again`);
  await withHostNetLock(`re-add ${type} of ${at.containerId} on network ${list.name}`, async () => {
    for (const plugin of list.plugins.filter((p) => p.type === type)) await execPlugin(plugin.type, "ADD", list.name, pluginConf(list, plugin, at, cached), at, options);
  });
}

/** Detaches the container; idempotent (the plugins' DEL is, and a missing cache is no error). */
export async function delNetwork(list: CniConfList, at: CniAttachment, options: ExecOptions = {}): Promise<void> {
  await withHostNetLock(`detach ${at.containerId} from network ${list.name}`, () => runDel(list, at, cachedResult(list, at), options));
  rmSync(cachePath(list, at), { force: true });
}

async function runDel(list: CniConfList, at: CniAttachment, prev: CniResult | undefined, options: ExecOptions): Promise<void> {
  // Every plugin's DEL runs even when one fails (a rule must not outlive its veth); the first error is thrown.
  let first: unknown;
  for (const plugin of [...list.plugins].reverse()) {
    try {
      await execPlugin(plugin.type, "DEL", list.name, pluginConf(list, plugin, at, prev), at, options);
    } catch (err) {
      first ??= err;
    }
  }
  if (first !== undefined) throw first;
}

async function runEach(list: CniConfList, at: CniAttachment, command: CniCommand, prev: CniResult | undefined, options: ExecOptions): Promise<void> {
  for (const plugin of list.plugins) await execPlugin(plugin.type, command, list.name, pluginConf(list, plugin, at, prev), at, options);
}
