/**
 * Watching neighbours: a node watches only its ring neighbours (the nearest live members on each
 * side of a hash ring), and keeps, for each, since when it has been silent and whether that
 * silence was probed. What a silence leads to (a probe, a suspicion, a failure) is decided in
 * `suspicion.ts`; this file keeps the clocks it is decided by.
 */
import { type Config, relayProbeTimeoutMs } from "./config.ts";
import type { MemberTable } from "./member_table.ts";
import { Ring, ringHash } from "./ring.ts";
import type { Address } from "./types.ts";

/** Members remembered as asked and not answering, at most; then the memory starts afresh. */
const unansweredMax = 256;

/** A node's ring neighbours and the silence of each. */
export class Watch {
  readonly #table: MemberTable;
  readonly #ring: Ring;
  readonly #probeAfterMs: number;
  readonly #failAfterMs: number;
  readonly #neighborSince = new Map<number, number>();
  /**
   * Members probed as a witness or a helper about a silent neighbour, with when, that have not
   * answered nor been heard of since (`asked`, `answered`).
   */
  readonly #unanswered = new Map<number, number>();
  /**
   * Neighbours not heard from themselves since they became neighbours. Until one is, a heartbeat
   * of it passed on by another member does not end its silence, unless a fellow watcher that
   * heard it relays it: this node's copy of a member it did not watch is old, and another's copy,
   * newer, may be just as old (its owner crashed with the member's own watchers, when many crash
   * at once), so catching up proves nothing.
   */
  readonly #unheard = new Set<number>();
  /** The silence (its start, `silentSinceMs`) each neighbour was last probed for. */
  readonly #probedSilence = new Map<number, number>();
  /**
   * Silence before this is not held against anyone: a node that could not run for a while heard
   * nothing through no fault of the others, so after a stall its silence clocks restart.
   */
  trustSinceMs = -Infinity;

  /**
   * Holds no silence before `ms` against anyone (later than now for a view started afresh). Never
   * moves it back: an isolation that ends within a view's first interval does not shorten it.
   */
  trustFrom(ms: number): void {
    if (ms > this.trustSinceMs) this.trustSinceMs = ms;
  }

  constructor(
    table: MemberTable,
    config: Pick<Config, "ringNeighbors" | "probeAfterMs" | "failAfterMs">,
  ) {
    this.#table = table;
    this.#ring = new Ring(config.ringNeighbors);
    this.#probeAfterMs = config.probeAfterMs;
    this.#failAfterMs = config.failAfterMs;
  }

