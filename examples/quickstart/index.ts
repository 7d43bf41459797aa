// One long-lived container: a busybox shell loop printing to its log, with a memory and a pids
// limit and Docker's default seccomp profile. `hostform up` here (or from the repository root).
import * as pulumi from "@pulumi/pulumi";
import * as hf from "hostform";

// Pinned names carry the project and stack, so two stacks of this program never collide.
const prefix = `${pulumi.getProject()}-${pulumi.getStack()}`;

// A root filesystem made from the host's busybox-static: no image download.
const rootfs = new hf.BusyboxRootfs("rootfs", { name: `${prefix}-rootfs`, applets: ["sh", "sleep", "date", "echo"] });

const hello = new hf.Container("hello", {
  name: `${prefix}-hello`,
  rootfs,
  // PID 1 of a pid namespace ignores signals it has no handler for: trap TERM so `destroy` is quick.
  command: ["/bin/sh", "-c", "trap 'exit 0' TERM; while true; do echo \"$(date) hello from $(hostname)\"; sleep 5 & wait; done"],
  hostname: "quickstart",
  limits: { memory: { max: "32Mi" }, pids: { max: 16 } },
  seccompProfile: "default",
  stopTimeout: 3,
});

export const containerId = hello.containerId;
export const pid = hello.pid;
export const status = hello.status;
export const logPath = hello.logPath;
