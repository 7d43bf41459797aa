import type { SecretsWriter } from "./secrets/stackSecrets";
import { writeCheckpointAsync } from "./stateFile";
import type { OperationType, PendingOperation, ResourceState, Snapshot } from "./state";

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * The stack's state while a deployment runs: the old snapshot, edited step by step and written to
 * the checkpoint when `persist` is set. A provider call is recorded as a pending operation, and
 * that record is on disk before `begin` resolves, so a killed engine leaves a truthful file.
 *
 * Writes are coalesced: each edit marks the journal dirty and returns a promise that resolves once
 * a write containing it has been fsynced. One write is in flight at a time; every edit made while
 * it runs goes into the next one. With n steps in flight the file is written about once per batch
 * instead of twice per step (each write serializes the whole stack, so per-step writes are O(n²)).
 */
export class SnapshotJournal {
  readonly resources: ResourceState[];
  readonly pending: PendingOperation[];
  /** The live (not delete-marked) entry per URN, so lookups do not scan the stack. */
  private readonly liveByUrn = new Map<string, ResourceState>();
  private dirty = false;
  private writer: Promise<void> | undefined;
  private waiters: Waiter[] = [];
  private writeError: unknown;
  /** Checkpoint writes done so far (the bench and tests read it). */
  writes = 0;

  constructor(
    snapshot: Snapshot,
    private readonly persist: { project: string; stack: string; secrets: SecretsWriter; dir?: string } | undefined,
  ) {
    this.resources = [...snapshot.resources];
    this.pending = [...snapshot.pendingOperations];
    for (const r of this.resources) if (r.delete !== true && !this.liveByUrn.has(r.urn)) this.liveByUrn.set(r.urn, r);
  }

  /** The live (not delete-marked) entry for urn. */
  live(urn: string): ResourceState | undefined {
    return this.liveByUrn.get(urn);
  }

  add(r: ResourceState): Promise<void> {
    this.addEntry(r);
    return this.write();
  }

  /** Puts `next` where `prev` was (or appends when prev is gone). */
  replace(prev: ResourceState, next: ResourceState): Promise<void> {
    this.replaceEntry(prev, next);
    return this.write();
  }

  remove(r: ResourceState): Promise<void> {
    this.removeEntry(r);
    return this.write();
  }

  /**
   * Records that a provider call on `resource` is starting. Resolves once the record is on disk:
   * the caller starts the call only then.
   */
  async begin(type: OperationType, resource: ResourceState): Promise<PendingOperation> {
    const op = { type, resource };
    this.pending.push(op);
    await this.write();
    return op;
  }

  /**
   * Clears the pending operation and applies the step's result (edits through `edit`) in the same
   * write, so no file ever shows the call done without its result, or the result still pending.
   */
  end(op: PendingOperation, apply: (edit: JournalEdit) => void = () => undefined): Promise<void> {
    const i = this.pending.indexOf(op);
    if (i >= 0) this.pending.splice(i, 1);
    apply({ add: (r) => this.addEntry(r), replace: (p, n) => this.replaceEntry(p, n), remove: (r) => this.removeEntry(r) });
    return this.write();
  }

  /** Drops pending operations left by an earlier, interrupted run. */
  clearPending(): Promise<void> {
    this.pending.splice(0, this.pending.length);
    return this.write();
  }

  snapshot(): Snapshot {
    return { resources: [...this.resources], pendingOperations: [...this.pending] };
  }

  /** Waits for every edit so far to be on disk; throws the first write error of the run. */
  async flush(): Promise<void> {
    while (this.writer !== undefined) await this.writer;
    if (this.writeError !== undefined) throw this.writeError;
  }

  private addEntry(r: ResourceState): void {
    this.resources.push(r);
    if (r.delete !== true) this.liveByUrn.set(r.urn, r);
  }

  private replaceEntry(prev: ResourceState, next: ResourceState): void {
    const i = this.resources.indexOf(prev);
    if (i >= 0) this.resources[i] = next;
    else this.resources.push(next);
    if (this.liveByUrn.get(prev.urn) === prev) this.liveByUrn.delete(prev.urn);
    if (next.delete !== true) this.liveByUrn.set(next.urn, next);
  }

  private removeEntry(r: ResourceState): void {
    const i = this.resources.indexOf(r);
    if (i >= 0) this.resources.splice(i, 1);
    if (this.liveByUrn.get(r.urn) === r) this.liveByUrn.delete(r.urn);
  }

  private write(): Promise<void> {
    if (this.persist === undefined) return Promise.resolve();
    this.dirty = true;
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    // Callers that need not wait (component and `same` steps) may drop the promise; flush() reports.
    p.catch(() => undefined);
    this.writer ??= this.drain().finally(() => {
      this.writer = undefined;
    });
    return p;
  }

  private async drain(): Promise<void> {
    const persist = this.persist!;
    // Edits made in the same turn of the event loop (answers that arrived together) share a write.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.dirty) {
      this.dirty = false;
      const batch = this.waiters;
      this.waiters = [];
      try {
        await writeCheckpointAsync(persist.project, persist.stack, this.snapshot(), persist.secrets, persist.dir);
        this.writes++;
        for (const w of batch) w.resolve();
      } catch (err) {
        this.writeError ??= err;
        for (const w of batch) w.reject(err);
      }
    }
  }
}

/** Edits applied together with the end of a pending operation. */
export interface JournalEdit {
  add(r: ResourceState): void;
  replace(prev: ResourceState, next: ResourceState): void;
  remove(r: ResourceState): void;
}
