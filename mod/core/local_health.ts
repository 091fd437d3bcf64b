/**
 * Local health: whether this node hears from anyone at all.
 *
 * A node that has heard from no member for `isolatedAfterMs` is isolated: its link is down, every
 * datagram to it is dropped, or everyone else is gone. From where it stands a cut and the crash
 * of every other member look alike, and were it to fail its silent neighbours, a cut of a few
 * seconds would end with it telling the whole cluster that healthy members failed. So while
 * isolated it concludes nothing from silence: a silent neighbour is suspected and failed only on
 * proof that it is gone, a probe whose connection was refused (the host answered, and no process
 * holds the port). When it hears from a member again, its silence clocks restart, as after a
 * stall.
 *
 * A group cut off together still hears itself, so it is not isolated, and it fails the rest of
 * the cluster as the rest fails it, at about the same moment: a cut that heals just then leaves
 * the two waves of news racing, and a member of the larger side that hears the smaller side's
 * FAILs before it hears that their sender failed takes them up. So a node that finds most of the
 * neighbours it watches silent at once (the cut's mark: a few members of its own side among many
 * of the other), or much of the cluster suspected (its fellows in the cut group suspect the rest
 * within a second), doubts itself: it puts off failing its silent neighbours by `selfDoubtMs`,
 * time for the larger side to fail it and spread the news first, after which its word is not
 * taken. (Suspicions are not put off: the suspect refutes one when it hears of it.) Once most are
 * heard again, the rest get a probe's delay to be heard too, since they went silent for the same
 * reason.
 */
import type { Config } from "./config.ts";
import type { MemberTable } from "./member_table.ts";
import type { CoreCounters } from "./outputs.ts";
import type { Watch } from "./watch.ts";

/** Refusals remembered at most: one per neighbour is all that is ever needed. */
const refusalsMax = 256;

/** Whether this node hears from anyone, and which silent neighbours are proven gone. */
export class LocalHealth {
  readonly #watch: Watch;
  readonly #table: MemberTable;
  readonly #isolatedAfterMs: number;
  #lastHeardMs: number;
  /**
   * Neighbours whose probe was refused, and the version refused: gone for good, since a process
   * that starts again on the port is a new version.
   */
  readonly #refused = new Map<number, number>();

  readonly #probeAfterMs: number;
  readonly #selfDoubtMs: number;
  readonly #counters: CoreCounters;

  constructor(
    table: MemberTable,
    watch: Watch,
    config: Config,
    counters: CoreCounters,
    nowMs: number,
  ) {
    this.#table = table;
    this.#watch = watch;
    this.#isolatedAfterMs = config.isolatedAfterMs;
    this.#probeAfterMs = config.probeAfterMs;
    this.#selfDoubtMs = config.selfDoubtMs;
    this.#counters = counters;
    this.#lastHeardMs = nowMs;
  }

  /** The neighbours silent when a check last found this node in doubt (`doubtsSelf`). */
  #silentInDoubt: number[] = [];
  /**
   * A doubt that ended as the silent were heard again (a cut healed): failures come no sooner
   * than this, a probe's delay after it ended.
   */
  #healedDoubtMs = -Infinity;

  #doubting = false;

  /** Notes whether this node is in doubt now (a check of its neighbours' silence). */
  noteSelfDoubt(nowMs: number): void {
    const wasDoubting = this.#doubting;
    this.#doubting = this.doubtsSelf(nowMs);
    if (this.#doubting) {
      if (!wasDoubting) this.#counters.selfDoubts++;
      this.#silentInDoubt = this.#silent(nowMs);
      return;
    }
    if (!wasDoubting) return;
    // Ended by hearing the silent again, not by their leaving the ring (failed by others, as
    // when many crash at once, which must not put off the failures of the rest further).
    const watch = this.#watch;
    const neighbors = watch.neighbors();
    if (this.#silentInDoubt.some((slot) => neighbors.has(slot) && !this.#isSilent(slot, nowMs))) {
      this.#healedDoubtMs = nowMs;
    }
    this.#silentInDoubt = [];
  }

  /**
   * When the silence of a neighbour that runs out at `dueMs` fails it (`dueMs` but for a doubt):
   * in doubt then, `selfDoubtMs` later. After a doubt that ended as the silent were heard again,
   * no sooner than a probe's delay from its end: a cut that healed is heard member by member,
   * and the neighbours not yet heard when most are went silent for the same reason.
   */
  dueAfterSelfDoubt(dueMs: number): number {
    if (this.doubtsSelf(dueMs)) return dueMs + this.#selfDoubtMs;
    return Math.max(dueMs, this.#healedDoubtMs + this.#probeAfterMs);
  }

  /** True when the neighbour at `slot` will have been silent for a probe's delay at `atMs`. */
  #isSilent(slot: number, atMs: number): boolean {
    return !this.provenGone(slot) && this.#watch.silentSinceMs(slot) + this.#probeAfterMs <= atMs;
  }

  /** The neighbours silent at `atMs` (`#isSilent`). */
  #silent(atMs: number): number[] {
    return [...this.#watch.neighbors()].filter((slot) => this.#isSilent(slot, atMs));
  }

  /**
   * True when, at `atMs`, most of the neighbours this node watches will have been silent for a
   * probe's delay at least, unless heard from before (those proven gone aside), or more than 40%
   * of the members it lists are suspects now: from where it stands, most of its neighbours (or
   * of the cluster, as its fellow watchers report) going silent together is more likely its own
   * link failing, or the cut of a group it is in, than that many crashing at once. The suspects say
   * so to a member of a cut group whose own neighbours were mostly cut with it.
   */
  doubtsSelf(atMs: number): boolean {
    if (this.#selfDoubtMs === 0) return false;
    // More than 40% of the members listed, this node too: the larger side of a cut of up to a
    // third sees a third suspected at most. And three at least: in a cluster of a few, one or two
    // suspects are no sign of a cut.
    const suspects = this.#table.suspects;
    if (suspects >= 3 && 5 * suspects > 2 * (this.#table.live.size + 1)) return true;
    const watch = this.#watch;
    let watched = 0;
    let silent = 0;
    for (const slot of watch.neighbors()) {
      if (!this.#table.listedLive(slot)) continue;
      watched++;
      if (this.#isSilent(slot, atMs)) silent++;
    }
    return 2 * silent > watched;
  }

  /** When this node is, or will be, isolated unless it hears from a member before. */
  get isolatedFromMs(): number {
    return this.#lastHeardMs + this.#isolatedAfterMs;
  }

  /** True when the node is isolated at `nowMs`. */
  isolated(nowMs: number): boolean {
    return nowMs >= this.isolatedFromMs;
  }

  /** Notes a message from another member; one that ends an isolation restarts the clocks. */
  heard(nowMs: number): void {
    if (this.isolated(nowMs)) this.#watch.trustFrom(nowMs);
    this.#lastHeardMs = nowMs;
  }

  /** Notes that a probe of the member at `slot` was refused. */
  refused(slot: number): void {
    if (this.#refused.size >= refusalsMax) this.#refused.clear();
    this.#refused.set(slot, this.#table.version(slot));
  }

  /** True when the member at `slot`, at the version listed, was proven gone. */
  provenGone(slot: number): boolean {
    const version = this.#refused.get(slot);
    return version !== undefined && version === this.#table.version(slot);
  }

  /**
   * True when silence of the neighbour at `slot` that ran out at `dueMs` may be acted on: it ran
   * out before this node was isolated, or the neighbour was proven gone.
   */
  concludes(slot: number, dueMs: number): boolean {
    return dueMs < this.isolatedFromMs || this.provenGone(slot);
  }
}
