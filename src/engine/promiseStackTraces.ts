// Preloaded (--require) into the user's program by the engine. @pulumi/pulumi's debuggablePromise
// stores `new Error().stack` on every promise it makes (several per resource) for its promise-leak
// report, and reading .stack runs the installed formatter at once: under ts-node that is
// source-map-support, which maps every frame through the source maps (~30 ms per resource here,
// the program's largest cost in a 50-container `up`). The SDK prints those stacks only when
// PULUMI_DEBUG_PROMISE_LEAKS is set: then nothing changes; else they are not formatted at all.
// Every other stack (the user's errors, resource source positions) still goes through the
// formatter the program installed.
import { sep } from "node:path";

type PrepareStackTrace = (err: Error, frames: NodeJS.CallSite[]) => unknown;

const DEBUGGABLE = `${sep}pulumi${sep}runtime${sep}debuggable.js`;

/** Whether the stack is the one debuggablePromise captures for its leak report. */
function isPromiseDebugStack(frames: NodeJS.CallSite[]): boolean {
  const top = frames[0];
  return top !== undefined && top.getFunctionName() === "debuggablePromise" && (top.getFileName() ?? "").endsWith(DEBUGGABLE);
}

const NOT_KEPT = "Error\n    (stack not kept: set PULUMI_DEBUG_PROMISE_LEAKS to keep promise stacks)";

let installed: unknown = Error.prepareStackTrace;
// One wrapper per installed formatter, and back: code that saves Error.prepareStackTrace, sets its
// own and restores the saved one gets the formatter it saved, not a wrapper of a wrapper.
const wrapperOf = new WeakMap<PrepareStackTrace, PrepareStackTrace>();
const wrapped = new WeakMap<PrepareStackTrace, PrepareStackTrace>();

function wrap(fn: PrepareStackTrace): PrepareStackTrace {
  let w = wrapperOf.get(fn);
  if (w === undefined) {
    w = function (this: unknown, err: Error, frames: NodeJS.CallSite[]): unknown {
      return isPromiseDebugStack(frames) ? NOT_KEPT : fn.call(this, err, frames);
    };
    wrapperOf.set(fn, w);
    wrapped.set(w, fn);
  }
  return w;
}

// The SDK's own test of the variable (any non-empty value).
if (!process.env.PULUMI_DEBUG_PROMISE_LEAKS) {
  Object.defineProperty(Error, "prepareStackTrace", {
    configurable: true,
    enumerable: false,
    // Without a formatter of the program's, V8's native one is cheap already: nothing to wrap.
    get: () => (typeof installed === "function" ? wrap(installed as PrepareStackTrace) : installed),
    set: (value: unknown) => {
      installed = typeof value === "function" ? (wrapped.get(value as PrepareStackTrace) ?? value) : value;
    },
  });
}
