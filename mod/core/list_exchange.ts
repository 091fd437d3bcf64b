/**
 * Whole lists, over TCP: a joiner gets the whole list from the member it joins through, and a
 * node that keeps hearing of more members than it lists (or that doubts its list, `recovery.ts`)
 * pushes its list to a member and gets back what it lacked.
 */
import type { Config } from "./config.ts";
import type { Datagrams } from "./datagram.ts";
import type { Endings } from "./ending.ts";
import type { LocalHealth } from "./local_health.ts";
import { type MemberTable, noEntryStatus } from "./member_table.ts";
import type { Merger } from "./merge.ts";
import type { CoreCounters, Outputs } from "./outputs.ts";
import type { Recovery } from "./recovery.ts";
import type { Self } from "./self.ts";
import type { SettingsSwitch } from "./settings.ts";
import {
  type Address,
  type Entry,
  type JoinRequest,
  type JoinResponse,
  type Settings,
  Status,
  type SyncRequest,
  type SyncResponse,
} from "./types.ts";
import type { UserEvents } from "./user_events.ts";
import type { Watch } from "./watch.ts";

/** The parts whole lists are built from and merged into. */
export interface ListParts {
  readonly config: Config;
  readonly table: MemberTable;
  readonly self: Self;
  readonly watch: Watch;
  readonly health: LocalHealth;
  readonly settings: SettingsSwitch;
  readonly endings: Endings;
  readonly recovery: Recovery;
  readonly merger: Merger;
  readonly datagrams: Datagrams;
  readonly outputs: Outputs;
  readonly counters: CoreCounters;
  readonly userEvents: UserEvents;
}

/** Joins, list exchanges, and noticing when one is needed. */
export class ListExchange {
  readonly #p: ListParts;
  #behindSinceMs: number | undefined;
  #bestCount = 0;
  #bestPeer: Address = "";
  #bestHeardMs = -Infinity;
  #lastSyncMs = -Infinity;

  constructor(parts: ListParts) {
    this.#p = parts;
  }

