import { spawn, type ChildProcess } from "node:child_process";
import type * as grpc from "@grpc/grpc-js";
import type { ResourceProviderClient } from "@pulumi/pulumi/proto/provider_grpc_pb";
import { HostformError } from "../sys/errors";
import { jsonSafe } from "./monitor";
import type { Project } from "./project";
import { resolveFromProgram } from "./programRun";
import { EXIT_WITH_PARENT, signalProcessGroup, trackProcessGroup, untrackProcessGroup } from "./processGroups";
import type { PropertyMap } from "./propertyValues";
import { loadPulumiModules, type PulumiModules } from "./pulumiModules";
import { nameOfUrn, typeOfUrn } from "./urn";

/** A provider call that failed; the message is the provider's own. */
export class ProviderError extends HostformError {
  readonly operation: string;
  readonly urn: string;
  constructor(operation: string, urn: string, message: string) {
    super(`${operation} failed: ${message}`);
    this.operation = operation;
    this.urn = urn;
  }
}

export interface CheckResult {
  inputs: PropertyMap;
  failures: { property: string; reason: string }[];
}

export type DiffChanges = "unknown" | "none" | "some";

export interface DiffResult {
  changes: DiffChanges;
  replaces: string[];
  deleteBeforeReplace: boolean;
}

export interface ReadResult {
  /** "" when the resource no longer exists. */
  id: string;
  outputs: PropertyMap;
  inputs?: PropertyMap;
}

/** The dynamic-provider host (`@pulumi/pulumi/cmd/dynamic-provider`) for one deployment. */
export interface ProviderHost {
  check(urn: string, olds: PropertyMap, news: PropertyMap): Promise<CheckResult>;
  diff(urn: string, id: string, olds: PropertyMap, news: PropertyMap, oldInputs: PropertyMap, ignoreChanges: string[]): Promise<DiffResult>;
  create(urn: string, inputs: PropertyMap): Promise<{ id: string; outputs: PropertyMap }>;
  update(urn: string, id: string, olds: PropertyMap, news: PropertyMap, oldInputs: PropertyMap): Promise<PropertyMap>;
  read(urn: string, id: string, outputs: PropertyMap, inputs: PropertyMap): Promise<ReadResult>;
  delete(urn: string, id: string, outputs: PropertyMap, oldInputs: PropertyMap): Promise<void>;
  /** Kills the provider's process group. */
  close(): void;
}

export interface ProviderHostOptions {
  project: Project;
  engineAddress: string;
  /** Stack config ("ns:key" → string): the dynamic provider's Configure args. */
  config: Record<string, string>;
  /** Provider process output after the port line (console.log in provider methods, error stacks). */
  onOutput(line: string, stream: "stdout" | "stderr"): void;
  /** Per-call limit; a provider method running longer is abandoned as failed. */
  callTimeoutMs: number;
  startTimeoutMs?: number;
}

/**
 * Starts the dynamic provider host in its own process group, reads its port from the first stdout
 * line, and calls GetPluginInfo and Configure. Stays up for every resource of the deployment: it
 * caches each deserialized provider, so one process serves old and new provider code alike.
 * Requests carry only the properties that host reads: Diff and Update without oldInputs, Read
 * without inputs when it has outputs. google-protobuf's Struct coding is the largest per-resource
 * cost of a refresh on both sides (each Struct holds the serialized provider too).
 */
