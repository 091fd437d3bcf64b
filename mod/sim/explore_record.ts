/**
 * What an explorer run records (`explore.ts`): the FAILs and REMOVEs logged, who was cut off or
 * blocked when, the quiet crashes, and the outcome of a seed; and the bounds the checks hold a run
 * to.
 */
import { type Config, defaultConfig } from "../core/config.ts";
import type { MemberEvent } from "../core/types.ts";
import type { Plan } from "./explore_plan.ts";
import type { SimNode } from "./simulation.ts";

/** A broken property, with what shows it. */
export interface Violation {
  readonly property: "P1" | "P2" | "P3" | "step";
  readonly message: string;
}

/**
 * One FAIL or REMOVE a node logged, as the checks read it. A node told by another that it failed
 * logs its own REMOVE and comes back as a new version: recorded as a RESTART, observed by the
 * teller, since the teller's word ended a running member as a FAIL would have.
 */
export interface Logged {
  readonly kind: "FAIL" | "REMOVE" | "RESTART";
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
  /** The limits the run is held to (`boundsFor`): the defaults' when absent. */
  readonly bounds?: Bounds;
  /** The settings flags the run had, for the command that replays it. */
  readonly settingsFlags?: string;
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
  /** The settings every node runs (a profile's, a config file's): the defaults when absent. */
  readonly config?: Partial<Config>;
  /** The settings flags that give `config`, for the command that replays a seed. */
  readonly settingsFlags?: string;
}

/** How long before a FAIL a fault of its member or its observer excuses it. */
export const lookbackMs = 30_000;
/** How long after the last fault all running members must agree, with the default settings. */
export const settleMs = 20_000;
/** The detection bounds of a quiet crash with the default settings: the first observer, and all. */
export const firstDetectedMaxMs = 3000;
export const allDetectedMaxMs = 6000;

/** The time limits a run is held to: the settling and the detection of a quiet crash. */
export interface Bounds {
  readonly settleMs: number;
  readonly firstDetectedMaxMs: number;
  readonly allDetectedMaxMs: number;
}

/**
 * The limits for `config`. The defaults wait 2.2 s of silence before they fail a member, and are
 * held to the course's bounds: the first within 3 s, all within 6 s, all agreeing within 20 s of
 * the last fault. Settings that wait longer keep the same 0.8 s for a probe and a round of gossip
 * past their wait, and the other limits in proportion: `lean` (2.3 s) is held to 3.1 s and 6.2 s,
 * `wan` (6.6 s) to 7.4 s and 14.8 s.
 */
export function boundsFor(config: Partial<Config> = {}): Bounds {
  const c = { ...defaultConfig, ...config };
  const wait = Math.max(c.suspectAfterMs + c.suspectTimeoutMs, c.failAfterMs);
  const first = Math.max(firstDetectedMaxMs, wait + 800);
  const stretch = first / firstDetectedMaxMs;
  return {
    settleMs: Math.round(settleMs * stretch),
    firstDetectedMaxMs: first,
    allDetectedMaxMs: Math.round(allDetectedMaxMs * stretch),
  };
}
