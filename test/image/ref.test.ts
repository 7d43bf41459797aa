// Refs as users write them → the normalised name and skopeo's transport string; malformed refs are
// refused naming `ref`. Pure: nothing is read or run.
import assert from "node:assert/strict";
import { test } from "node:test";
import { validateImageInput } from "../../src/image/imageInput";
import { formatPlatform, hostPlatform, parsePlatform, platformMatches } from "../../src/image/platform";
import { parseRef, pinnedSkopeoRef } from "../../src/image/ref";
import { ValidationError } from "../../src/sys/errors";

const HEX = "a".repeat(64);

test("docker hub short names get docker.io/library and :latest, as docker and podman do", () => {
  assert.deepEqual(parseRef("nginx:1.27"), {
    transport: "docker",
    name: "docker.io/library/nginx:1.27",
    skopeo: "docker://docker.io/library/nginx:1.27",
    registry: "docker.io",
    repository: "library/nginx",
    tag: "1.27",
  });
  assert.equal(parseRef("busybox").name, "docker.io/library/busybox:latest");
  assert.equal(parseRef("bitnami/redis:7").name, "docker.io/bitnami/redis:7");
  assert.equal(parseRef("index.docker.io/library/alpine").name, "docker.io/library/alpine:latest");
  assert.equal(parseRef("docker://nginx").name, "docker.io/library/nginx:latest");
});

test("a first component with a dot, a port or localhost is the registry", () => {
  const r = parseRef("127.0.0.1:5000/hf/bb:v1");
  assert.equal(r.transport, "docker");
  if (r.transport !== "docker") return;
  assert.equal(r.registry, "127.0.0.1:5000");
  assert.equal(r.repository, "hf/bb");
  assert.equal(r.tag, "v1");
  assert.equal(parseRef("registry.example/ns/name:tag").name, "registry.example/ns/name:tag");
  assert.equal(parseRef("localhost/app").name, "localhost/app:latest");
  // "hf" has no dot or port: a docker hub namespace, not a host.
  assert.equal(parseRef("hf/bb").name, "docker.io/hf/bb:latest");
});

test("a digest pins the ref and gets no default tag; pinnedSkopeoRef drops the tag for the copy", () => {
  const byDigest = parseRef(`127.0.0.1:5000/hf/bb@sha256:${HEX}`);
  assert.equal(byDigest.name, `127.0.0.1:5000/hf/bb@sha256:${HEX}`);
  assert.equal(byDigest.transport === "docker" ? byDigest.tag : "x", undefined);
  const both = parseRef(`127.0.0.1:5000/hf/bb:v1@sha256:${HEX}`);
  assert.equal(both.name, `127.0.0.1:5000/hf/bb:v1@sha256:${HEX}`);
  assert.equal(pinnedSkopeoRef(both, `sha256:${"b".repeat(64)}`), `docker://127.0.0.1:5000/hf/bb@sha256:${"b".repeat(64)}`);
});

test("archive and layout refs need an absolute path; the tag is optional", () => {
  assert.deepEqual(parseRef("oci-archive:/srv/img.tar"), { transport: "oci-archive", name: "oci-archive:/srv/img.tar", skopeo: "oci-archive:/srv/img.tar", path: "/srv/img.tar" });
  assert.deepEqual(parseRef("oci:/srv/layout:v1"), { transport: "oci", name: "oci:/srv/layout:v1", skopeo: "oci:/srv/layout:v1", path: "/srv/layout", tag: "v1" });
  assert.equal(parseRef("docker-archive:/srv/../srv/d.tar:hf/bb:v1").name, "docker-archive:/srv/d.tar:hf/bb:v1");
  assert.equal(parseRef("docker-archive:/srv/d.tar:@0").name, "docker-archive:/srv/d.tar:@0");
});

function refusesRef(raw: string, problem: RegExp): void {
  assert.throws(
    () => parseRef(raw),
    (e: unknown) => e instanceof ValidationError && e.field === "ref" && problem.test(e.problem),
    raw,
  );
}

test("malformed refs are refused naming ref and what is wrong", () => {
  refusesRef("", /non-empty/);
  refusesRef("hf/BB:v1", /lowercase/);
  refusesRef("nginx:", /tag ""/);
  refusesRef("nginx:bad tag", /white space/);
  refusesRef("nginx@sha256:abc", /64 lowercase hex/);
  refusesRef(`nginx@md5:${HEX}`, /sha256/);
  refusesRef("oci-archive:img.tar", /absolute path/);
  refusesRef("oci:", /names no path/);
  refusesRef("oci:/srv/layout:", /names no tag/);
  refusesRef("docker-daemon:nginx", /transport/);
  refusesRef("http://registry/x", /transport/);
  refusesRef("registry.example:99999x/a", /registry|tag/);
  refusesRef("a//b", /repository name/);
});

test("platforms: the host's, parsing os/arch/variant, and matching with arm64's default variant", () => {
  const host = hostPlatform();
  assert.equal(host.os, "linux");
  assert.equal(host.architecture, process.arch === "x64" ? "amd64" : host.architecture);
  assert.deepEqual(parsePlatform("linux/arm64/v8"), { os: "linux", architecture: "arm64", variant: "v8" });
  assert.equal(formatPlatform(parsePlatform("linux/amd64")), "linux/amd64");
  for (const bad of ["linux", "linux/", "Linux/amd64", "linux/amd64/v8/x", "windows/amd64"]) {
    assert.throws(() => parsePlatform(bad), (e: unknown) => e instanceof ValidationError && e.field === "platform", bad);
  }
  assert.ok(platformMatches({ os: "linux", architecture: "arm64", variant: "v8" }, { os: "linux", architecture: "arm64" }));
  assert.ok(!platformMatches({ os: "linux", architecture: "arm", variant: "v7" }, { os: "linux", architecture: "arm", variant: "v6" }));
  assert.ok(!platformMatches({ os: "linux", architecture: "amd64" }, { os: "linux", architecture: "arm64" }));
});

test("validateImageInput names the field of each bad input", () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{}, "ref"],
    [{ ref: "Nginx" }, "ref"],
    [{ ref: "nginx", platform: "linux" }, "platform"],
    [{ ref: "nginx", pullPolicy: "sometimes" }, "pullPolicy"],
    [{ ref: "nginx", tlsVerify: "no" }, "tlsVerify"],
    [{ ref: "nginx", auth: { username: "", password: "x" } }, "auth.username"],
    [{ ref: "nginx", auth: { username: "a:b", password: "x" } }, "auth.username"],
    [{ ref: "nginx", auth: { username: "alice" } }, "auth.password"],
    [{ ref: "nginx", auth: { authFile: "relative.json" } }, "auth.authFile"],
    [{ ref: "oci-archive:/x.tar", auth: { username: "a", password: "b" } }, "auth"],
    [{ ref: "nginx", tag: "x" }, "tag"],
  ];
  for (const [raw, field] of cases) {
    assert.throws(() => validateImageInput(raw), (e: unknown) => e instanceof ValidationError && e.field === field, JSON.stringify(raw));
  }
  assert.deepEqual(validateImageInput({ ref: "nginx", platform: "linux/amd64", pullPolicy: "always", tlsVerify: false, auth: { username: "u", password: "p" } }), {
    ref: "nginx",
    platform: "linux/amd64",
    pullPolicy: "always",
    tlsVerify: false,
    auth: { username: "u", password: "p" },
  });
});
