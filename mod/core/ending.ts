/**
 * The end of a member's version: it failed or left (final for that version: fail-stop), it is
 * listed so for `cleanupAfterMs`, then kept as a tombstone for `tombstoneMs` so that stale gossip
 * cannot bring it back, then forgotten, its version still refused (`EndedVersions`). Every
 * `reconnectIntervalMs` a failed address is sent a gossip, so that a member alive there after all
 * (across a healed partition) hears that it failed and comes back as a new version.
 */
import type { Config } from "./config.ts";
import type { Datagrams } from "./datagram.ts";
import { type Deadline, DeadlineQueue } from "./deadline_queue.ts";
import { EndedVersions } from "./ended_versions.ts";
import type { MemberTable } from "./member_table.ts";
import type { News } from "./news.ts";
import type { Outputs } from "./outputs.ts";
import type { Random } from "./random.ts";
import { type Address, type EventKind, isTerminal, Status, type Via } from "./types.ts";
import type { Watch } from "./watch.ts";

/**
 * For this many sync windows after a member ended here, a sender still counting it is taken to
 * be behind on the news, not ahead: the best count heard lingers for twice `syncAfterMs`, and the
 * news takes a moment to reach everyone.
 */
const endGraceWindows = 3;
/** A bound on the ends remembered, so that a mass failure costs no more than this to track. */
const recentEndsMax = 4096;

/** The parts ending a member touches. */
export interface EndingParts {
  readonly config: Config;
  readonly table: MemberTable;
  readonly watch: Watch;
  readonly news: News;
  readonly outputs: Outputs;
  readonly datagrams: Datagrams;
  readonly random: Random;
}

/** Ends, cleanups, tombstones and the versions forgotten but still refused. */
export class Endings {
  /** Versions forgotten from the table, still refused; the failed ones still sent reconnects. */
  readonly ended: EndedVersions;
  readonly #p: EndingParts;
  readonly #cleanup = new DeadlineQueue();
  readonly #tombstones = new DeadlineQueue();
  /**
   * When members ended (failed or left) lately, oldest first, from `#recentEndsHead` on: news
   * others may not have yet.
   */
  readonly #recentEnds: number[] = [];
  #recentEndsHead = 0;
  #nextReconnectMs: number;

  constructor(parts: EndingParts, nowMs: number) {
    this.#p = parts;
    this.ended = new EndedVersions(parts.config.memberTableMax, parts.config.endedKeptMs);
    this.#nextReconnectMs = nowMs + parts.config.reconnectIntervalMs;
  }

  /** Cleanup and tombstone deadlines waiting: about twice the table's size at most. */
  get deadlinesWaiting(): number {
    return this.#cleanup.size + this.#tombstones.size;
  }

  /** The version of `address` that ended and was forgotten here, if any. */
  endedVersionOf(address: Address): number | undefined {
    return this.ended.size === 0 ? undefined : this.ended.versionOf(address);
  }

