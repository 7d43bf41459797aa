// Where nsspawn is: the one C helper (src/native/nsspawn.c), which makes or joins user namespaces
// for the Node processes that cannot. Built into dist/native by `npm run build`.
import { join } from "node:path";

export const NSSPAWN_PATH = join(__dirname, "..", "..", "native", "nsspawn");
