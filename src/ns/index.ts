// Persistent namespaces: the public surface of src/ns.
export { createNamespaces, inspectNamespaces, deleteNamespaces, listNamespaces, setNamespaceOwner, type NamespaceSetInfo } from "./store";
export {
  NAMESPACE_TYPES,
  type NamespaceType,
  cloneFlags,
  procNsPath,
  validateNamespaceTypes,
  isNamespaceType,
} from "./types";
export { validateSetName } from "./setName";
export { unshareInWorker, type UnshareOptions, type UnshareSpawn, type UnsharedThread } from "./unshareWorker";
export { type HolderIdentity, isHolderAlive, killHolder } from "./holder";
export { readProcStat, type ProcStat } from "./procStat";
