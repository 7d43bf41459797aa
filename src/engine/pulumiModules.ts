import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type * as grpcTypes from "@grpc/grpc-js";
import type * as resourceGrpc from "@pulumi/pulumi/proto/resource_grpc_pb";
import type * as resourcePb from "@pulumi/pulumi/proto/resource_pb";
import type * as engineGrpc from "@pulumi/pulumi/proto/engine_grpc_pb";
import type * as enginePb from "@pulumi/pulumi/proto/engine_pb";
import type * as providerGrpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import type * as providerPb from "@pulumi/pulumi/proto/provider_pb";
import type * as pluginPb from "@pulumi/pulumi/proto/plugin_pb";
import type * as structPb from "google-protobuf/google/protobuf/struct_pb";
import type * as emptyPb from "google-protobuf/google/protobuf/empty_pb";
import { UnsupportedError } from "../sys/errors";

/** The gRPC library and generated stubs, all loaded from one @pulumi/pulumi install. */
export interface PulumiModules {
  /** Directory of the @pulumi/pulumi package these came from. */
  packageDir: string;
  grpc: typeof grpcTypes;
  resourceGrpc: typeof resourceGrpc;
  resourcePb: typeof resourcePb;
  engineGrpc: typeof engineGrpc;
  enginePb: typeof enginePb;
  providerGrpc: typeof providerGrpc;
  providerPb: typeof providerPb;
  pluginPb: typeof pluginPb;
  structPb: typeof structPb;
  emptyPb: typeof emptyPb;
}

const cache = new Map<string, PulumiModules>();

/** Where `require("@pulumi/pulumi")` resolves from `fromDir` (the program's install wins). */
export function pulumiPackageDir(fromDir: string): string {
  const req = createRequire(join(fromDir, "noop.js"));
  try {
    return dirname(req.resolve("@pulumi/pulumi/package.json"));
  } catch (err) {
    throw new UnsupportedError(`@pulumi/pulumi is not installed for ${fromDir}: run 'npm install @pulumi/pulumi' in the project`, { cause: err });
  }
}

/**
 * Loads grpc-js and the stubs through @pulumi/pulumi's own resolution: message classes from two
 * copies of google-protobuf or grpc-js do not interoperate, so everything must share one install.
 */
export function loadPulumiModules(packageDir: string = pulumiPackageDir(__dirname)): PulumiModules {
  const hit = cache.get(packageDir);
  if (hit !== undefined) return hit;
  const req = createRequire(join(packageDir, "package.json"));
  const m: PulumiModules = {
    packageDir,
    grpc: req("@grpc/grpc-js") as typeof grpcTypes,
    resourceGrpc: req("./proto/resource_grpc_pb") as typeof resourceGrpc,
    resourcePb: req("./proto/resource_pb") as typeof resourcePb,
    engineGrpc: req("./proto/engine_grpc_pb") as typeof engineGrpc,
    enginePb: req("./proto/engine_pb") as typeof enginePb,
    providerGrpc: req("./proto/provider_grpc_pb") as typeof providerGrpc,
    providerPb: req("./proto/provider_pb") as typeof providerPb,
    pluginPb: req("./proto/plugin_pb") as typeof pluginPb,
    structPb: req("google-protobuf/google/protobuf/struct_pb") as typeof structPb,
    emptyPb: req("google-protobuf/google/protobuf/empty_pb") as typeof emptyPb,
  };
  cache.set(packageDir, m);
  return m;
}
