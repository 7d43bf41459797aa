// The run dir's lock: one supervisor per run dir. The lock file holds "<pid> <start time>" of its
// holder. A holder killed without cleaning up (SIGKILL) leaves the file behind; its pid is then no
// longer that process (gone, or reused with another start time), and the lock is taken over.
import { linkSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { SysError, hasCode } from "../../sys/errors";
import { isSameProcess, processStartTime } from "../state";

export class RunDirLock {
  constructor(readonly path: string) {}

  /** Takes the lock; false when a live process holds it. */
  acquire(): boolean {
    // The content is written before the lock exists (link is atomic and fails on EEXIST): no one
    // ever reads an empty lock file and takes it for a stale one.
    const tmp = `${this.path}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, `${process.pid} ${processStartTime(process.pid)}\n`, { mode: 0o600 });
    } catch (err) {
      throw SysError.fromNode(err, "write the supervisor lock");
    }
    try {
      for (let i = 0; i < 5; i++) {
        try {
          linkSync(tmp, this.path);
          return true;
        } catch (err) {
          if (!hasCode(err, "EEXIST")) throw SysError.fromNode(err, "take the supervisor lock");
        }
        const holder = this.holder();
        // Gone between the link and the read: try again.
        if (holder === undefined) continue;
        if (isSameProcess(holder.pid, holder.startTime)) return false;
        rmSync(this.path, { force: true });
      }
      return false;
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  /** Removes the lock if this process holds it. */
  release(): void {
    const holder = this.holder();
    if (holder?.pid === process.pid) rmSync(this.path, { force: true });
  }

  /** pid and start time in the lock file; undefined when there is no file. Garbage reads as pid 0 (no live holder). */
  private holder(): { pid: number; startTime: number } | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (err) {
      if (hasCode(err, "ENOENT")) return undefined;
      throw SysError.fromNode(err, "read the supervisor lock");
    }
    const [pid, startTime] = text.trim().split(" ").map(Number);
    return { pid: Number.isInteger(pid) ? pid! : 0, startTime: startTime ?? NaN };
  }
}
