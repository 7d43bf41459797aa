// The provider object every hostform resource hands to pulumi.dynamic.Resource.
//
// Pulumi serializes that object into the state (`__provider`), and Read and Delete of an old
// resource run the SERIALIZED copy, possibly years and several hostform versions later, in a
// provider process that has no TypeScript loader. So the serialized text must be tiny and must not
// embed any implementation: each method only `require()`s compiled JavaScript of a versioned
// implementation module and forwards the call.
//
// The stable-path contract:
// - The module is <package root>/dist/providers/impl/v<N>/<kind>.js of the INSTALLED hostform
//   package (node_modules/hostform/...), resolved to an absolute path when the program runs. An
//   upgrade of hostform replaces the files at that same path, so old state reaches the new code.
// - impl/v<N>/<kind>.js is never removed and never changes behaviour incompatibly: it accepts every
//   input and output shape any release of protocol N wrote. A change that cannot honour that goes
//   to impl/v<N+1>/, which new programs serialize; v<N> stays to read and delete old state.
// - When the absolute path is gone (the project directory moved, node_modules reinstalled
//   elsewhere), the module is resolved as "hostform/<same relative path>" from the provider's
//   working directory, which the engine sets to the program directory.
// - package.json must keep the impl files reachable by that subpath (no "exports" map that hides
//   them).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import type * as pulumi from "@pulumi/pulumi";

/** Version of the provider protocol new resources are serialized with. */
export const PROVIDER_PROTOCOL = 1;

/** The resource kinds with an implementation module (one file per kind under impl/v<N>/). */
export type ProviderKind = "namespace" | "cgroup" | "seccompProfile" | "busyboxRootfs" | "container" | "network" | "image";

/** Where a kind's implementation lives: the absolute path now, and the package-relative fallback. */
export interface ImplementationPath {
  absolute: string;
  /** "hostform/dist/providers/impl/v1/cgroup.js" (relative to node_modules). */
  packageRelative: string;
}

function packageRoot(from: string): { dir: string; name: string } {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      const name = (JSON.parse(readFileSync(manifest, "utf8")) as { name?: unknown }).name;
      return { dir, name: typeof name === "string" ? name : "hostform" };
    }
    if (dirname(dir) === dir) return { dir: from, name: "hostform" };
  }
}

/** Resolves the implementation module of `kind` for protocol `version` in this installation. */
export function implementationPath(kind: ProviderKind, version: number = PROVIDER_PROTOCOL): ImplementationPath {
  const absolute = join(__dirname, "impl", `v${version}`, `${kind}.js`);
  const root = packageRoot(__dirname);
  return { absolute, packageRelative: `${root.name}/${relative(root.dir, absolute)}` };
}

/**
 * A provider whose serialized form is a few lines: each method requires the implementation module
 * (see the contract above) in the provider process and calls the same method there. Create one per
 * kind at module load, so Pulumi serializes it once.
 */
export function stableProvider(kind: ProviderKind, version: number = PROVIDER_PROTOCOL): pulumi.dynamic.ResourceProvider {
  const where = implementationPath(kind, version);
  const absolute = where.absolute;
  const packageRelative = where.packageRelative;
  // Runs in the provider process only: everything it uses is captured by value or built in.
  const load = (): pulumi.dynamic.ResourceProvider => {
    const fs = require("fs");
    const file: string = fs.existsSync(absolute) ? absolute : require.resolve(packageRelative, { paths: [process.cwd()] });
    return require(file).provider;
  };
  return {
    check: (olds: unknown, news: unknown) => load().check!(olds, news),
    diff: (id: string, olds: unknown, news: unknown) => load().diff!(id, olds, news),
    create: (inputs: unknown) => load().create(inputs),
    read: (id: string, props: unknown) => load().read!(id, props),
    update: (id: string, olds: unknown, news: unknown) => load().update!(id, olds, news),
    delete: (id: string, props: unknown) => load().delete!(id, props),
  };
}
