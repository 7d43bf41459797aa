import { test, after } from "node:test";
import assert from "node:assert/strict";
import { closeSync, fstatSync, mkdtempSync, openSync, readSync, readlinkSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { acceptUnix, connectUnix, listenUnix, recvFd, sendFd } from "../../src/sys/unixSocket";
import { HostformError, SysError } from "../../src/sys/errors";
import { testPrefix } from "../../fixtures/prefix";

const dir = mkdtempSync(join(tmpdir(), `${testPrefix("unixsock")}-`));
after(() => rmSync(dir, { recursive: true, force: true }));

let seq = 0;

/** A listener, a connected client and the accepted server end; all closed by the returned function. */
function pair(): { client: number; server: number; close: () => void } {
  const path = join(dir, `s${seq++}`);
  const listener = listenUnix(path);
  const client = connectUnix(path);
  const server = acceptUnix(listener);
  return {
    client,
    server,
    close: () => {
      for (const fd of [client, server, listener]) closeSync(fd);
    },
  };
}

test("sendFd passes data and an open fd of the same file; recvFd gets both, close-on-exec", () => {
  const file = join(dir, "payload");
  writeFileSync(file, "carried by SCM_RIGHTS");
  const fd = openSync(file, "r");
  const p = pair();
  try {
    sendFd(p.client, "/dev/ptmx", fd);
    const got = recvFd(p.server);
    try {
      assert.equal(got.data, "/dev/ptmx");
      assert.notEqual(got.fd, fd);
      assert.equal(readlinkSync(`/proc/self/fd/${got.fd}`), file);
      assert.equal(fstatSync(got.fd).ino, fstatSync(fd).ino);
      const buf = Buffer.alloc(64);
      assert.equal(buf.subarray(0, readSync(got.fd, buf, 0, 64, 0)).toString(), "carried by SCM_RIGHTS");
      // MSG_CMSG_CLOEXEC: a received fd does not leak into programs this process starts.
      const flags = /flags:\s+(\d+)/.exec(readFileText(`/proc/self/fdinfo/${got.fd}`))?.[1] ?? "";
      assert.ok((parseInt(flags, 8) & 0o2000000) !== 0, `fd flags ${flags} lack O_CLOEXEC`);
    } finally {
      closeSync(got.fd);
    }
  } finally {
    closeSync(fd);
    p.close();
  }
});

function readFileText(path: string): string {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(4096);
    return buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString();
  } finally {
    closeSync(fd);
  }
}

test("recvFd refuses a message without an fd, and a connection closed without one", () => {
  const p = pair();
  try {
    writeSync(p.client, "no fd here");
    assert.throws(() => recvFd(p.server), (err: unknown) => err instanceof HostformError && /expected one fd .*got 0 fds with 10 bytes/.test(err.message));
  } finally {
    p.close();
  }
  const path = join(dir, `s${seq++}`);
  const listener = listenUnix(path);
  try {
    closeSync(connectUnix(path));
    const server = acceptUnix(listener);
    try {
      assert.throws(() => recvFd(server), (err: unknown) => err instanceof HostformError && /expected one fd .*connection was closed/.test(err.message));
    } finally {
      closeSync(server);
    }
  } finally {
    closeSync(listener);
  }
});

test("connectUnix to a missing socket is a SysError naming connect and the path", () => {
  const path = join(dir, "missing");
  assert.throws(
    () => connectUnix(path),
    (err: unknown) => err instanceof SysError && err.syscall === "connect" && err.code === "ENOENT" && err.path === path,
  );
});
