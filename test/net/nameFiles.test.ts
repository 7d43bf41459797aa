// What goes into a member's /etc/hosts, /etc/hostname and /etc/resolv.conf, and what is refused.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FALLBACK_NAMESERVERS, hostDnsDefaults, parseResolvConf, renderHostname, renderHosts, renderResolvConf, validateMember, type NetworkMember } from "../../src/net/nameFiles";
import { ValidationError } from "../../src/sys/errors";

const LOCALHOST = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

const web: NetworkMember = { key: "c-web", hostname: "web-host", names: ["web"], networks: [{ network: "front", ip: "10.250.41.2" }] };
const api: NetworkMember = { key: "c-api", hostname: "api-host", names: ["api", "api-v1"], networks: [{ network: "front", ip: "10.250.41.10" }] };
const db: NetworkMember = { key: "c-db", hostname: "db-host", names: ["db"], networks: [{ network: "back", ip: "10.250.42.3" }] };

test("two members on one network see each other; a member on another network is not seen", () => {
  const all = [web, api, db];
  assert.equal(renderHosts(web, all), `${LOCALHOST}10.250.41.2\tweb-host web\n10.250.41.10\tapi api-v1\n`);
  assert.equal(renderHosts(api, all), `${LOCALHOST}10.250.41.10\tapi-host api api-v1\n10.250.41.2\tweb\n`);
  assert.equal(renderHosts(db, all), `${LOCALHOST}10.250.42.3\tdb-host db\n`);
});

test("a member on two networks sees the peers of both; a peer sharing both gets a line per network address", () => {
  const both: NetworkMember = { key: "c-both", hostname: "both", names: ["both"], networks: [{ network: "front", ip: "10.250.41.3" }, { network: "back", ip: "10.250.42.4" }] };
  const twin: NetworkMember = { key: "c-twin", hostname: "twin", names: ["twin"], networks: [{ network: "back", ip: "10.250.42.9" }, { network: "front", ip: "10.250.41.9" }] };
  const all = [web, db, both, twin];
  assert.equal(
    renderHosts(both, all),
    `${LOCALHOST}10.250.42.4\tboth\n10.250.41.3\tboth\n` + `10.250.42.3\tdb\n10.250.42.9\ttwin\n` + `10.250.41.2\tweb\n10.250.41.9\ttwin\n`,
  );
  // Both networks' peers see it, each by its address on their network.
  assert.match(renderHosts(web, all), /\n10\.250\.41\.3\tboth\n/);
  assert.doesNotMatch(renderHosts(web, all), /10\.250\.42\.4/);
  assert.match(renderHosts(db, all), /\n10\.250\.42\.4\tboth\n/);
});

test("aliases on a network are seen by that network's peers only, after the member's names", () => {
  const multi: NetworkMember = {
    key: "c-multi",
    hostname: "multi",
    names: ["multi"],
    networks: [
      { network: "front", ip: "10.250.41.5", aliases: ["www", "multi"] },
      { network: "back", ip: "10.250.42.5", aliases: ["cache"] },
    ],
  };
  const all = [web, db, multi];
  assert.match(renderHosts(web, all), /\n10\.250\.41\.5\tmulti www\n/);
  assert.doesNotMatch(renderHosts(web, all), /cache/);
  assert.match(renderHosts(db, all), /\n10\.250\.42\.5\tmulti cache\n/);
  assert.doesNotMatch(renderHosts(db, all), /www/);
  // Its own lines: hostname first, then names and that network's aliases (no duplicates).
  assert.match(renderHosts(multi, all), /\n10\.250\.42\.5\tmulti cache\n10\.250\.41\.5\tmulti www\n/);
});

test("extra hosts come last in the order given; the same records in any order give the same bytes", () => {
  const withExtra: NetworkMember = { ...web, extraHosts: ["zeta:10.250.43.1", "alpha:fd00::1"] };
  const text = renderHosts(withExtra, [db, api, withExtra]);
  assert.ok(text.endsWith("10.250.41.10\tapi api-v1\n10.250.43.1\tzeta\nfd00::1\talpha\n"), text);
  const third: NetworkMember = { key: "c-third", hostname: "third", names: ["third"], networks: [{ network: "front", ip: "10.250.41.7" }] };
  assert.equal(renderHosts(web, [third, api, web]), renderHosts(web, [web, api, third]));
  assert.match(renderHosts(web, [third, api, web]), /10\.250\.41\.7\tthird\n10\.250\.41\.10\tapi/);
});

