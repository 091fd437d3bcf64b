/**
 * What the simulator makes of the events the cores report: it counts them, runs the step checker
 * on each, records who detected which failure and when, and tells a false failure (of a member
 * whose process runs) from a true one, a leave taken for a failure, or the silence of a pause.
 * For that it remembers which members left and when each member's process ended.
 */
import type { Config } from "../core/config.ts";
import type { Address, MemberEvent } from "../core/types.ts";
import { memberId } from "../core/types.ts";
import { StepChecker } from "./checkers.ts";
import type { SimNode } from "./sim_node.ts";
import type { SimulationStats } from "./stats.ts";

/** The first detection of a version by each observer. */
export interface Detection {
  readonly member: string;
  /** Observer index -> time it listed the member as failed. */
  readonly observers: Map<number, number>;
}

/** What the observer is built on: the run's clock, settings, counters and machines. */
export interface ObserverParts {
  readonly clock: { readonly nowMs: number };
  readonly config: Config;
  readonly stats: SimulationStats;
  readonly byAddress: ReadonlyMap<Address, SimNode>;
  /** Ends the run with a broken invariant. */
  readonly fail: (message: string) => never;
  readonly onEvent?: (node: SimNode, event: MemberEvent) => void;
}

/** Counts and checks every event of a run. */
export class Observer {
  /** Member id -> who listed it as failed, and when. */
  readonly detections = new Map<string, Detection>();
  readonly #clock: { readonly nowMs: number };
  readonly #config: Config;
  readonly #stats: SimulationStats;
  readonly #byAddress: ReadonlyMap<Address, SimNode>;
  readonly #fail: (message: string) => never;
  readonly #onEvent: ((node: SimNode, event: MemberEvent) => void) | undefined;
  readonly #checker = new StepChecker();
  readonly #leftIds = new Set<string>();
  /** Member id -> when its process stopped being that member: crashed, left, or a new version. */
  readonly #endedAtMs = new Map<string, number>();

  constructor(parts: ObserverParts) {
    this.#clock = parts.clock;
    this.#config = parts.config;
    this.#stats = parts.stats;
    this.#byAddress = parts.byAddress;
    this.#fail = parts.fail;
    this.#onEvent = parts.onEvent;
  }

  /** Notes that a process stopped being member `id` now: crashed, left, or a new version. */
  ended(id: string): void {
    this.#endedAtMs.set(id, this.#clock.nowMs);
  }

  /** Notes that member `id` leaves voluntarily, so that its failure is not taken for false. */
  left(id: string): void {
    this.#leftIds.add(id);
  }

  /** Forgets what the node at `index` saw: its process starts afresh. */
  forget(index: number): void {
    this.#checker.forget(index);
  }

  /** Counts and checks one event a node reported, then hands it to the run's `onEvent`. */
  observe(node: SimNode, event: MemberEvent): void {
    const nowMs = this.#clock.nowMs;
    this.#stats.events[event.kind]++;
    // A node told that it failed starts its list afresh, as a restarted process would.
    if (event.kind === "REMOVE" && event.via === "gossip" && event.address === node.address) {
      this.#checker.forget(node.index);
    }
    const violation = this.#checker.check(node.index, node.address, event);
    if (violation !== undefined) this.#fail(`${node.address} at ${nowMs} ms: ${violation}`);
    if (event.kind === "JOIN") {
      // Across the cluster: once every member that knew an ended version has removed it and let
      // its tombstone go, nothing true can bring it in again; only stale gossip could.
      const id = memberId(event.address, event.version);
      const endedAtMs = this.#endedAtMs.get(id);
      if (
        endedAtMs !== undefined &&
        nowMs - endedAtMs > this.#config.cleanupAfterMs + this.#config.tombstoneMs
      ) {
        this.#fail(
          `${node.address} at ${nowMs} ms: ${id} joined its list ${
            nowMs - endedAtMs
          } ms after its process ended (a ghost)`,
        );
      }
    }
    if (event.kind === "FAIL") {
      const id = memberId(event.address, event.version);
      let detection = this.detections.get(id);
      if (detection === undefined) {
        detection = { member: id, observers: new Map() };
        this.detections.set(id, detection);
      }
      if (!detection.observers.has(node.index)) detection.observers.set(node.index, event.atMs);
      const subject = this.#byAddress.get(event.address);
      const stats = this.#stats;
      if (this.#leftIds.has(id)) stats.leavesSeenAsFailures++;
      else if (subject?.id === id && this.#silencedByPause(subject)) stats.pausedDetections++;
      else if (subject?.id === id && subject.state === "up") stats.falsePositives++;
    } else if (event.kind === "REMOVE" && event.via === "stale") {
      // Ended for want of confirmation after a stall: wrong, and as costly as a false failure,
      // when the member is running (it is told so, and comes back as a new version).
      const subject = this.#byAddress.get(event.address);
      const id = memberId(event.address, event.version);
      if (subject?.id === id && subject.state === "up") this.#stats.falsePositives++;
    }
    this.#onEvent?.(node, event);
  }

  /**
   * True when a member's failure is its pause's doing: it is paused, or it ran again so lately
   * that the silence it was failed for began while it was paused (a pause of over a second).
   */
  #silencedByPause(node: SimNode): boolean {
    if (node.state === "paused") return true;
    const config = this.#config;
    const silenceMs = Math.max(config.failAfterMs, config.suspectAfterMs + config.suspectTimeoutMs);
    return node.state === "up" && this.#clock.nowMs - node.resumedAtMs < silenceMs &&
      node.resumedAtMs - node.pausedAtMs > config.stallThresholdMs;
  }
}
