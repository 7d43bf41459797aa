// A host port taken by another hostform container or held by a process is refused before anything is
// attached. The sockets are opened by a process this file starts in a network namespace it makes.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { after, before, test } from "node:test";
import { useTestRunDir } from "../../fixtures/nsRunDir";
import { needsRoot, testPrefix } from "../../fixtures/prefix";
import { assertHostPortsFree } from "../../src/net/hostPorts";
import { parsePorts } from "../../src/net/portSpec";
import { createNamespaces, type NamespaceSetInfo } from "../../src/ns";
import { ValidationError } from "../../src/sys/errors";

const cleanRunDir = useTestRunDir();
const prefix = testPrefix("hostports");

let host: NamespaceSetInfo;
let holder: ChildProcess | undefined;

// Holds 127.0.0.1:18100/tcp, every address's 18101/udp and [::]:18102/tcp, then says so.
const HOLD = `
const net = require("node:net"), dgram = require("node:dgram");
const t = net.createServer().listen(18100, "127.0.0.1", () => {
  const u = dgram.createSocket("udp4").bind(18101, "0.0.0.0", () => {
    net.createServer().listen(18102, "::", () => process.stdout.write("ready\\n"));
  });
});`;

before(async () => {
  if (needsRoot !== false) return;
  host = await createNamespaces(`${prefix}-host`, ["net"]);
  holder = spawn("nsenter", [`--net=${host.paths.net!}`, "--", process.execPath, "-e", HOLD], { stdio: ["ignore", "pipe", "inherit"] });
  const [line] = (await once(holder.stdout!, "data")) as [Buffer];
  assert.equal(line.toString(), "ready\n");
});
after(async () => {
  if (holder !== undefined && holder.exitCode === null) {
    holder.kill("SIGKILL");
    await once(holder, "exit");
  }
  await cleanRunDir();
});

function isPortError(field: string, message: RegExp): (e: Error) => boolean {
  return (e) => e instanceof ValidationError && e.field === field && message.test(e.message) && e.hint !== undefined;
}

test("a port another hostform container publishes is refused, naming the entry and who has it", { skip: needsRoot, timeout: 30_000 }, async () => {
  const options = { hostNetns: host.paths.net! };
  const taken = [{ ...parsePorts(["127.0.0.1:18200:80"])[0]!, owner: "web" }, ...parsePorts(["18201:53/udp"])];
  await assert.rejects(assertHostPortsFree(parsePorts(["18300:80", "18200:8080"]), taken, "ports", options), isPortError("ports[1].hostPort", /0\.0\.0\.0:18200\/tcp is already published by hostform container web \(127\.0\.0\.1:18200->80\/tcp\)/));
  await assert.rejects(assertHostPortsFree(parsePorts(["127.0.0.1:18201:53/udp"]), taken, "spec.ports", options), isPortError("spec.ports[0].hostPort", /already published by another hostform container \(0\.0\.0\.0:18201->53\/udp\)/));
  // Another address, or another protocol, is another socket.
  await assertHostPortsFree(parsePorts(["127.0.0.2:18200:80", "18201:53/tcp"]), taken, "ports", options);
});

test("a port a process holds in the namespace is refused, naming the socket and its process; others pass", { skip: needsRoot, timeout: 30_000 }, async () => {
  const options = { hostNetns: host.paths.net! };
  const pid = `pid ${holder!.pid!} \\(node\\)`;
  const held: [string, RegExp][] = [
    ["127.0.0.1:18100:80", new RegExp(`127\\.0\\.0\\.1:18100/tcp is in use on the host \\(127\\.0\\.0\\.1:18100/tcp is bound by ${pid}\\)`)],
    ["18100:80", new RegExp(`0\\.0\\.0\\.0:18100/tcp is in use .*127\\.0\\.0\\.1:18100/tcp is bound by ${pid}`)],
    ["18101:53/udp", new RegExp(`0\\.0\\.0\\.0:18101/udp is bound by ${pid}`)],
    ["127.0.0.1:18101:53/udp", /127\.0\.0\.1:18101\/udp is in use on the host \(0\.0\.0\.0:18101\/udp/],
    ["10.250.103.1:18102:80", new RegExp(`0\\.0\\.0\\.0:18102/tcp is bound by ${pid}`)],
  ];
  for (const [port, message] of held) {
    await assert.rejects(assertHostPortsFree(parsePorts(["18300:80", port]), [], "ports", options), isPortError("ports[1].hostPort", message), port);
  }
  await assertHostPortsFree(parsePorts(["127.0.0.2:18100:80", "18100:80/udp", "18101:53/tcp", "18103:80"]), [], "ports", options);
});
