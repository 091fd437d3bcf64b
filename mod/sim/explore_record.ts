/**
 * What an explorer run records (`explore.ts`): the FAILs and REMOVEs logged, who was cut off or
 * blocked when, the quiet crashes, and the outcome of a seed; and the bounds the checks hold a run
 * to.
 */
import type { MemberEvent } from "../core/types.ts";
import type { Plan } from "./explore_plan.ts";
import type { SimNode } from "./simulation.ts";

/** A broken property, with what shows it. */
export interface Violation {
  readonly property: "P1" | "P2" | "P3" | "step";
  readonly message: string;
}

/** One FAIL or REMOVE a node logged, as the checks read it. */
export interface Logged {
  readonly kind: "FAIL" | "REMOVE";
  /** Virtual time (the simulator's clock, also for a node whose own clock stood still). */
  readonly atMs: number;
  readonly observer: number;
  readonly observerId: string;
  readonly member: string;
  /** The node index at the member's address. */
  readonly subject: number;
  /** True when the member's process was running as that version when it was logged. */
  readonly running: boolean;
}

/** A crash with no other fault within {@linkcode quietMs} either side, and who should see it. */
export interface QuietCrash {
  readonly member: string;
  readonly atMs: number;
  /** The members running throughout, as (index, id), that must list it as failed. */
  readonly observers: readonly (readonly [number, string])[];
}

/** What a run recorded: enough to check P1 and P3 again, or with an injected event. */
export interface RunRecord {
  readonly seed: number;
  readonly logged: Logged[];
  /** Node index -> intervals in which it was not connected to a majority (any fault of its own). */
  readonly impaired: Map<number, [number, number][]>;
  /** Blocked pairs, `a b` with a < b -> intervals. */
  readonly blocked: Map<string, [number, number][]>;
  readonly quietCrashes: QuietCrash[];
  /** Members that left on purpose: their failure is no false one. */
  readonly left: Set<string>;
}

/** The outcome of one seed. */
export interface ExploreResult {
  readonly seed: number;
  readonly plan: Plan;
  readonly violations: Violation[];
  /** Running nodes times simulated seconds, summed. */
  readonly nodeSeconds: number;
  readonly simulatedMs: number;
  /** A hash of every event of every node, in order: the same seed gives the same hash. */
  readonly eventHash: string;
  readonly events: number;
  /** FAIL events of running members P1 judged (most excused by a fault of either side). */
  readonly failsJudged: number;
  readonly quietCrashes: number;
  /** From the end of the last fault until every running member agreed; null if they never did. */
  readonly settledMs: number | null;
  readonly record: RunRecord;
}

/** What a run may be watched with. */
export interface ExploreOptions {
  /** Called for every event, with the virtual time (a slept node's own clock lags it). */
  readonly onEvent?: (node: SimNode, event: MemberEvent, nowMs: number) => void;
}

/** How long before a FAIL a fault of its member or its observer excuses it. */
export const lookbackMs = 30_000;
/** How long after the last fault all running members must agree. */
export const settleMs = 20_000;
/** The detection bounds of a quiet crash: the first observer, and every observer. */
export const firstDetectedMaxMs = 3000;
export const allDetectedMaxMs = 6000;
