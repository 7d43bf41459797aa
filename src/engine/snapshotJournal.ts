import { writeCheckpoint } from "./stateFile";
import type { OperationType, PendingOperation, ResourceState, Snapshot } from "./state";

/**
 * The stack's state while a deployment runs: the old snapshot, edited step by step, written to the
 * checkpoint after every change when `persist` is set. A provider call is recorded as a pending
 * operation before it starts and cleared after, so a killed engine leaves a truthful file.
 */
export class SnapshotJournal {
  readonly resources: ResourceState[];
  readonly pending: PendingOperation[];
  private batching = false;

  constructor(
    snapshot: Snapshot,
    private readonly persist: { project: string; stack: string; dir?: string } | undefined,
  ) {
    this.resources = [...snapshot.resources];
    this.pending = [...snapshot.pendingOperations];
  }

  /** The live (not delete-marked) entry for urn. */
  live(urn: string): ResourceState | undefined {
    return this.resources.find((r) => r.urn === urn && r.delete !== true);
  }

  add(r: ResourceState): void {
    this.resources.push(r);
    this.write();
  }

  /** Puts `next` where `prev` was (or appends when prev is gone). */
  replace(prev: ResourceState, next: ResourceState): void {
    const i = this.resources.indexOf(prev);
    if (i >= 0) this.resources[i] = next;
    else this.resources.push(next);
    this.write();
  }

  remove(r: ResourceState): void {
    const i = this.resources.indexOf(r);
    if (i >= 0) this.resources.splice(i, 1);
    this.write();
  }

  /** Records that a provider call on `resource` is starting; returns the handle for `end`. */
  begin(type: OperationType, resource: ResourceState): PendingOperation {
    const op = { type, resource };
    this.pending.push(op);
    this.write();
    return op;
  }

  /** Clears the pending operation and applies the step's result in the same write. */
  end(op: PendingOperation, apply: () => void = () => undefined): void {
    const i = this.pending.indexOf(op);
    if (i >= 0) this.pending.splice(i, 1);
    // The edit and the pending-op removal go out in one write.
    this.batching = true;
    try {
      apply();
    } finally {
      this.batching = false;
    }
    this.write();
  }

  /** Drops pending operations left by an earlier, interrupted run. */
  clearPending(): void {
    this.pending.splice(0, this.pending.length);
    this.write();
  }

  snapshot(): Snapshot {
    return { resources: [...this.resources], pendingOperations: [...this.pending] };
  }

  write(): void {
    if (this.persist === undefined || this.batching) return;
    writeCheckpoint(this.persist.project, this.persist.stack, this.snapshot(), this.persist.dir);
  }
}