  /** The earliest deadline of this file's: a cleanup, a tombstone's end, a reconnect. */
  nextDeadlineMs(): number {
    let wake = Infinity;
    const cleanup = this.#cleanup.peek();
    if (cleanup !== undefined && cleanup.dueMs < wake) wake = cleanup.dueMs;
    const tombstone = this.#tombstones.peek();
    if (tombstone !== undefined && tombstone.dueMs < wake) wake = tombstone.dueMs;
    const reconnects = this.#p.table.failed.size + this.ended.size;
    if (reconnects > 0 && this.#nextReconnectMs < wake) wake = this.#nextReconnectMs;
    return wake;
  }

  /** Ends a live member's version: it failed or left. */
  end(nowMs: number, slot: number, status: Status, via: Via, from?: Address, news = true): void {
    const { table, config } = this.#p;
    table.setStatus(slot, status, nowMs);
    table.present.add(slot);
    this.#p.watch.lose(nowMs, slot);
    if (status === Status.Failed) table.failed.add(slot);
    if (this.#recentEnds.length - this.#recentEndsHead < recentEndsMax) {
      this.#recentEnds.push(nowMs);
    }
    if (news) this.#p.news.announce(slot);
    this.#later(this.#cleanup, this.#deadline(slot, nowMs + config.cleanupAfterMs));
    const kind: EventKind = status === Status.Failed ? "FAIL" : "LEAVE";
    this.#emit(nowMs, kind, slot, via, from);
  }

  /**
   * Ends a member the cluster no longer knows. It stays as a failed tombstone, so that the
   * member, were it alive after all, is told so and comes back as a new version.
   */
  endStale(nowMs: number, slot: number): void {
    const table = this.#p.table;
    table.setStatus(slot, Status.Failed);
    table.setRemoved(slot, true);
    this.#p.watch.lose(nowMs, slot);
    this.#p.news.forget(slot);
    table.failed.add(slot);
    this.#later(this.#tombstones, this.#deadline(slot, nowMs + this.#p.config.tombstoneMs));
    this.#emit(nowMs, "REMOVE", slot, "stale");
  }

  /**
   * Keeps the row just stored of a member this node never saw alive as a tombstone: stale
   * gossip of that version cannot bring it in, but it is neither listed nor passed on.
   */
  tombstone(nowMs: number, slot: number, status: Status): void {
    const table = this.#p.table;
    table.setRemoved(slot, true);
    table.present.delete(slot);
    if (status === Status.Failed) table.failed.add(slot);
    this.#later(this.#tombstones, this.#deadline(slot, nowMs + this.#p.config.tombstoneMs));
  }

  /** Runs the cleanups and the tombstone ends that are due. */
  expire(nowMs: number): void {
    const table = this.#p.table;
    for (
      let item = this.#cleanup.peek();
      item && item.dueMs <= nowMs;
      item = this.#cleanup.peek()
    ) {
      this.#cleanup.shift();
      const slot = item.slot;
      if (!this.#holds(item) || table.removed(slot)) continue;
      table.setRemoved(slot, true);
      this.#p.news.forget(slot);
      this.#p.outputs.event(
        nowMs,
        "REMOVE",
        table.address(slot),
        item.version,
        table.incarnation(slot),
        "cleanup",
      );
      this.#later(this.#tombstones, { ...item, dueMs: nowMs + this.#p.config.tombstoneMs });
    }
    for (
      let item = this.#tombstones.peek();
      item && item.dueMs <= nowMs;
      item = this.#tombstones.peek()
    ) {
      this.#tombstones.shift();
      if (!this.#holds(item) || !table.removed(item.slot)) continue;
      this.#forget(nowMs, item.slot);
    }
  }

  /** How many members ended here within the last `endGraceWindows` windows; forgets older ones. */
  recentEndCount(nowMs: number, windowMs: number): number {
    const ends = this.#recentEnds;
    const graceMs = endGraceWindows * windowMs;
    let head = this.#recentEndsHead;
    while (head < ends.length && nowMs - ends[head] > graceMs) head++;
    // Forgotten ends are cut off once they are half the array: each is moved at most once.
    if (head > 0 && head * 2 >= ends.length) {
      ends.splice(0, head);
      head = 0;
    }
    this.#recentEndsHead = head;
    return ends.length - head;
  }

  /**
   * Every `reconnectIntervalMs`, a gossip to one failed address: one still in the table, or one
   * forgotten whose ended version is remembered.
   */
  reconnect(nowMs: number): void {
    if (nowMs < this.#nextReconnectMs) return;
    const { table, datagrams } = this.#p;
    this.#nextReconnectMs = nowMs + this.#p.config.reconnectIntervalMs;
    this.ended.expire(nowMs);
    const choices = table.failed.size + this.ended.size;
    if (choices === 0) return;
    const pick = this.#p.random.below(choices);
    if (pick < table.failed.size) {
      // Not a full gossip: its own entry, failed, is what it must hear, and a full one every
      // second for as long as a failure is remembered cost every node 1.4 KB/s more.
      datagrams.send(table.failed.at(pick), false);
      return;
    }
    const ended = this.ended.at(pick - table.failed.size);
    // A member that left is not looked for, nor one whose address the table holds again.
    if (!ended.failed || table.hasRow(table.book.find(ended.address))) return;
    datagrams.tellEnded(nowMs, ended.address, ended.version);
  }

  /** Forgets a tombstone: its version, if it ended, stays refused. */
  #forget(nowMs: number, slot: number): void {
    const table = this.#p.table;
    const status = table.status(slot);
    if (status !== 0 && isTerminal(status)) {
      const failed = status === Status.Failed;
      this.ended.add(table.address(slot), table.version(slot), failed, nowMs);
    }
    table.clear(slot);
    table.present.delete(slot);
    table.failed.delete(slot);
    this.#p.news.forget(slot);
    this.#p.datagrams.forget(slot);
    table.book.release(slot);
  }

  #emit(nowMs: number, kind: EventKind, slot: number, via: Via, from?: Address): void {
    this.#p.outputs.member(nowMs, kind, this.#p.table, slot, via, from);
  }

  /**
   * Queues a deadline. One whose row has since been forgotten or superseded waits in the queue
   * until it is due: a stream of entries forged to end at once (a new version of one address
   * each time) would fill the queue for the whole tombstone time. So once the queue is well past
   * the table's size, what no longer refers to the table is dropped.
   */
  #later(queue: DeadlineQueue, item: Deadline): void {
    queue.push(item);
    if (queue.size > 2 * this.#p.table.capacity + 1024) {
      queue.compact((waiting) => this.#holds(waiting));
    }
  }

  /** True when a queued deadline still refers to what the table holds. */
  #holds(item: Deadline): boolean {
    const table = this.#p.table;
    const slot = item.slot;
    return table.status(slot) !== 0 && table.version(slot) === item.version &&
      table.address(slot) === item.address;
  }

  #deadline(slot: number, dueMs: number): Deadline {
    const table = this.#p.table;
    return { slot, address: table.address(slot), version: table.version(slot), dueMs };
  }
}
