// The `ports` input: docker's -p strings and objects to one checked shape, and that shape out again.
import assert from "node:assert/strict";
import { test } from "node:test";
import { formatPort, parsePorts, toCniPortMappings } from "../../src/net/portSpec";
import { ValidationError } from "../../src/sys/errors";

test("docker's string forms and objects parse to the same published ports", () => {
  assert.deepEqual(parsePorts(["8080:80", "127.0.0.1:8081:80", "5353:53/udp", "127.0.0.1:8443:443/tcp", "0.0.0.0:9000:90"]), [
    { hostPort: 8080, containerPort: 80, protocol: "tcp" },
    { hostPort: 8081, containerPort: 80, protocol: "tcp", hostIp: "127.0.0.1" },
    { hostPort: 5353, containerPort: 53, protocol: "udp" },
    { hostPort: 8443, containerPort: 443, protocol: "tcp", hostIp: "127.0.0.1" },
    { hostPort: 9000, containerPort: 90, protocol: "tcp" },
  ]);
  assert.deepEqual(parsePorts([{ hostPort: 8080, containerPort: 80 }, { hostPort: 53, containerPort: 53, protocol: "udp", hostIp: "127.0.0.1" }]), [
    { hostPort: 8080, containerPort: 80, protocol: "tcp" },
    { hostPort: 53, containerPort: 53, protocol: "udp", hostIp: "127.0.0.1" },
  ]);
  assert.deepEqual(parsePorts(undefined), []);
  assert.deepEqual(parsePorts(["127.000.0.01:8080:80"]), [{ hostPort: 8080, containerPort: 80, protocol: "tcp", hostIp: "127.0.0.1" }], "hostIp as iptables prints it back");
  // One container port on two host ports, and one host port for tcp and udp, are both fine.
  assert.equal(parsePorts(["8080:80", "8081:80", "8080:80/udp", "127.0.0.1:9090:90", "127.0.0.2:9090:90"]).length, 5);
});

test("a bad entry is a ValidationError naming the entry's field and the fix", () => {
  const bad: [unknown, string, RegExp][] = [
    ["80", "ports[0]", /gives no host port.*"80:80"/],
    ["8000-8010:80", "ports[0]", /port range/],
    ["127.0.0.1::80", "ports[0]", /host port to chance/],
    ["[::1]:8080:80", "ports[0]", /IPv6/],
    ["8080:80/sctp", "ports[0].protocol", /"sctp" is not a protocol/],
    ["8080:0", "ports[0].containerPort", /0 is not a port number/],
    ["70000:80", "ports[0].hostPort", /70000 is not a port number/],
    ["web:8080:80", "ports[0].hostIp", /"web" is not an IPv4 address/],
    ["1:2:3:4", "ports[0]", /is not a port/],
    [{ hostPort: 8080.5, containerPort: 80 }, "ports[0].hostPort", /8080.5 is not a port number/],
    [{ hostPort: "8080", containerPort: 80 }, "ports[0].hostPort", /"8080" is not a port number/],
    [{ hostPort: 8080 }, "ports[0].containerPort", /nothing is not a port number/],
    [{ hostPort: 8080, containerPort: 80, hostport: 1 }, "ports[0].hostport", /not a port field/],
    [{ hostPort: 8080, containerPort: 80, hostIp: "224.0.0.1" }, "ports[0].hostIp", /multicast/],
    [42, "ports[0]", /42 is not a port/],
  ];
  for (const [entry, field, message] of bad) {
    assert.throws(() => parsePorts([entry]), (e: Error) => e instanceof ValidationError && e.field === field && message.test(e.message) && e.hint !== undefined, `${JSON.stringify(entry)} -> ${field}`);
  }
  assert.throws(() => parsePorts("8080:80", "spec.ports"), (e: Error) => e instanceof ValidationError && e.field === "spec.ports" && /must be a list/.test(e.message));
});

test("two entries claiming the same host socket are refused, naming both", () => {
  const clash: [unknown[], RegExp][] = [
    [["8080:80", "8080:81"], /ports\[0\] \(0\.0\.0\.0:8080->80\/tcp\) and ports\[1\] \(0\.0\.0\.0:8080->81\/tcp\)/],
    [["127.0.0.1:8080:80", { hostPort: 8080, containerPort: 81 }], /ports\[0\] .*and ports\[1\]/],
    [["8080:80", "9090:90", "127.0.0.1:8080:81"], /ports\[0\] .*and ports\[2\]/],
    [["5353:53/udp", { hostPort: 5353, containerPort: 54, protocol: "udp" }], /0\.0\.0\.0:5353\/udp is published twice/],
  ];
  for (const [entries, message] of clash) {
    const last = `ports[${entries.length - 1}].hostPort`;
    assert.throws(() => parsePorts(entries), (e: Error) => e instanceof ValidationError && e.field === last && message.test(e.message), JSON.stringify(entries));
  }
});

test("a published port prints as docker ps shows it and maps to portmap's runtimeConfig", () => {
  const ports = parsePorts(["127.0.0.1:8080:80", "5353:53/udp"]);
  assert.deepEqual(ports.map(formatPort), ["127.0.0.1:8080->80/tcp", "0.0.0.0:5353->53/udp"]);
  assert.deepEqual(toCniPortMappings(ports), [
    { hostPort: 8080, containerPort: 80, protocol: "tcp", hostIP: "127.0.0.1" },
    { hostPort: 5353, containerPort: 53, protocol: "udp" },
  ]);
});
