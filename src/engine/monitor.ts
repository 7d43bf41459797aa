import type * as grpc from "@grpc/grpc-js";
import type { RegisterResourceRequest } from "@pulumi/pulumi/proto/resource_pb";
import { HostformError } from "../sys/errors";
import type { PropertyMap } from "./propertyValues";
import { loadPulumiModules, type PulumiModules } from "./pulumiModules";
import { makeUrn, STACK_TYPE, typeOfUrn } from "./urn";

/** One RegisterResource call from the program, decoded. */
export interface Registration {
  urn: string;
  type: string;
  name: string;
  parent: string;
  custom: boolean;
  inputs: PropertyMap;
  dependencies: string[];
  propertyDependencies: Record<string, string[]>;
  protect: boolean;
  /** undefined when the program did not set the option (the provider's diff decides). */
  deleteBeforeReplace?: boolean;
  ignoreChanges: string[];
  replaceOnChanges: string[];
  retainOnDelete: boolean;
  additionalSecretOutputs: string[];
  provider: string;
  /** The `import` resource option: id of an existing object to adopt instead of creating one ("" when unset). */
  importId: string;
}

/** What the program gets back for a registration. */
export interface RegistrationResult {
  id: string;
  outputs: PropertyMap;
}

export type Severity = "debug" | "info" | "warning" | "error";

/** A message the program (or the engine on a resource's behalf) wants shown. */
export interface Diagnostic {
  severity: Severity;
  message: string;
  urn?: string;
}

/** What the deployment does with the program's calls. */
export interface MonitorHandlers {
  registerResource(reg: Registration): Promise<RegistrationResult>;
  registerResourceOutputs(urn: string, outputs: PropertyMap): void;
  log(diag: Diagnostic): void;
}

/** Feature ids the program probes with SupportsFeature; true only for what this engine does. */
const SUPPORTED_FEATURES = new Set(["secrets"]);

/** A running ResourceMonitor + Engine gRPC server on 127.0.0.1. */
export interface Monitor {
  monitorAddress: string;
  engineAddress: string;
  /** From now on every call is answered UNAVAILABLE, which the SDK takes as "engine shutting down". */
  terminate(): void;
  close(): Promise<void>;
}