test("the hostname file holds the hostname and a newline", () => {
  assert.equal(renderHostname(web), "web-host\n");
});

test("default dns is the host's without loopback or IPv6 nameservers, with its search and options; none left falls back as Docker does", () => {
  const host = parseResolvConf("# generated\nnameserver 127.0.0.53\nnameserver 10.1.2.3 # office\nnameserver fd00::53\nnameserver 10.1.2.4\nsearch corp.example lan\noptions edns0 trust-ad\n");
  assert.deepEqual(host, { nameservers: ["127.0.0.53", "10.1.2.3", "fd00::53", "10.1.2.4"], search: ["corp.example", "lan"], options: ["edns0", "trust-ad"] });
  const defaults = hostDnsDefaults(host);
  assert.equal(renderResolvConf(web, defaults), "nameserver 10.1.2.3\nnameserver 10.1.2.4\nsearch corp.example lan\noptions edns0 trust-ad\n");
  assert.deepEqual(hostDnsDefaults(parseResolvConf("nameserver 127.0.0.1\nnameserver ::1\n")).nameservers, [...FALLBACK_NAMESERVERS]);
  assert.deepEqual(hostDnsDefaults(parseResolvConf("")).nameservers, ["8.8.8.8", "8.8.4.4"]);
  // Each field the member sets replaces the host's; "." means no search domains.
  assert.equal(renderResolvConf({ ...web, dns: ["10.250.41.1"], dnsOptions: ["ndots:1"] }, defaults), "nameserver 10.250.41.1\nsearch corp.example lan\noptions ndots:1\n");
  assert.equal(renderResolvConf({ ...web, dnsSearch: ["."], dnsOptions: [] }, defaults), "nameserver 10.1.2.3\nnameserver 10.1.2.4\n");
});

test("a member that cannot go into the files is refused, naming the field", () => {
  const bad: Array<[Partial<NetworkMember>, string, RegExp]> = [
    [{ key: "../etc" }, "key", /not a valid member key/],
    [{ hostname: "web host" }, "hostname", /not a valid host name/],
    [{ hostname: `${"a".repeat(40)}.${"b".repeat(30)}` }, "hostname", /longer than 64/],
    [{ names: ["web", "-bad"] }, "names[1]", /not a valid host name/],
    [{ names: ["10.0.0.1"] }, "names[0]", /not a valid host name/],
    [{ networks: [{ network: "front", ip: "10.250.41.2/24" }] }, "networks[0].ip", /not an IPv4 address/],
    [{ networks: [{ network: "front", ip: "10.250.41.2" }, { network: "front", ip: "10.250.41.3" }] }, "networks[1].network", /listed twice/],
    [{ networks: [{ network: "front", ip: "10.250.41.2", aliases: ["ok", "no#pe"] }] }, "networks[0].aliases[1]", /not a valid host alias/],
    [{ dns: ["10.0.0.1", "dns.example"] }, "dns[1]", /not an IP address/],
    [{ dnsSearch: ["a b"] }, "dnsSearch[0]", /not a domain name/],
    [{ dnsOptions: ["ndots:1", "x y"] }, "dnsOptions[1]", /not a resolv.conf option/],
    [{ extraHosts: ["db:10.0.0.5", "db=10.0.0.5"] }, "extraHosts[1]", /not "name:ip"/],
    [{ extraHosts: ["gw:host-gateway"] }, "extraHosts[0]", /"host-gateway" is not supported/],
  ];
  for (const [change, field, message] of bad) {
    assert.throws(() => validateMember({ ...web, ...change }), (e: Error) => e instanceof ValidationError && e.field === field && message.test(e.message), `${field}: ${JSON.stringify(change)}`);
  }
  validateMember({ ...web, names: ["web_1", "web.local"], dns: ["fd00::53"], dnsSearch: ["."], extraHosts: ["v6:fd00::5"] });
});
