// cgroup v1 freezer controller: freezer.state THAWED / FREEZING / FROZEN. No limits.
import { join } from "node:path";
import { readCgroupFile, writeCgroupFile } from "../cgroupfs";
import type { Controller } from "../controller";

/** No limits and no usage: the hierarchy serves freeze/thaw (and kill, through freezing) on v1 hosts. */
export const freezerV1: Controller<undefined> = {
  name: "freezer",
  limits: undefined,
};

/** Asks the kernel to freeze (true) or thaw (false) every task in dir. */
export function setFreezerState(dir: string, frozen: boolean): void {
  writeCgroupFile(join(dir, "freezer.state"), frozen ? "FROZEN" : "THAWED");
}

/** The state the kernel reports; FREEZING means not every task has stopped yet. */
export function freezerState(dir: string): string {
  return readCgroupFile(join(dir, "freezer.state"));
}
