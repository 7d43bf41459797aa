// Preloaded (node --require) into the program and provider processes the engine starts. Their
// stdin is a pipe from the engine; when it closes, the engine is gone (even by SIGKILL, which no
// exit hook sees), and a provider host would otherwise serve forever.
import { isMainThread } from "node:worker_threads";

// --require preloads run again in every worker thread, whose process.stdin is an empty stream that
// ends at once: watching it there would call process.exit(1) and end the whole process.
if (isMainThread) {
  process.stdin.on("end", () => process.exit(1));
  process.stdin.on("error", () => process.exit(1));
  process.stdin.resume();
  // The pipe must not keep an otherwise finished program alive.
  (process.stdin as unknown as { unref?: () => void }).unref?.();
}