/** Starts the servers the program (cmd/run) and dynamic providers connect to. */
export async function startMonitor(stack: string, project: string, handlers: MonitorHandlers, modules: PulumiModules = loadPulumiModules()): Promise<Monitor> {
  const { grpc, resourceGrpc, resourcePb, engineGrpc, enginePb, emptyPb, structPb } = modules;
  let terminating = false;
  let rootUrn = "";
  const unavailable = (): grpc.ServiceError =>
    Object.assign(new Error("engine is terminating"), { code: grpc.status.UNAVAILABLE, details: "engine is terminating", metadata: new grpc.Metadata() });
  const unimplemented = (what: string): grpc.ServiceError =>
    Object.assign(new Error(`${what} is not supported by the hostform engine`), { code: grpc.status.UNIMPLEMENTED, details: `${what} is not supported by the hostform engine`, metadata: new grpc.Metadata() });

  const monitorImpl: grpc.UntypedServiceImplementation = {
    supportsFeature(call: grpc.ServerUnaryCall<InstanceType<typeof resourcePb.SupportsFeatureRequest>, unknown>, cb: grpc.sendUnaryData<unknown>) {
      const resp = new resourcePb.SupportsFeatureResponse();
      resp.setHassupport(SUPPORTED_FEATURES.has(call.request.getId()));
      cb(null, resp);
    },
    registerResource(call: grpc.ServerUnaryCall<RegisterResourceRequest, unknown>, cb: grpc.sendUnaryData<unknown>) {
      if (terminating) return cb(unavailable());
      let reg: Registration;
      try {
        reg = decodeRegistration(call.request, stack, project);
      } catch (err) {
        handlers.log({ severity: "error", message: (err as Error).message });
        terminating = true;
        return cb(unavailable());
      }
      handlers.registerResource(reg).then(
        (result) => {
          if (terminating) return cb(unavailable());
          const resp = new resourcePb.RegisterResourceResponse();
          resp.setUrn(reg.urn);
          resp.setId(result.id);
          resp.setObject(structPb.Struct.fromJavaScript(jsonSafe(result.outputs) as Record<string, never>));
          cb(null, resp);
        },
        // The handler has already reported the failure against the resource; a gRPC error here
        // would make cmd/run log it again and then hang, so the program is told to stop instead.
        () => {
          terminating = true;
          cb(unavailable());
        },
      );
    },
    registerResourceOutputs(call: grpc.ServerUnaryCall<InstanceType<typeof resourcePb.RegisterResourceOutputsRequest>, unknown>, cb: grpc.sendUnaryData<unknown>) {
      if (terminating) return cb(unavailable());
      const outputs = (call.request.getOutputs()?.toJavaScript() ?? {}) as PropertyMap;
      handlers.registerResourceOutputs(call.request.getUrn(), outputs);
      cb(null, new emptyPb.Empty());
    },
    invoke(call: grpc.ServerUnaryCall<InstanceType<typeof resourcePb.ResourceInvokeRequest>, unknown>, cb: grpc.sendUnaryData<unknown>) {
      cb(unimplemented(`invoke ${call.request.getTok()}`));
    },
    readResource(_call: unknown, cb: grpc.sendUnaryData<unknown>) {
      cb(unimplemented("ReadResource (resource.get)"));
    },
    signalAndWaitForShutdown(_call: unknown, cb: grpc.sendUnaryData<unknown>) {
      cb(null, new emptyPb.Empty());
    },
  };

  const engineImpl: grpc.UntypedServiceImplementation = {
    log(call: grpc.ServerUnaryCall<InstanceType<typeof enginePb.LogRequest>, unknown>, cb: grpc.sendUnaryData<unknown>) {
      const r = call.request;
      const severity = (["debug", "info", "warning", "error"] as const)[r.getSeverity()] ?? "info";
      const urn = r.getUrn();
      handlers.log(urn !== "" ? { severity, message: r.getMessage(), urn } : { severity, message: r.getMessage() });
      cb(null, new emptyPb.Empty());
    },
    getRootResource(_call: unknown, cb: grpc.sendUnaryData<unknown>) {
      const resp = new enginePb.GetRootResourceResponse();
      resp.setUrn(rootUrn);
      cb(null, resp);
    },
    setRootResource(call: grpc.ServerUnaryCall<InstanceType<typeof enginePb.SetRootResourceRequest>, unknown>, cb: grpc.sendUnaryData<unknown>) {
      rootUrn = call.request.getUrn();
      cb(null, new enginePb.SetRootResourceResponse());
    },
    requirePulumiVersion(_call: unknown, cb: grpc.sendUnaryData<unknown>) {
      cb(null, new enginePb.RequirePulumiVersionResponse());
    },
  };

  const server = new grpc.Server({ "grpc.max_receive_message_length": 400 * 1024 * 1024 });
  server.addService(resourceGrpc.ResourceMonitorService as unknown as grpc.ServiceDefinition, monitorImpl);
  server.addService(engineGrpc.EngineService as unknown as grpc.ServiceDefinition, engineImpl);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(new HostformError(`start resource monitor: ${err.message}`)) : resolve(p)));
  });
  const address = `127.0.0.1:${port}`;
  return {
    monitorAddress: address,
    engineAddress: address,
    terminate() {
      terminating = true;
    },
    close() {
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 1000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}

function decodeRegistration(req: RegisterResourceRequest, stack: string, project: string): Registration {
  const type = req.getType();
  const name = req.getName();
  const parent = req.getParent();
  const parentType = parent === "" || typeOfUrn(parent) === STACK_TYPE ? "" : qualifiedTypeOfUrn(parent);
  const propertyDependencies: Record<string, string[]> = {};
  req.getPropertydependenciesMap().forEach((deps, key) => {
    propertyDependencies[key] = deps.getUrnsList();
  });
  const reg: Registration = {
    urn: makeUrn(stack, project, parentType, type, name),
    type,
    name,
    parent,
    custom: req.getCustom(),
    inputs: (req.getObject()?.toJavaScript() ?? {}) as PropertyMap,
    dependencies: req.getDependenciesList(),
    propertyDependencies,
    protect: req.getProtect() === true,
    ignoreChanges: req.getIgnorechangesList(),
    replaceOnChanges: req.getReplaceonchangesList(),
    retainOnDelete: req.getRetainondelete() === true,
    additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
    provider: req.getProvider(),
    importId: req.getImportid(),
  };
  if (req.getDeletebeforereplacedefined()) reg.deleteBeforeReplace = req.getDeletebeforereplace();
  return reg;
}

function qualifiedTypeOfUrn(urn: string): string {
  return urn.split("::")[2] ?? "";
}

/** Struct.fromJavaScript rejects undefined; JSON drops it the way the wire would. */
export function jsonSafe(v: unknown): unknown {
  return v === undefined ? {} : (JSON.parse(JSON.stringify(v)) as unknown);
}
