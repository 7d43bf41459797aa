// The supervisor's socket server: accepts connections on <runDir>/supervisor.sock, decodes the one
// JSON request each carries, hands it to the operation it names and writes back the answer (or the
// typed error, which the client rebuilds). It knows nothing about containers.
import { rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { ValidationError, errorToWire } from "../../sys/errors";
import { LineDecoder } from "../initProtocol";
import { type CreateOptions, type SupervisorRequest, type SupervisorResponse, type SupervisorResults, type UpdateOptions } from "../socketProtocol";

/** What each request does; the supervisor implements it. */
export interface SupervisorOps {
  ping(): SupervisorResults["ping"];
  create(id: string, spec: unknown, options: CreateOptions): Promise<SupervisorResults["create"]>;
  start(id: string): Promise<SupervisorResults["start"]>;
  state(id: string): SupervisorResults["state"];
  list(): SupervisorResults["list"];
  kill(id: string, signal: string): Promise<SupervisorResults["kill"]>;
  stop(id: string, timeout?: number): Promise<SupervisorResults["stop"]>;
  delete(id: string, force: boolean): Promise<SupervisorResults["delete"]>;
  wait(id: string): Promise<SupervisorResults["wait"]>;
  update(id: string, changes: UpdateOptions): Promise<SupervisorResults["update"]>;
  /** Answers first, then exits leaving containers running. */
  shutdownSoon(): SupervisorResults["shutdown"];
}

/** Calls the operation a request names. */
export function dispatch(req: SupervisorRequest, ops: SupervisorOps): Promise<unknown> | unknown {
  switch (req.op) {
    case "ping":
      return ops.ping();
    case "create":
      return ops.create(req.id, req.spec, req.options ?? {});
    case "start":
      return ops.start(req.id);
    case "state":
      return ops.state(req.id);
    case "list":
      return ops.list();
    case "kill":
      return ops.kill(req.id, req.signal);
    case "stop":
      return ops.stop(req.id, req.timeout);
    case "delete":
      return ops.delete(req.id, req.force === true);
    case "wait":
      return ops.wait(req.id);
    case "update": {
      const { op: _op, id, ...changes } = req;
      return ops.update(id, changes);
    }
    case "shutdown":
      return ops.shutdownSoon();
    default:
      throw new ValidationError("op", `unknown request ${JSON.stringify((req as { op: unknown }).op)}`);
  }
}

/** A decoded JSON value as a request: an object naming its op (each op checks its own fields). */
export function decodeRequest(value: unknown): SupervisorRequest {
  if (typeof value !== "object" || value === null || typeof (value as { op?: unknown }).op !== "string") {
    throw new ValidationError("request", `${JSON.stringify(value)?.slice(0, 100)} is not a request`, 'send a JSON object with an "op"');
  }
  return value as SupervisorRequest;
}

export class RequestServer {
  private server?: Server;
  private readonly connections = new Set<Socket>();

  /** @param onClose called whenever a client goes away (the supervisor's idle clock restarts then). */
  constructor(
    private readonly ops: SupervisorOps,
    private readonly onClose: () => void,
  ) {}

  /** Clients connected now (one waiting in `wait` keeps the supervisor from exiting idle). */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Listens on path, replacing a socket file a dead supervisor left. */
  async listen(path: string): Promise<void> {
    rmSync(path, { force: true });
    const server = createServer((sock) => this.onConnection(sock));
    this.server = server;
    await new Promise<void>((res, rej) => {
      server.once("error", rej);
      server.listen(path, () => res());
    });
  }

  /** Stops accepting connections and removes the socket file; open requests still get their answers. */
  close(path: string): void {
    this.server?.close();
    rmSync(path, { force: true });
  }

  private onConnection(sock: Socket): void {
    this.connections.add(sock);
    const decoder = new LineDecoder();
    let handled = false;
    sock.setEncoding("utf8");
    sock.on("data", (chunk: string) => {
      if (handled) return;
      let values: unknown[];
      try {
        values = decoder.push(chunk);
      } catch (err) {
        handled = true;
        this.reply(sock, { ok: false, error: errorToWire(new ValidationError("request", `is not JSON: ${(err as Error).message}`)) });
        return;
      }
      if (values.length === 0) return;
      handled = true;
      // Everything after the first request on a connection is ignored: one request, one answer.
      new Promise((res) => res(dispatch(decodeRequest(values[0]), this.ops))).then(
        (result) => this.reply(sock, { ok: true, result }),
        (err: unknown) => this.reply(sock, { ok: false, error: errorToWire(err) }),
      );
    });
    // A client that went away before its answer (EPIPE, ECONNRESET): nobody is left to tell; close does the bookkeeping.
    sock.on("error", () => undefined);
    sock.on("close", () => {
      this.connections.delete(sock);
      this.onClose();
    });
  }

  private reply(sock: Socket, res: SupervisorResponse): void {
    if (!sock.destroyed) sock.end(`${JSON.stringify(res)}\n`);
  }
}
