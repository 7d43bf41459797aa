// A web server on a bridge network, published on the host's 127.0.0.1:18080, and a client on the
// same network that fetches http://web/ by name every 2 seconds and logs what it got.
import * as pulumi from "@pulumi/pulumi";
import * as hf from "hostform";

const prefix = `${pulumi.getProject()}-${pulumi.getStack()}`;
const config = new pulumi.Config();

const rootfs = new hf.BusyboxRootfs("rootfs", { name: `${prefix}-rootfs`, applets: ["sh", "httpd", "wget", "sleep", "date", "echo", "mkdir", "cat", "hostname"] });

const net = new hf.Network("net", {
  name: `${prefix}-net`,
  // Not a subnet the host uses; pick another with `hostform config set subnet ...` if it is taken.
  subnet: config.get("subnet") ?? "10.89.18.0/24",
});

const web = new hf.Container("web", {
  name: `${prefix}-web`,
  rootfs,
  networks: [{ network: net, aliases: ["www"] }],
  ports: [config.get("port") ?? "127.0.0.1:18080:80/tcp"],
  command: ["/bin/sh", "-c", "mkdir -p /tmp/www && echo \"hello from $(hostname)\" > /tmp/www/index.html && exec httpd -f -p 80 -h /tmp/www"],
  restartPolicy: "always",
  stopTimeout: 3,
});

const client = new hf.Container("client", {
  name: `${prefix}-client`,
  rootfs,
  networks: [net],
  command: ["/bin/sh", "-c", "trap 'exit 0' TERM; while true; do echo \"$(date +%T) $(wget -q -O - http://web/ 2>&1)\"; sleep 2 & wait; done"],
  stopTimeout: 3,
}, { dependsOn: [web] });

export const url = "http://127.0.0.1:18080/";
export const webAddress = web.networkInterfaces.apply((n) => Object.values(n)[0]?.ip);
export const clientId = client.containerId;
export const published = web.publishedPorts;
