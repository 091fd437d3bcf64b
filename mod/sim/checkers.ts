/**
 * Invariants checked while a simulation runs (after every event) and when it ends.
 */
import type { MemberEvent } from "../core/types.ts";
import { isLive, memberId, statusNames } from "../core/types.ts";
import type { Core } from "../core/core.ts";

/** What the agreement checkers read of a run: its running nodes. */
export interface RunningNodes {
  upNodes(): readonly {
    readonly address: string;
    readonly id: string | undefined;
    readonly core: Core | undefined;
    readonly joined: boolean;
  }[];
}

/**
 * Checks every event as it happens:
 * - no node suspects itself or declares itself failed;
 * - a version that ended in a node's list (failed, left, removed) never joins it again;
 * - a member's incarnation, as a node sees it, never goes down.
 */
export class StepChecker {
  readonly #ended = new Map<number, Set<string>>();
  readonly #incarnations = new Map<string, number>();

  /**
   * Forgets what an observer saw: its process started afresh, and may rightly learn as alive, from
   * a member that has not heard yet, a version its earlier process saw end.
   */
  forget(observer: number): void {
    this.#ended.delete(observer);
    const prefix = `${observer} `;
    for (const key of this.#incarnations.keys()) {
      if (key.startsWith(prefix)) this.#incarnations.delete(key);
    }
  }

  /** Returns a description of the broken invariant, or undefined. */
  check(observer: number, observerAddress: string, event: MemberEvent): string | undefined {
    if (event.address === observerAddress && (event.kind === "FAIL" || event.kind === "SUSPECT")) {
      const what = event.kind === "FAIL" ? "failed" : "suspect";
      return `a node listed itself as ${what}: ${memberId(event.address, event.version)}`;
    }
    if (event.kind === "JOIN") {
      const ended = this.#ended.get(observer);
      if (ended === undefined) return undefined;
      const id = memberId(event.address, event.version);
      return ended.has(id) ? `${id} came back after it ended` : undefined;
    }
    const id = memberId(event.address, event.version);
    switch (event.kind) {
      case "FAIL":
      case "LEAVE":
      case "REMOVE": {
        let ended = this.#ended.get(observer);
        if (ended === undefined) {
          ended = new Set();
          this.#ended.set(observer, ended);
        }
        ended.add(id);
        this.#incarnations.delete(`${observer} ${id}`);
        return undefined;
      }
      case "SUSPECT":
      case "REFUTE": {
        const key = `${observer} ${id}`;
        const before = this.#incarnations.get(key);
        if (before !== undefined && event.incarnation < before) {
          return `incarnation of ${id} went down from ${before} to ${event.incarnation}`;
        }
        this.#incarnations.set(key, event.incarnation);
        return undefined;
      }
      default:
        return undefined;
    }
  }
}

/**
 * Agreement: every running node lists every other running node's current version as alive (or
 * suspect), and lists no other version as alive. Returns the disagreements found, at most `max`.
 */
export function disagreements(sim: RunningNodes, max = 10): string[] {
  const found: string[] = [];
  const up = sim.upNodes();
  const running = new Map(up.map((node) => [node.address, node.core!.version]));
  for (const observer of up) {
    const core = observer.core!;
    for (const other of up) {
      if (other === observer || core.listsLive(other.address, other.core!.version)) continue;
      const seen = core.lookup(other.address);
      if (seen === undefined || seen.removed || seen.version !== other.core!.version) {
        found.push(`${observer.address} does not list ${other.id} as a member`);
      } else if (!isLive(seen.status)) {
        found.push(`${observer.address} lists ${other.id} as ${statusNames[seen.status]}`);
      }
      if (found.length >= max) return found;
    }
    if (core.liveCount !== up.length) {
      for (const view of core.members()) {
        if (
          isLive(view.status) &&
          running.get(view.address) !== view.version
        ) {
          found.push(
            `${observer.address} lists ${memberId(view.address, view.version)} as ${
              statusNames[view.status]
            }, but it is not running`,
          );
          if (found.length >= max) return found;
        }
      }
    }
  }
  return found;
}

/** True when every running node lists exactly the running nodes as alive or suspect. */
export function converged(sim: RunningNodes): boolean {
  const up = sim.upNodes();
  for (const node of up) {
    if (!node.joined || node.core!.liveCount !== up.length) return false;
  }
  return disagreementsQuick(sim, up.length);
}

function disagreementsQuick(sim: RunningNodes, count: number): boolean {
  // Counting is enough unless a ghost and a missing member cancel out; check fully when small.
  return count > 200 || disagreements(sim, 1).length === 0;
}