export async function startProviderHost(o: ProviderHostOptions, modules: PulumiModules = loadPulumiModules()): Promise<ProviderHost> {
  const { grpc, providerGrpc, providerPb, structPb, emptyPb } = modules;
  const script = resolveFromProgram(o.project, "@pulumi/pulumi/cmd/dynamic-provider");
  const child: ChildProcess = spawn(process.execPath, ["--require", EXIT_WITH_PARENT, script, o.engineAddress], {
    cwd: o.project.dir,
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, PULUMI_NODEJS_PROJECT: o.project.name },
  });
  const pid = child.pid;
  if (pid !== undefined) trackProcessGroup(pid);
  const kill = (): void => {
    if (pid === undefined) return;
    signalProcessGroup(pid, "SIGKILL");
    untrackProcessGroup(pid);
  };
  let port: number;
  try {
    port = await readPort(child, o, o.startTimeoutMs ?? 30_000);
  } catch (err) {
    kill();
    throw err;
  }
  const ClientCtor = grpc.makeGenericClientConstructor(providerGrpc.ResourceProviderService as unknown as grpc.ServiceDefinition, "ResourceProvider");
  const client = new ClientCtor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as ResourceProviderClient;

  type Callback<R> = (err: grpc.ServiceError | null, resp: R) => void;
  const call = <Req, Resp>(operation: string, urn: string, method: (req: Req, md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: Callback<Resp>) => unknown, req: Req): Promise<Resp> =>
    new Promise<Resp>((resolve, reject) => {
      const deadline = new Date(Date.now() + o.callTimeoutMs);
      method.call(client, req, new grpc.Metadata(), { deadline }, (err, resp) => {
        if (err !== null) {
          const msg = err.code === grpc.status.DEADLINE_EXCEEDED ? `no answer within ${o.callTimeoutMs} ms` : err.details || err.message;
          reject(new ProviderError(operation, urn, msg));
        } else resolve(resp);
      });
    });
  const struct = (v: PropertyMap) => structPb.Struct.fromJavaScript(jsonSafe(v) as Record<string, never>);
  const obj = (s: { toJavaScript(): unknown } | undefined): PropertyMap => (s?.toJavaScript() ?? {}) as PropertyMap;

  try {
    await call("GetPluginInfo", "", client.getPluginInfo, new emptyPb.Empty());
    const conf = new providerPb.ConfigureRequest();
    const args: PropertyMap = { ...o.config };
    conf.setArgs(struct(args));
    conf.setAcceptsecrets(false);
    conf.setAcceptresources(false);
    await call("Configure", "", client.configure, conf);
  } catch (err) {
    client.close();
    kill();
    throw err;
  }

  return {
    async check(urn, olds, news) {
      const req = new providerPb.CheckRequest();
      req.setUrn(urn).setName(nameOfUrn(urn)).setType(typeOfUrn(urn)).setOlds(struct(olds)).setNews(struct(news));
      const resp = await call("Check", urn, client.check, req);
      return {
        inputs: obj(resp.getInputs()),
        failures: resp.getFailuresList().map((f) => ({ property: f.getProperty(), reason: f.getReason() })),
      };
    },
    async diff(urn, id, olds, news, oldInputs, ignoreChanges) {
      const req = new providerPb.DiffRequest();
      // oldInputs is not sent: the dynamic provider host never reads it (see the module note).
      void oldInputs;
      req.setUrn(urn).setId(id).setName(nameOfUrn(urn)).setType(typeOfUrn(urn)).setOlds(struct(olds)).setNews(struct(news)).setIgnorechangesList(ignoreChanges);
      const resp = await call("Diff", urn, client.diff, req);
      const c = resp.getChanges();
      return {
        changes: c === 2 ? "some" : c === 1 ? "none" : "unknown",
        replaces: resp.getReplacesList(),
        deleteBeforeReplace: resp.getDeletebeforereplace(),
      };
    },
    async create(urn, inputs) {
      const req = new providerPb.CreateRequest();
      req.setUrn(urn).setName(nameOfUrn(urn)).setType(typeOfUrn(urn)).setProperties(struct(inputs));
      const resp = await call("Create", urn, client.create, req);
      return { id: resp.getId(), outputs: obj(resp.getProperties()) };
    },
    async update(urn, id, olds, news, oldInputs) {
      const req = new providerPb.UpdateRequest();
      void oldInputs;
      req.setUrn(urn).setId(id).setName(nameOfUrn(urn)).setType(typeOfUrn(urn)).setOlds(struct(olds)).setNews(struct(news));
      const resp = await call("Update", urn, client.update, req);
      return obj(resp.getProperties());
    },
    async read(urn, id, outputs, inputs) {
      const req = new providerPb.ReadRequest();
      req.setUrn(urn).setId(id).setName(nameOfUrn(urn)).setType(typeOfUrn(urn)).setProperties(struct(outputs));
      // The dynamic provider host reads the inputs only when there are no outputs to find the provider in.
      if (Object.keys(outputs).length === 0) req.setInputs(struct(inputs));
      const resp = await call("Read", urn, client.read, req);
      const result: ReadResult = { id: resp.getId() ?? "", outputs: obj(resp.getProperties()) };
      if (resp.hasInputs()) result.inputs = obj(resp.getInputs());
      return result;
    },
    async delete(urn, id, outputs, oldInputs) {
      const req = new providerPb.DeleteRequest();
      req.setUrn(urn).setId(id).setName(nameOfUrn(urn)).setType(typeOfUrn(urn)).setProperties(struct(outputs)).setOldInputs(struct(oldInputs));
      await call("Delete", urn, client.delete, req);
    },
    close() {
      client.close();
      kill();
    },
  };
}

function readPort(child: ChildProcess, o: ProviderHostOptions, timeoutMs: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let out = "";
    let err = "";
    let settled = false;
    const finish = (e: Error | undefined, port?: number): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (e !== undefined) reject(e);
      else resolve(port as number);
    };
    const timer = setTimeout(() => finish(new HostformError(`dynamic provider did not report its port within ${timeoutMs} ms${err !== "" ? `: ${err.trim()}` : ""}`)), timeoutMs);
    child.stdout?.setEncoding("utf8");
    child.stderr?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => {
      if (settled) {
        for (const line of chunk.split("\n")) if (line !== "") o.onOutput(line, "stdout");
        return;
      }
      out += chunk;
      const nl = out.indexOf("\n");
      if (nl < 0) return;
      const port = Number(out.slice(0, nl).trim());
      if (!Number.isInteger(port) || port <= 0) return finish(new HostformError(`dynamic provider printed '${out.slice(0, nl)}' instead of its port`));
      finish(undefined, port);
      for (const line of out.slice(nl + 1).split("\n")) if (line !== "") o.onOutput(line, "stdout");
    });
    child.stderr?.on("data", (chunk: string) => {
      if (!settled) err += chunk;
      for (const line of chunk.split("\n")) if (line !== "") o.onOutput(line, "stderr");
    });
    child.on("error", (e) => finish(new HostformError(`start dynamic provider: ${e.message}`, { cause: e })));
    child.on("exit", (code, signal) => finish(new HostformError(`dynamic provider exited (${signal ?? code}) before reporting its port${err !== "" ? `: ${err.trim()}` : ""}`)));
  });
}
