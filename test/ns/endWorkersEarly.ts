// Preload (NODE_OPTIONS=--require) that makes every worker thread end right after its first
// message, and holds that message back in the main thread until the thread is gone: the caller
// sees "ready" from a worker that no longer exists, every time. The engine's exitWithParent
// preload did this by chance to unshare workers (their process.stdin is empty, so its "end"
// handler ran process.exit in the worker). NODE_OPTIONS reaches workers even when they are
// started with execArgv: [], so this exercises pinning after the worker is gone.
import { isMainThread, parentPort, Worker } from "node:worker_threads";

if (!isMainThread && parentPort !== null) {
  const port = parentPort;
  const post = port.postMessage.bind(port);
  port.postMessage = (value: unknown, transfer?: never): void => {
    post(value, transfer);
    process.exit(1);
  };
}

if (isMainThread) {
  // Node's Worker drops its "message" listeners once the thread has ended, just before "exit":
  // held messages are delivered at that moment.
  const emit = Worker.prototype.emit;
  const removeAll = Worker.prototype.removeAllListeners;
  const held = new WeakMap<Worker, unknown[][]>();
  const ended = new WeakSet<Worker>();
  Worker.prototype.emit = function (this: Worker, event: string | symbol, ...args: unknown[]): boolean {
    if (event !== "message" || ended.has(this)) return emit.call(this, event, ...args);
    held.set(this, [...(held.get(this) ?? []), args]);
    return true;
  };
  Worker.prototype.removeAllListeners = function (this: Worker, event?: string | symbol): Worker {
    if (event === "message" && !ended.has(this)) {
      ended.add(this);
      for (const message of held.get(this) ?? []) emit.call(this, "message", ...message);
      held.delete(this);
    }
    return removeAll.call(this, event) as Worker;
  };
}
