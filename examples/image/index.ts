// Two containers from one OCI image, copied from an OCI archive into hostform's store (no registry,
// no network): the image's layers are unpacked once and shared, and each container writes to its own
// copy-on-write upper directory. Build the archive first with ./build-image (the example's setup step).
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as hf from "hostform";

const prefix = `${pulumi.getProject()}-${pulumi.getStack()}`;
const config = new pulumi.Config();
const archive = path.resolve(config.get("archive") ?? "image.tar");

const image = new hf.Image("hello", { ref: `oci-archive:${archive}:hello` });

// The image's config is the default: entrypoint /app/run.sh, user app, cwd /app, GREETING=hello, SIGQUIT to stop.
const hello = new hf.Container("hello", {
  name: `${prefix}-hello`,
  image,
  hostname: "hello",
  restartPolicy: "always",
  stopTimeout: 3,
});

// The same image with a declared env over the image's: the layers are the same directories on disk.
const bonjour = new hf.Container("bonjour", {
  name: `${prefix}-bonjour`,
  image,
  hostname: "bonjour",
  env: { GREETING: "bonjour" },
  restartPolicy: "always",
  stopTimeout: 3,
});

export const digest = image.digest;
export const size = image.size;
export const exposedPorts = hello.exposedPorts;
export const pids = { hello: hello.pid, bonjour: bonjour.pid };