  /** Notes that a member was probed about a silent neighbour (as its witness, or a helper). */
  asked(slot: number, nowMs: number): void {
    if (this.#unanswered.has(slot)) return;
    if (this.#unanswered.size >= unansweredMax) this.#unanswered.clear();
    this.#unanswered.set(slot, nowMs);
  }

  /** Notes that a member answered a probe of this node's. */
  answered(slot: number): void {
    this.#unanswered.delete(slot);
  }

  /** The watched neighbours' slots. */
  neighbors(): ReadonlySet<number> {
    return this.#ring.neighbors();
  }

  /** The neighbours `slot` has in common with this node: its fellow watchers. */
  sharedWith(slot: number): readonly number[] {
    return this.#ring.sharedWith(slot);
  }

  /** The members beyond neighbour `slot` that watch it too, nearest first (`Ring.farWatchers`). */
  farWatchers(slot: number): number[] {
    return this.#ring.farWatchers(slot);
  }

  /** True for a neighbour not heard from itself since it became one. */
  unheard(slot: number): boolean {
    return this.#unheard.has(slot);
  }

  /** Places this node on the ring, as the version it now is. */
  setCenter(address: Address, version: number): void {
    this.#ring.setCenter(ringHash(address, version));
  }

  /**
   * Since when a neighbour has been silent, as far as this node can tell: silence before
   * `trustSinceMs` does not count, unless `trusted` (a member proven gone is silent however long
   * this node itself heard nothing).
   */
  silentSinceMs(slot: number, trusted = false): number {
    return Math.max(
      this.#unheard.has(slot) ? -Infinity : this.#table.heardMs(slot),
      this.#neighborSince.get(slot)!,
      trusted ? -Infinity : this.trustSinceMs,
    );
  }

  /** When a neighbour is to be probed: once per silence, `probeAfterMs` into it. */
  probeDeadline(slot: number): number {
    if (!this.#table.listedLive(slot)) return Infinity;
    const silentSince = this.silentSinceMs(slot);
    if (this.#probedSilence.get(slot) === silentSince) return Infinity;
    return silentSince + this.#probeAfterMs;
  }

  /** Notes that a neighbour was probed for its current silence. */
  probed(slot: number): void {
    this.#probedSilence.set(slot, this.silentSinceMs(slot));
  }

  /**
   * Notes that a member's heartbeat grew: `direct`ly from the member, or by word as good (a
   * refutation, a fellow watcher's relay), or as another member passed it on. A neighbour probed
   * in its last silence gets a new probe deadline from this new silence.
   */
  heard(slot: number, nowMs: number, direct: boolean): void {
    this.#table.setHeard(slot, nowMs);
    // On the gossip path, for every heartbeat that grew: the record is empty but after a probe.
    if (this.#unanswered.size > 0) this.#unanswered.delete(slot);
    if (direct) this.#unheard.delete(slot);
  }

  /** Notes that a member spoke for itself. */
  heardItself(slot: number): void {
    this.#unheard.delete(slot);
    this.#unanswered.delete(slot);
  }

  /**
   * True when an unheard neighbour's entry comes from a member likely to watch it too: a fellow
   * neighbour, or one beyond it on the far side (the answer to a probe with `about`).
   */
  relayedByWatcher(slot: number, from: Address): boolean {
    if (!this.#unheard.has(slot)) return false;
    const sender = this.#table.book.find(from);
    return sender >= 0 &&
      (this.#ring.sharedWith(slot).includes(sender) ||
        this.#ring.farWatchers(slot).includes(sender));
  }

  /** Places a member that became live on the ring. */
  offer(slot: number, address: Address, version: number, nowMs: number): void {
    if (this.#ring.offer(slot, ringHash(address, version))) this.#syncNeighbors(nowMs);
  }

  /** Takes a member that is no longer live off the list of live members and the ring. */
  lose(nowMs: number, slot: number): void {
    const live = this.#table.live;
    if (!live.has(slot)) return;
    live.delete(slot);
    this.#unanswered.delete(slot);
    if (this.#ring.lose(slot)) this.rebuild(nowMs);
  }

  /** Places every live member on the ring afresh (after this node took a new version). */
  rebuild(nowMs: number): void {
    const table = this.#table;
    const live = table.live;
    this.#ring.rebuild(
      (function* () {
        for (let i = 0; i < live.size; i++) {
          const slot = live.at(i);
          yield [slot, ringHash(table.address(slot), table.version(slot))] as [number, number];
        }
      })(),
    );
    this.#syncNeighbors(nowMs);
  }

  /**
   * Starts the silence clock of new neighbours now, as they were not watched before; but one
   * probed lately about a silent neighbour that has not answered in the time an answer takes, nor
   * been heard of since, is taken as silent already, `probeAfterMs` before it was asked (when a
   * crash takes a run of neighbouring members, the watcher that fails the first one has already
   * asked the next, that neighbour's far-side watcher, and heard nothing: without this, each
   * member of the run waited a whole detection time after the one before).
   */
  #syncNeighbors(nowMs: number): void {
    const neighbors = this.#ring.neighbors();
    for (const slot of this.#neighborSince.keys()) {
      if (!neighbors.has(slot)) {
        this.#neighborSince.delete(slot);
        this.#probedSilence.delete(slot);
        this.#unheard.delete(slot);
      }
    }
    for (const slot of neighbors) {
      if (this.#neighborSince.has(slot)) continue;
      const askedMs = this.#unanswered.get(slot);
      const unanswered = askedMs !== undefined && nowMs - askedMs >= relayProbeTimeoutMs &&
        nowMs - askedMs <= this.#failAfterMs;
      this.#neighborSince.set(slot, unanswered ? askedMs - this.#probeAfterMs : nowMs);
      this.#unheard.add(slot);
    }
  }
}
