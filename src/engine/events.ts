import type { Severity } from "./monitor";
import type { StepOp } from "./planner";

/** A property that differs between old and new state. */
export interface PropertyChange {
  key: string;
  old: unknown;
  new: unknown;
}

/** The kinds of run the engine performs. */
export type OperationKind = "update" | "preview" | "refresh" | "destroy" | "drift";

/** Everything the engine reports while it runs; the display renders these, --json prints them. */
export type EngineEvent =
  | { type: "start"; operation: OperationKind; project: string; stack: string; dryRun: boolean }
  | { type: "diagnostic"; severity: Severity; message: string; urn?: string }
  | { type: "step-start"; op: StepOp | "refresh"; urn: string; dryRun: boolean }
  | {
      type: "step-done";
      op: StepOp | "refresh";
      urn: string;
      dryRun: boolean;
      durationMs: number;
      changes: PropertyChange[];
      replaceKeys?: string[];
      deleteBeforeReplace?: boolean;
      /** A delete that removes the old copy of a replaced resource. */
      replacedOriginal?: boolean;
    }
  | { type: "step-failed"; op: StepOp | "refresh"; urn: string; message: string; durationMs: number }
  | {
      type: "drift";
      urn: string;
      status: "in-sync" | "modified" | "missing" | "stopped";
      /** What drifted (old → live); empty when in sync. */
      changes: PropertyChange[];
      /** Outputs the read refreshed that are not drift (a pid after a restart by policy, a start time). */
      outputsChanged?: string[];
    }
  | { type: "outputs"; outputs: Record<string, unknown> }
  | { type: "summary"; operation: OperationKind; ok: boolean; dryRun: boolean; counts: Partial<Record<StepOp | "refresh" | "drifted", number>>; durationMs: number };

export type EventSink = (e: EngineEvent) => void;
