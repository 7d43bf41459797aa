// The container init's executable (the analogue of `runc init`), spawned by spawnWorker.ts and
// execWorker.ts: it only runs the protocol loop, so every module under init/ can be imported (and
// tested) without anything running. See protocolLoop.ts for what the init does.
import { existsSync } from "node:fs";
import { enableCompileCache, flushCompileCache } from "node:module";
import { join } from "node:path";
import { runDir } from "../../sys/paths";

// A fresh Node process starts for every container and every exec: V8's cached code for the init's
// modules (kept per boot, beside the containers' state) takes ~7 ms off its start. It is written now,
// because an init never exits normally: it execve()s the container's program. Only while the run dir
// exists: an idle init still starting as its supervisor shuts down (it exits on its own at EOF) must
// not make the directory again after whoever shut it down removed it.
const cached = existsSync(runDir());
if (cached) enableCompileCache(join(runDir(), "compile-cache"));
const { main } = require("./protocolLoop") as typeof import("./protocolLoop");
if (cached) flushCompileCache();
main();
