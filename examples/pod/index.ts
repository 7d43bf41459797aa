// A pod: a web server and a client that share one network, IPC and UTS namespace (the client
// reaches the server on 127.0.0.1) and one parent cgroup that caps them together.
import * as pulumi from "@pulumi/pulumi";
import * as hf from "hostform";

const prefix = `${pulumi.getProject()}-${pulumi.getStack()}`;
const config = new pulumi.Config();

const rootfs = new hf.BusyboxRootfs("rootfs", { name: `${prefix}-rootfs`, applets: ["sh", "sleep", "httpd", "wget", "head", "date", "echo", "kill"] });

// Pinned namespaces that outlive any one container, like a pod's sandbox.
const ns = new hf.Namespace("pod", { name: `${prefix}-pod`, types: ["net", "ipc", "uts"] });
// The pod's cgroup: each container gets its own cgroup nested under it.
const pod = new hf.Cgroup("pod", { name: `${prefix}-pod`, memory: { max: "96Mi" }, pids: { max: 64 } });

const server = new hf.Container("server", {
  name: `${prefix}-server`,
  rootfs,
  namespace: ns,
  cgroup: pod,
  // Serves the rootfs's /etc on loopback, which only the pod's network namespace sees.
  command: ["/bin/sh", "-c", "httpd -f -p 127.0.0.1:8080 -h /etc & trap 'kill $!; exit 0' TERM; wait"],
  limits: { memory: { max: "48Mi" } },
  restartPolicy: "on-failure",
  stopTimeout: 3,
});

new hf.Container("client", {
  name: `${prefix}-client`,
  rootfs,
  namespace: ns,
  cgroup: pod,
  command: ["/bin/sh", "-c", "trap 'exit 0' TERM; while true; do echo \"$(date) $(wget -q -O - http://127.0.0.1:8080/passwd | head -n 1)\"; sleep 5 & wait; done"],
  // A secret stays secret in the state and is never printed (set one with `hostform config set --secret token ...`).
  env: { TOKEN: config.getSecret("token") ?? pulumi.secret("not-a-real-token") },
  // Room for a `hostform exec` too: until it execs, the exec's init (a Node process) and its threads
  // count against the container's pids.max, and a shell that cannot fork exits.
  limits: { pids: { max: 32 } },
  stopTimeout: 3,
}, { dependsOn: [server] });

export const namespacePaths = ns.paths;
export const podCgroup = pod.fullName;
export const serverPid = server.pid;
