import { test } from "node:test";
import assert from "node:assert/strict";
import { ValidationError } from "../../src/sys/errors";
import { CLONE_NEWNET, CLONE_NEWPID } from "../../src/sys/constants";
import { cloneFlags, procNsPath, validateNamespaceTypes, validateSetName } from "../../src/ns";

function rejects(fn: () => unknown, field: string, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ValidationError, String(err));
    assert.equal(err.field, field);
    assert.equal(err.message, message);
    return true;
  });
}

test("namespace types are validated element by element and returned in canonical order", () => {
  assert.deepEqual(validateNamespaceTypes(["pid", "net", "cgroup", "mnt"]), ["net", "mnt", "pid", "cgroup"]);
  rejects(() => validateNamespaceTypes(["net", "nett"]), "types[1]", 'types[1]: unknown namespace type "nett" (use one of net, uts, ipc, mnt, pid, cgroup, user)');
  rejects(() => validateNamespaceTypes(["net", "uts", "net"]), "types[2]", 'types[2]: duplicate namespace type "net" (already at types[0]) (list each type once)');
  rejects(() => validateNamespaceTypes(["time"]), "types[0]", 'types[0]: unknown namespace type "time" (use one of net, uts, ipc, mnt, pid, cgroup, user)');
  rejects(() => validateNamespaceTypes([]), "types", "types: must list at least one namespace type (use one of net, uts, ipc, mnt, pid, cgroup, user)");
  rejects(() => validateNamespaceTypes("net"), "types", 'types: expected a list of namespace types, got "net" (use one of net, uts, ipc, mnt, pid, cgroup, user)');
  rejects(() => validateNamespaceTypes([7]), "types[0]", "types[0]: expected a namespace type, got number (use one of net, uts, ipc, mnt, pid, cgroup, user)");
});

test("set names are one path component of safe characters", () => {
  assert.equal(validateSetName("web-1.prod_a"), "web-1.prod_a");
  assert.equal(validateSetName("a".repeat(128)), "a".repeat(128));
  const hint = "(use 1-128 characters from a-z A-Z 0-9 _ . - starting with a letter or digit)";
  for (const bad of ["", "a/b", "..", ".hidden", "-x", "a b", "a".repeat(129), "ü"]) {
    rejects(() => validateSetName(bad), "name", `name: ${JSON.stringify(bad)} is not a valid namespace set name ${hint}`);
  }
});

test("clone flags and /proc paths follow the kernel's names", () => {
  assert.equal(cloneFlags(["net", "pid"]), CLONE_NEWNET | CLONE_NEWPID);
  assert.equal(procNsPath("mnt", 42), "/proc/42/ns/mnt");
  assert.equal(procNsPath("net", 42, 43), "/proc/42/task/43/ns/net");
});