  /**
   * A node that keeps hearing of more members than it lists has missed some news: after a window
   * of that (`syncAfterMs`, longer in a larger cluster), it asks the best-informed sender for its
   * whole list (at most every `syncIntervalMs`). A sender's count leaves out the members it
   * suspects, and is compared with all this node lists, suspects included: a member lacked is
   * one the sender vouches for and this node does not list at all.
   */
  compareCounts(nowMs: number, members: number, from: Address): void {
    const { config, merger } = this.#p;
    // News reaches every member in about log(members) rounds: a node that lacks a member for less
    // than that is most likely still to hear of it by gossip. Asking for a whole list sooner would
    // make every join in a large cluster cost hundreds of whole-list exchanges.
    const windowMs = config.syncAfterMs *
      Math.ceil(Math.log10(this.#p.table.live.size + 2) / 2);
    // The best count heard lately, and from whom: a lower count from a node that is itself
    // behind does not hide it.
    if (members >= this.#bestCount || nowMs - this.#bestHeardMs > 2 * config.syncAfterMs) {
      this.#bestCount = members;
      this.#bestPeer = from;
      this.#bestHeardMs = nowMs;
    }
    // Members this node saw fail or leave a moment ago are still counted by senders the news has
    // not reached yet: that difference is news in flight, not members this node lacks. Without
    // this, every failure would send most of the cluster to exchange whole lists.
    const gap = this.#bestCount - this.#p.self.liveCount -
      this.#p.endings.recentEndCount(nowMs, windowMs);
    if (gap <= 0) {
      this.#behindSinceMs = undefined;
      return;
    }
    if (this.#behindSinceMs === undefined) {
      this.#behindSinceMs = nowMs;
      merger.learned = 0;
      return;
    }
    // While gossip brings new members faster than the gap (a wave of joins), it is at work. Every
    // window of being behind, a node that gossip brought fewer new members than it still lacks
    // asks for a whole list.
    if (nowMs - this.#behindSinceMs < windowMs) return;
    const slow = merger.learned < gap;
    this.#behindSinceMs = nowMs;
    merger.learned = 0;
    if (slow && nowMs - this.#lastSyncMs >= config.syncIntervalMs) {
      this.#lastSyncMs = nowMs;
      this.#p.outputs.sync(this.#bestPeer);
    }
  }

  /** The request that opens a list exchange: this node's whole list. */
  request(): SyncRequest {
    return { kind: "sync-request", settings: this.#p.settings.current, entries: this.#fullList() };
  }

  /**
   * Merges a list another node pushed, and answers with what that list lacked or had older:
   * this node's own entry and every entry the requester did not hold as this node does. A node
   * that doubts its own list (after a long stall) does not answer: its list leaves out what it
   * doubts, and a requester that doubts too would take that to be gone and end healthy members.
   */
  accept(nowMs: number, request: SyncRequest, from: Address): SyncResponse | undefined {
    const mark = this.#mergeList(nowMs, request.settings, request.entries, from);
    if (this.#p.recovery.doubting) return undefined;
    const { table, datagrams } = this.#p;
    const entries: Entry[] = [this.#p.self.entryWithTags];
    for (let i = 0; i < table.present.size; i++) {
      const slot = table.present.at(i);
      if (!table.stamped(slot, mark)) entries.push(datagrams.listEntry(slot));
    }
    return { kind: "sync-response", settings: this.#p.settings.current, entries };
  }

  /**
   * Merges the list that answered this node's request, which it sent at `askedMs`. An answer to
   * a request sent before this node last stalled settles none of the doubts of that stall: it
   * may have been written before the stall, and read only after.
   */
  apply(nowMs: number, response: SyncResponse, from: Address, askedMs: number): void {
    this.#mergeList(nowMs, response.settings, response.entries, from);
    const recovery = this.#p.recovery;
    const settles = recovery.settles(askedMs);
    if (!this.#p.self.active || (!settles && !recovery.confirming)) return;
    const listed = this.#listedSlots(response.entries);
    if (settles) recovery.settle(nowMs, listed);
    for (const slot of listed) recovery.confirm(slot);
  }

  /** Admits a joiner and answers with the whole list, or refuses it with a reason. */
  acceptJoin(nowMs: number, request: JoinRequest): JoinResponse {
    const { table, self, counters } = this.#p;
    const refuse = (reason: string): JoinResponse => {
      counters.joinsRefused++;
      return { kind: "join-response", accepted: false, reason };
    };
    if (!self.active) return refuse("this member is leaving the group");
    this.#p.health.heard(nowMs);
    const joiner = request.entry;
    if (joiner.address === self.address) return refuse(`${joiner.address} is this member's own`);
    if (joiner.status !== Status.Alive) return refuse("a joiner must be alive");
    const ended = this.#p.endings.endedVersionOf(joiner.address);
    if (ended !== undefined && joiner.version <= ended) {
      return refuse(
        `version ${joiner.version} of ${joiner.address} is not newer than ${ended}, already seen`,
      );
    }
    const slot = table.book.find(joiner.address);
    if (table.hasRow(slot)) {
      const known = table.version(slot);
      // The same version, still listed alive or suspect, is the joiner asking again because the
      // answer was lost or late: answer again. Only an ended or older version is refused.
      const retry = known === joiner.version && table.listedLive(slot);
      if (known >= joiner.version && !retry) {
        return refuse(
          `version ${joiner.version} of ${joiner.address} is not newer than ${known}, already seen`,
        );
      }
    }
    this.#p.merger.entry(nowMs, joiner, "join", joiner.address);
    const joined = table.book.find(joiner.address);
    if (joined < 0 || table.status(joined) === noEntryStatus) return refuse("member table full");
    this.#p.watch.heard(joined, nowMs, true);
    counters.joinsAccepted++;
    const eventClock = this.#p.userEvents.clock;
    return {
      kind: "join-response",
      accepted: true,
      settings: this.#p.settings.current,
      entries: this.#fullList(),
      ...(eventClock === 0 ? {} : { eventClock }),
    };
  }

  /**
   * Adopts the list a member answered a join with. The cluster's settings replace this node's,
   * unless gossip has already brought it later ones (a join retried after a slow first answer).
   */
  applyJoinResponse(nowMs: number, response: JoinResponse, from: Address): void {
    if (!response.accepted || !this.#p.self.active) return;
    this.#p.health.heard(nowMs);
    this.#p.userEvents.joined(response.eventClock ?? 0);
    this.#p.settings.mergeJoined(nowMs, response.settings, from);
    for (const entry of response.entries) {
      if (entry.address !== this.#p.self.address) {
        this.#p.merger.entry(nowMs, entry, "list", from, false);
      }
    }
  }

  /** This node's whole list, itself first, with the tombstones it passes on. */
  #fullList(): Entry[] {
    const { table, datagrams } = this.#p;
    const entries: Entry[] = [this.#p.self.entryWithTags];
    for (let i = 0; i < table.present.size; i++) {
      entries.push(datagrams.listEntry(table.present.at(i)));
    }
    return entries;
  }

  /**
   * Merges a whole list. Returns a mark on the rows the list held exactly as this node now holds
   * them (same version, incarnation and status).
   */
  #mergeList(
    nowMs: number,
    settings: Settings,
    entries: readonly Entry[],
    from: Address,
  ): number {
    const { table, self, merger } = this.#p;
    const mark = table.nextStamp();
    if (!self.active) return mark;
    this.#p.health.heard(nowMs);
    this.#p.settings.merge(nowMs, settings, from);
    const sender = entries[0];
    for (const entry of entries) {
      if (entry.address === self.address) {
        if (sender !== undefined) merger.aboutSelf(nowMs, entry, sender);
        if (!self.active || merger.restartVia !== undefined) return mark;
        continue;
      }
      merger.entry(nowMs, entry, "list", from, false);
      const slot = table.book.find(entry.address);
      if (slot < 0 || slot >= table.capacity) continue;
      if (
        table.version(slot) === entry.version && table.status(slot) === entry.status &&
        table.incarnation(slot) === entry.incarnation &&
        (entry.tagsVersion ?? 0) === table.tagsVersion(slot)
      ) table.stamp(slot, mark);
    }
    return mark;
  }

  /** The slots whose version in `entries` is the one this node holds, whatever its status. */
  #listedSlots(entries: readonly Entry[]): number[] {
    const table = this.#p.table;
    const listed: number[] = [];
    for (const entry of entries) {
      const slot = table.book.find(entry.address);
      if (table.hasRow(slot) && table.version(slot) === entry.version) listed.push(slot);
    }
    return listed;
  }
}
