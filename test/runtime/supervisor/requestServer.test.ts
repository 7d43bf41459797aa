// The supervisor's socket server on a real unix socket, with operations that only answer: requests
// are decoded and dispatched, bad ones refused by field, and typed errors reach the RuntimeClient as
// the class the server threw.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RuntimeClient } from "../../../src/runtime/client";
import { supervisorSocketPath, type SupervisorResponse, type UpdateOptions } from "../../../src/runtime/socketProtocol";
import { RequestServer, type SupervisorOps } from "../../../src/runtime/supervisor/requestServer";
import { CorruptFileError, NotFoundError, TimeoutError, ValidationError, errorFromWire } from "../../../src/sys/errors";
import { testPrefix } from "../../../fixtures/prefix";

const runDir = mkdtempSync(join(tmpdir(), `${testPrefix("reqsrv")}-`));
const socket = supervisorSocketPath(runDir);
const updates: Array<[string, UpdateOptions]> = [];
let closes = 0;

const missing = (id: string) => Promise.reject(new NotFoundError("container", id, "list containers with `hostform ps`"));
const ops: SupervisorOps = {
  ping: () => ({ pid: 42, containers: 0 }),
  create: (id) => missing(id),
  start: (id) => missing(id),
  state: (id) => {
    throw new CorruptFileError(`/run/x/${id}/state.json`, "is not valid JSON").withContext(`container ${id}`);
  },
  list: () => ({ containers: [], unreadable: [] }),
  kill: (id) => missing(id),
  stop: () => Promise.reject(new TimeoutError("container c: SIGKILL of pid 1", 10_000)),
  delete: (id) => missing(id),
  wait: (id) => missing(id),
  update: (id, changes) => {
    updates.push([id, changes]);
    return missing(id);
  },
  shutdownSoon: () => ({ pid: 42 }),
};
const server = new RequestServer(ops, () => closes++);
// Only this test's server answers on its socket: a client here never has a reason to start a supervisor.
const client = new RuntimeClient({ runDir });

before(() => server.listen(socket));
after(() => {
  server.close(socket);
  rmSync(runDir, { recursive: true, force: true });
});

/** Sends raw bytes and returns the decoded answer. */
function raw(text: string): Promise<SupervisorResponse> {
  return new Promise((res, rej) => {
    const s = connect(socket);
    let buf = "";
    s.setEncoding("utf8");
    s.on("connect", () => s.write(text));
    s.on("data", (c: string) => (buf += c));
    s.on("error", rej);
    s.on("close", () => res(JSON.parse(buf) as SupervisorResponse));
  });
}

test("typed errors thrown by an operation reach the client as their own class, with their fields", async () => {
  await assert.rejects(client.state("web"), (e: unknown) => e instanceof CorruptFileError && e.path === "/run/x/web/state.json" && /^container web: /.test(e.message));
  await assert.rejects(client.kill("web"), (e: unknown) => e instanceof NotFoundError && e.kind === "container" && e.id === "web");
  await assert.rejects(client.stop("c"), (e: unknown) => e instanceof TimeoutError && e.ms === 10_000);
  assert.equal(await client.supervisorPid(), 42);
});

test("update hands the operation only the changes", async () => {
  await assert.rejects(client.update("web", { restartPolicy: "no", stopTimeout: 3 }), NotFoundError);
  assert.deepEqual(updates.at(-1), ["web", { restartPolicy: "no", stopTimeout: 3 }]);
});

test("bad requests are refused by field: not JSON, not a request, an unknown op", async () => {
  const refused = async (text: string, field: string) => {
    const r = await raw(text);
    assert.ok(!r.ok);
    const e = errorFromWire(r.error);
    assert.ok(e instanceof ValidationError && e.field === field, `${JSON.stringify(text)}: ${e.message}`);
  };
  await refused("{nope\n", "request");
  await refused("[1]\n", "request");
  await refused('{"id":"web"}\n', "request");
  await refused('{"op":"explode"}\n', "op");
});

test("a request split across writes is answered once; every closed connection is counted", async () => {
  const before = closes;
  const r = await new Promise<SupervisorResponse>((res, rej) => {
    const s = connect(socket);
    let buf = "";
    s.setEncoding("utf8");
    s.on("connect", () => {
      s.write('{"op":');
      setTimeout(() => s.write('"ping"}\n{"op":"ping"}\n'), 20);
    });
    s.on("data", (c: string) => (buf += c));
    s.on("error", rej);
    s.on("close", () => res(JSON.parse(buf) as SupervisorResponse));
  });
  assert.deepEqual(r, { ok: true, result: { pid: 42, containers: 0 } });
  assert.ok(await waitFor(() => server.connectionCount === 0), "the server let go of the connection");
  assert.ok(closes > before, "and told its owner");
});

async function waitFor(fn: () => boolean): Promise<boolean> {
  for (let i = 0; i < 100 && !fn(); i++) await new Promise((r) => setTimeout(r, 10));
  return fn();
}
