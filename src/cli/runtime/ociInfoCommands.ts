// hostform-runtime's commands around a container rather than its life: ps, events, update, and the
// two that need none (features, spec). Same flags and output as runc's, which clients parse.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { UsageError, onePositional, parseFlags, printJson } from "../command";
import { ValidationError } from "../../sys/errors";
import { splitAtId } from "./argvSplit";
import type { OciCommand } from "./ociCommands";

const psCommand: OciCommand = {
  name: "ps",
  usage: "ps [--format table|json] <id> [ps options, default -ef]",
  async run(ctx, argv) {
    const split = splitAtId(argv, new Set(["--format", "-f"]));
    const { values, positionals } = parseFlags(split.flags, { format: { type: "string", short: "f" } });
    if (values.format !== undefined && values.format !== "table" && values.format !== "json") throw new UsageError(`--format: ${values.format} is not table or json`);
    const id = onePositional(positionals, "give the container id");
    const [{ ociPids }, { psJson, psTable }] = await Promise.all([import("../../runtime/oci/lifecycle.js"), import("../../runtime/ociPs.js")]);
    const pids = ociPids(ctx.root, id);
    process.stdout.write(values.format === "json" ? psJson(pids) : psTable(pids, split.command));
    return 0;
  },
};

/** runc's --interval: a Go duration ("5s", "500ms", "1m"). */
function parseInterval(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text);
  if (m === null) throw new ValidationError("--interval", `'${text}' is not a duration`, 'give e.g. "5s" or "500ms"');
  const n = Number(m[1]) * (m[2] === "ms" ? 1 : m[2] === "s" ? 1000 : 60_000);
  if (n <= 0) throw new ValidationError("--interval", "must be more than 0", 'give e.g. "5s"');
  return n;
}

const eventsCommand: OciCommand = {
  name: "events",
  usage: "events [--stats] [--interval 5s] <id>   (--stats: one stats document; else one every interval until the container stops)",
  async run(ctx, argv) {
    const { values, positionals } = parseFlags(argv, { stats: { type: "boolean" }, interval: { type: "string" } });
    const id = onePositional(positionals, "give the container id");
    const interval = parseInterval(values.interval ?? "5s");
    const [{ ociStatsEvent }, { ociState }] = await Promise.all([import("../../runtime/oci/resources.js"), import("../../runtime/oci/lifecycle.js")]);
    const line = () => process.stdout.write(`${JSON.stringify(ociStatsEvent(ctx.root, id))}\n`);
    line();
    if (values.stats === true) return 0;
    for (;;) {
      await new Promise((r) => setTimeout(r, interval));
      if (ociState(ctx.root, id).status === "stopped") return 0;
      line();
    }
  },
};

const UPDATE_FLAGS = {
  resources: { type: "string", short: "r" },
  memory: { type: "string" },
  "memory-reservation": { type: "string" },
  "memory-swap": { type: "string" },
  "kernel-memory": { type: "string" },
  "kernel-memory-tcp": { type: "string" },
  "cpu-share": { type: "string" },
  "cpu-quota": { type: "string" },
  "cpu-period": { type: "string" },
  "cpu-rt-runtime": { type: "string" },
  "cpu-rt-period": { type: "string" },
  "cpuset-cpus": { type: "string" },
  "cpuset-mems": { type: "string" },
  "blkio-weight": { type: "string" },
  "pids-limit": { type: "string" },
  "l3-cache-schema": { type: "string" },
  "mem-bw-schema": { type: "string" },
} as const;

const updateCommand: OciCommand = {
  name: "update",
  usage: "update [--memory N] [--pids-limit N] [--cpu-share N] [...runc's flags] [-r FILE|-] <id>",
  async run(ctx, argv) {
    const { values, positionals } = parseFlags(argv, UPDATE_FLAGS);
    const id = onePositional(positionals, "give the container id");
    const { resources, ...flags } = values;
    let json: string | undefined;
    if (resources !== undefined) {
      const path = resources === "-" ? 0 : resolve(resources);
      if (path !== 0 && !existsSync(path)) throw new ValidationError("--resources", `${path} does not exist`, "give a LinuxResources JSON file, or - for stdin");
      json = readFileSync(path, "utf8");
    }
    const { ociUpdate } = await import("../../runtime/oci/resources.js");
    ociUpdate(ctx.root, id, flags, json);
    return 0;
  },
};

const featuresCommand: OciCommand = {
  name: "features",
  usage: "features   (what this runtime supports, as runc prints it)",
  async run(_ctx, argv) {
    parseFlags(argv, {}, false);
    const { featuresDocument } = await import("../../runtime/features.js");
    printJson(featuresDocument());
    return 0;
  },
};

const specCommand: OciCommand = {
  name: "spec",
  usage: "spec [--bundle DIR] [--rootless]   (writes config.json, as runc spec does)",
  async run(_ctx, argv) {
    const { values } = parseFlags(argv, { bundle: { type: "string", short: "b" }, rootless: { type: "boolean" } }, false);
    const { defaultBundleSpec } = await import("../../runtime/specTemplate.js");
    const path = join(resolve(values.bundle ?? "."), "config.json");
    if (existsSync(path)) throw new ValidationError("config.json", `${path} already exists`, "remove it first, or give another --bundle");
    writeFileSync(path, `${JSON.stringify(defaultBundleSpec({ rootless: values.rootless === true }), null, "\t")}\n`, { flag: "wx", mode: 0o666 });
    return 0;
  },
};

export const OCI_INFO_COMMANDS: readonly OciCommand[] = [psCommand, eventsCommand, updateCommand, featuresCommand, specCommand];
