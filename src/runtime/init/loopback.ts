// A new network namespace has one interface, lo, and it is down: even 127.0.0.1 is unreachable,
// and the default capabilities cannot bring it up later. The init sets it up while it still holds
// CAP_NET_ADMIN whenever the container has a network namespace of its own, as runc does (its
// specconv gives every new network namespace a "loopback" network). A joined namespace (a pod's,
// one CNI set up) belongs to whoever made it and is left as it is.
import { setLinkUp } from "../../sys/netdev";
import type { ContainerSpec } from "../spec";

export function bringUpLoopback(spec: ContainerSpec): void {
  if (!spec.linux?.namespaces?.some((n) => n.type === "network" && n.path === undefined)) return;
  setLinkUp("lo");
}
