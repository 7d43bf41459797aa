/** A promise with its resolve and reject at hand, for results that arrive as worker messages. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

/**
 * A Deferred whose rejection is never "unhandled": a failure may be settled before anyone awaits
 * it (an init that dies before its caller asks), and it is still seen by whoever awaits later.
 */
export function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}
