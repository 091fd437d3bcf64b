/**
 * The rules every driver of a {@linkcode Core} follows, written once for the daemon's shell and
 * the simulator alike, so that the simulator runs the daemon minus its sockets and its clock:
 *
 * - No gossip is taken before the node's join is answered: until then it is not a member, and
 *   gossip (heartbeats meant for an earlier version at its address, say) would list it
 *   everywhere before it joined, or though its join then fails.
 * - At most `probesInFlightMax` probes of silent neighbours wait for their answers at once; the
 *   rest of a burst is skipped (and counted), since each holds a TCP connection for up to the
 *   probe timeout. Probes that ask other members about a silent neighbour (far-side watchers,
 *   indirect probes) have a budget of their own, `secondProbesInFlightMax`: a node that hears
 *   nothing asks about every neighbour at once, and those must not crowd out the probes of the
 *   neighbours themselves. A probe asking a member to confirm itself after a stall is sent whatever else
 *   is in flight: the core asks at most `probesInFlightMax` at a time, and one not asked would be
 *   ended.
 * - At most `relaysInFlightMax` indirect probes made on other members' behalf at once; a request
 *   for one more is answered without it, from what this node knows.
 * - One list exchange at a time: a node that asks for a whole list while one is on its way would
 *   only merge the same list twice.
 *
 * A driver keeps one instance per process (a restart starts afresh) and reports each request's
 * end, answered or timed out, exactly once.
 */
import type { OutgoingProbe } from "./types.ts";

/** Probes of silent neighbours waiting for an answer at once, at most. */
export const probesInFlightMax = 8;
/**
 * Probes asking other members about silent neighbours waiting at once, at most: four a silence
 * (a far-side watcher, three indirect), so four silences at once.
 */
export const secondProbesInFlightMax = 16;
/** Indirect probes made on other members' behalf at once, at most. */
export const relaysInFlightMax = 8;

/** What one process may hand its core, and what it may send, at a given moment. */
export class DriverRules {
  #joined = false;
  #probesInFlight = 0;
  #secondProbesInFlight = 0;
  #syncing = false;
  #relaysInFlight = 0;
  /** Probes of silent neighbours not sent because `probesInFlightMax` were in flight. */
  probesSkipped = 0;
  /** Probes asking about silent neighbours not sent: `secondProbesInFlightMax` were in flight. */
  secondProbesSkipped = 0;

  /** Notes that the join was answered (or that this node started the cluster). */
  joined(): void {
    this.#joined = true;
  }

  /** True once gossip may be handed to the core. */
  get takesGossip(): boolean {
    return this.#joined;
  }

  /** True, and counted as in flight, when `probe` may be sent now; the driver then sends it. */
  beginProbe(probe: OutgoingProbe): boolean {
    if (!this.#joined) return false;
    if (probe.second === true) {
      if (this.#secondProbesInFlight >= secondProbesInFlightMax) {
        this.secondProbesSkipped++;
        return false;
      }
      this.#secondProbesInFlight++;
      return true;
    }
    if (probe.confirm !== true && this.#probesInFlight >= probesInFlightMax) {
      this.probesSkipped++;
      return false;
    }
    this.#probesInFlight++;
    return true;
  }

  /** Notes that a probe `beginProbe` let through was answered or timed out. */
  endProbe(probe: Pick<OutgoingProbe, "second">): void {
    if (probe.second === true) this.#secondProbesInFlight--;
    else this.#probesInFlight--;
  }

  /** True, and counted as in flight, when an indirect probe for another member may start now. */
  beginRelay(): boolean {
    if (!this.#joined || this.#relaysInFlight >= relaysInFlightMax) return false;
    this.#relaysInFlight++;
    return true;
  }

  /** Notes that an indirect probe `beginRelay` let through was answered or timed out. */
  endRelay(): void {
    this.#relaysInFlight--;
  }

  /** True, and noted, when a list exchange may start now. */
  beginSync(): boolean {
    if (!this.#joined || this.#syncing) return false;
    this.#syncing = true;
    return true;
  }

  /**
   * Notes that the list exchange `beginSync` let through ended. A driver calls it before it hands
   * the answer to the core: a stall the answer reveals asks for a list again at once.
   */
  endSync(): void {
    this.#syncing = false;
  }
}
