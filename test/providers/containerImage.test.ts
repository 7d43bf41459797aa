// A container's defaults from its image follow docker's rules; each rule is asserted on its own.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ValidationError } from "../../src/sys/errors";
import { imageCommand, imageEnv, withImage, type ContainerImageInput } from "../../providers/impl/v1/containerImage";

const config = { entrypoint: ["/bin/sh", "-c"], cmd: ["echo hi"], env: ["PATH=/usr/bin:/bin", "FOO=image", "EMPTY="], workingDir: "/data", user: "100:100", stopSignal: "SIGQUIT", exposedPorts: ["8080/tcp"] };

test("the command is entrypoint + cmd; declared args replace cmd; a declared command replaces both", () => {
  assert.deepEqual(imageCommand({}, config), { command: ["/bin/sh", "-c", "echo hi"] });
  assert.deepEqual(imageCommand({ args: ["echo bye"] }, config), { command: ["/bin/sh", "-c", "echo bye"] });
  assert.deepEqual(imageCommand({ command: ["/bin/true"] }, config), { command: ["/bin/true"] });
  assert.deepEqual(imageCommand({ command: ["/bin/echo"], args: ["x"] }, config), { command: ["/bin/echo"], args: ["x"] });
  // cmd alone (no entrypoint) is the command, as `docker run` runs it.
  assert.deepEqual(imageCommand({}, { cmd: ["/bin/httpd", "-f"] }), { command: ["/bin/httpd", "-f"] });
  assert.throws(() => imageCommand({}, {}), (e: unknown) => e instanceof ValidationError && e.field === "command");
});

test("env: the image's variables under the declared ones; values may be empty or hold '='", () => {
  assert.deepEqual(imageEnv({ FOO: "declared", BAR: "a=b" }, config), { PATH: "/usr/bin:/bin", FOO: "declared", EMPTY: "", BAR: "a=b" });
  assert.deepEqual(imageEnv(undefined, {}), {});
});

test("withImage: the layers are the root; user and cwd come from the image unless declared", () => {
  const image: ContainerImageInput = { ref: "r", manifestDigest: `sha256:${"a".repeat(64)}`, layers: ["/l/top", "/l/bottom"], config };
  const c = withImage({ rootfs: "", command: [] }, {}, image);
  assert.deepEqual(c.rootfs, { layers: ["/l/top", "/l/bottom"] });
  assert.deepEqual(c.command, ["/bin/sh", "-c", "echo hi"]);
  assert.equal(c.args, undefined);
  assert.equal(c.user, "100:100");
  assert.equal(c.cwd, "/data");
  const d = withImage({ rootfs: "", command: ["/bin/true"], user: 0, cwd: "/" }, { command: ["/bin/true"], user: 0, cwd: "/" }, image);
  assert.equal(d.user, 0);
  assert.equal(d.cwd, "/");
});
