// The container init's executable (the analogue of `runc init`), spawned by spawnWorker.ts and
// execWorker.ts: it only runs the protocol loop, so every module under init/ can be imported (and
// tested) without anything running. See protocolLoop.ts for what the init does.
import { main } from "./protocolLoop";

main();
