// A new network namespace has one interface, lo, and it is down: even 127.0.0.1 is unreachable,
// and the default capabilities cannot bring it up later. The init sets it up while it still holds
// CAP_NET_ADMIN, when the spec asks for it (LOOPBACK_ANNOTATION).
import { setLinkUp } from "../../sys/netdev";
import { LOOPBACK_ANNOTATION, type ContainerSpec } from "../spec";

export function bringUpLoopback(spec: ContainerSpec): void {
  if (spec.annotations?.[LOOPBACK_ANNOTATION] !== "up") return;
  // A joined namespace (a pod's) belongs to whoever made it.
  if (!spec.linux?.namespaces?.some((n) => n.type === "network" && n.path === undefined)) return;
  setLinkUp("lo");
}
