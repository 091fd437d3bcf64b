/**
 * Merging what others say: one entry at a time into the member table (a new member, a newer
 * version, a heartbeat, a change of status), what they say of this node itself, and a whole
 * gossip with what it calls for in answer (telling the sender what it is behind on, or that it
 * ended).
 */
import type { Config } from "./config.ts";
import type { Datagrams } from "./datagram.ts";
import type { Endings } from "./ending.ts";
import type { LocalHealth } from "./local_health.ts";
import { type MemberTable, noEntryStatus } from "./member_table.ts";
import type { News } from "./news.ts";
import type { CoreCounters, Outputs } from "./outputs.ts";
import type { Recovery } from "./recovery.ts";
import type { Self } from "./self.ts";
import type { SettingsSwitch } from "./settings.ts";
import type { Suspicion } from "./suspicion.ts";
import { TagsMerger } from "./tags_merge.ts";
import {
  type Address,
  type Entry,
  type GossipFields,
  isAhead,
  isTerminal,
  Status,
  type Via,
} from "./types.ts";
import type { UserEvents } from "./user_events.ts";
import type { Watch } from "./watch.ts";

/** The parts a merge reads and changes. */
export interface MergeParts {
  readonly config: Config;
  readonly table: MemberTable;
  readonly self: Self;
  readonly watch: Watch;
  readonly health: LocalHealth;
  readonly news: News;
  readonly settings: SettingsSwitch;
  readonly endings: Endings;
  readonly suspicion: Suspicion;
  readonly recovery: Recovery;
  readonly datagrams: Datagrams;
  readonly outputs: Outputs;
  readonly counters: CoreCounters;
  readonly userEvents: UserEvents;
}

/** Merges entries and gossip into this node's state. */
export class Merger {
  readonly #p: MergeParts;
  /**
   * Members the gossip being merged lists as live that this node holds as failed or left: its
   * sender is told, once a round, instead of waiting for the news to reach it by chance.
   */
  #behind: number[] | undefined;
  /** The array `#behind` is while a gossip is merged, used again each time. */
  readonly #behindSlots: number[] = [];
  /**
   * Members whose tags the gossip being merged gives an older version of than this node holds:
   * its sender is told them, with the tags, in the same datagram. A member that first heard of
   * another without its tags (in a slice of a list, a neighbour's relay) would otherwise wait
   * for news the spread may already have passed it by with.
   */
  #tagsBehind: number[] | undefined;
  readonly #tagsBehindSlots: number[] = [];
  /** Members gossip brought in as news since the list exchange last looked (`list_exchange.ts`). */
  learned = 0;
  /**
   * Set when a larger side of a healed cut told this node that it failed: the member that told
   * it, through whom the facade starts this node's view afresh (`core.ts`).
   */
  restartVia: Entry | undefined;
  /**
   * Until then, news that a member failed or left is not taken, by gossip or in a list, unless
   * the member says it itself: set for a view started afresh after a cut, while members of the
   * smaller side that have not yet been told they failed still gossip what they concluded while
   * cut off, and this new view does not know yet to hold them as failed. Its teller may be one
   * of them (a member of the larger side that failed nobody cannot tell), so the teller's list
   * brings only the live; the failures that are true come by gossip and lists after.
   */
  #endsHeardFromMs: number;
  /**
   * True when news by gossip that a member failed or left is taken: unless the member itself says
   * it (a leave), not while this node doubts its list after a stall (`recovery.ts`), nor in a
   * view started afresh (`#endsHeardFromMs`, read in `entry`). A stalled node cannot tell which
   * side of a cut that healed meanwhile a sender was on, and the smaller side's members still
   * gossip what they concluded while cut off; taken here, their FAILs would be passed on to
   * members that never heard them. The list that settles its doubts brings the failures that are
   * true.
   */
  #takesEnd(entry: Entry, from: Address): boolean {
    return !this.#p.recovery.doubting || entry.address === from;
  }

  readonly #tags: TagsMerger;
  /** Heartbeats sent in `suspectAfterMs`: how far news of a failure may lag (`#stale`). */
  readonly #staleBeats: number;

  constructor(parts: MergeParts, endsHeardFromMs = -Infinity) {
    this.#p = parts;
    this.#tags = new TagsMerger(parts);
    this.#endsHeardFromMs = endsHeardFromMs;
    this.#staleBeats = Math.ceil(parts.config.suspectAfterMs / parts.config.gossipIntervalMs);
  }

  /**
   * Merges a gossip (a datagram, a probe or its answer) and answers what it calls for. Returns
   * false when the gossip was not taken in whole: from this node itself, empty, or while this
   * node is not active (or ceased to be while merging it).
   */
  gossip(nowMs: number, message: GossipFields): boolean {
    const { self, table, datagrams, recovery } = this.#p;
    if (!self.active) return false;
    const entries = message.entries;
    if (entries.length === 0) return false;
    const sender = entries[0];
    if (sender.address === self.address) return false;
    this.#p.health.heard(nowMs);
    this.#p.counters.gossipReceived++;
    const senderSlot = table.book.find(sender.address);
    if (
      table.hasRow(senderSlot) && table.version(senderSlot) === sender.version &&
      table.status(senderSlot) === Status.Failed
    ) {
      this.#fromFailed(nowMs, message, senderSlot);
      return false;
    }
    // A version that has ended (a newer one is listed, or it was forgotten) speaks for a process
    // that is gone or has moved on, from datagrams sent before: none of it is taken, it is told.
    const ended = table.hasRow(senderSlot)
      ? table.version(senderSlot) > sender.version
      : (this.#p.endings.endedVersionOf(sender.address) ?? 0) >= sender.version;
    if (ended) {
      this.#p.counters.gossipFromFailed++;
      if (this.#aboutSelfOnly(nowMs, message)) {
        datagrams.tellEnded(nowMs, sender.address, sender.version);
      }
      return false;
    }
    this.#p.settings.merge(nowMs, message.settings, sender.address);
    let reply = false;
    const behind = this.#behind = this.#behindSlots;
    behind.length = 0;
    const tagsBehind = this.#tagsBehind = this.#tagsBehindSlots;
    tagsBehind.length = 0;
    try {
      for (const entry of entries) {
        if (entry.address === self.address) {
          if (this.aboutSelf(nowMs, entry, sender, message.members)) reply = true;
        } else if (!isTerminal(entry.status) || this.#takesEnd(entry, sender.address)) {
          this.entry(nowMs, entry, "gossip", sender.address);
        }
        if (!self.active || this.restartVia !== undefined) return false;
      }
    } finally {
      this.#behind = undefined;
      this.#tagsBehind = undefined;
    }
    if (message.userEvents !== undefined) {
      this.#p.userEvents.receive(nowMs, message.userEvents, sender.address);
    }
    if (behind.length > 0 || tagsBehind.length > 0) {
      datagrams.tellBehind(nowMs, sender.address, behind, tagsBehind);
    }
    // A sender this node holds as failed, or as an older version, is told so: it then comes back
    // as a new version instead of talking on as a ghost.
    const slot = table.book.find(sender.address);
    if (table.hasRow(slot)) {
      const known = table.version(slot);
      // An older version's row is gone, superseded: the sender is told its version ended.
      if (known > sender.version) datagrams.tellEnded(nowMs, sender.address, sender.version);
      if (known === sender.version && table.status(slot) === Status.Failed) reply = true;
    }
    if (reply && slot >= 0) datagrams.reply(nowMs, slot);
    if (recovery.confirming) recovery.confirmSender(sender);
    recovery.askOf(nowMs, sender.address);
    return true;
  }

  /**
   * Gossip from a member this node holds as failed, at that version: it is told so, and only what
   * it says of this node is read. The rest is what it concluded while it was cut off from this
   * node (that members this node hears well failed, say), and is not taken up: a cut-off member
   * whose conclusions spread when its link came back would restart the cluster's membership.
   */
  #fromFailed(nowMs: number, message: GossipFields, senderSlot: number): void {
    this.#p.counters.gossipFromFailed++;
    if (this.#aboutSelfOnly(nowMs, message)) this.#p.datagrams.reply(nowMs, senderSlot);
  }

  /**
   * Reads, of a gossip from a member whose word is not taken, only what it says of this node,
   * as a claim from the other side of a cut. True while this node is still the same version.
   */
  #aboutSelfOnly(nowMs: number, message: GossipFields): boolean {
    const self = this.#p.self;
    const sender = message.entries[0];
    for (const entry of message.entries) {
      if (entry.address !== self.address) continue;
      this.aboutSelf(nowMs, entry, sender, message.members, true);
      if (!self.active || this.restartVia !== undefined) return false;
    }
    return true;
  }

  /**
   * Merges what another node (`from`, whose own entry it is, vouching for `fromCount` members,
   * `Self.vouchedCount`; a list carries no count, and is read as from a side no smaller) says about
   * this node;
   * returns true when the sender should be told.
   *
   * Told that this version failed, a node comes back as a new version (fail-stop), and starts its
   * list afresh through the teller (`restartVia`), as a restarted process would: whatever made
   * the others fail it (a cut, a pause, a machine that slept) may have left its list as wrong as
   * it was, and a list kept would pass on what it concluded meanwhile. But after a cut heals,
   * both sides tell the other that it failed, and only the smaller side is wrong: a teller of the
   * `otherSide` (this node holds it as failed in turn, or its version ended here) vouching for
   * fewer members than this node does (each counts itself and not the other, so a side one member
   * smaller is smaller) is of the smaller side, and is not believed.
   *
   * Nor is any teller that counts fewer than half as many members as this node, unless this node
   * doubts its own list after a stall: that is a view of a cut's smaller side (a process that
   * joined through one of its members, a member whose watchers were all cut with it), whose
   * failures were decided without hearing the rest. The teller is told that its version ended
   * instead, and comes back as a new version with a list from this node.
   */
  aboutSelf(
    nowMs: number,
    entry: Entry,
    from: Entry,
    fromCount = Infinity,
    otherSide = false,
  ): boolean {
    const self = this.#p.self;
    if (entry.version < self.version) return false;
    if (entry.version > self.version) {
      self.rejoin(nowMs, entry.version + 1, "gossip", from.address);
      return false;
    }
    if (entry.status === Status.Failed || entry.status === Status.Left) {
      if (otherSide && fromCount < self.vouchedCount) {
        this.#p.counters.accusationsRefused++;
        return false;
      }
      if (2 * fromCount < self.vouchedCount && !this.#p.recovery.doubting) {
        this.#p.counters.accusationsRefused++;
        this.#p.datagrams.tellEnded(nowMs, from.address, from.version);
        return false;
      }
      this.restartVia ??= from;
      return false;
    }
    return this.#p.suspicion.refute(nowMs, entry, from.address);
  }

  /**
   * Merges one entry about another member. `news` is false for whole lists (a join response, a
   * list exchange): what they bring is old to the cluster, so this node does not retransmit it.
   */
  entry(nowMs: number, entry: Entry, via: Via, from: Address, news = true): void {
    const { table, counters } = this.#p;
    // A view started afresh takes no member's end but the member's own for a list interval, in a
    // list either: its teller may be of a healed cut's smaller side, and a failure taken from it
    // would be told to the member itself as it spoke (below), which would believe it.
    if (isTerminal(entry.status) && nowMs < this.#endsHeardFromMs && entry.address !== from) return;
    const ended = this.#p.endings.endedVersionOf(entry.address);
    if (ended !== undefined && entry.version <= ended) {
      // Ended and forgotten here: a sender still speaking as that version is told it failed.
      counters.entriesStale++;
      if (entry.address === from && !isTerminal(entry.status)) {
        this.#p.datagrams.tellEnded(nowMs, from, ended);
      }
      return;
    }
    if (this.#p.recovery.refuses(entry, via)) return;
    const slot = table.book.intern(entry.address);
    if (slot < 0) {
      counters.entriesDroppedTableFull++;
      return;
    }
    if (slot >= table.capacity) table.grow();
    if (table.status(slot) !== noEntryStatus) {
      const known = table.version(slot);
      if (entry.version < known) {
        counters.entriesStale++;
        return;
      }
      if (entry.version === known) {
        this.#sameVersion(nowMs, slot, entry, via, from, news);
        return;
      }
      this.#supersede(nowMs, slot, from);
    }
    table.store(slot, entry, nowMs);
    if (isTerminal(entry.status)) {
      // A member this node never saw alive: remembered as a tombstone, so that stale gossip of
      // that version cannot bring it in, but neither listed nor passed on. Were it passed on, a
      // member whose own tombstone had just run out would hear it back and start it afresh, and
      // the cluster would keep the dead member for ever.
      this.#p.endings.tombstone(nowMs, slot, entry.status);
      return;
    }
    table.present.add(slot);
    table.live.add(slot);
    this.#p.watch.offer(slot, entry.address, entry.version, nowMs);
    if (from === entry.address) this.#p.watch.heardItself(slot);
    if (news) {
      this.#p.news.announceJoin(slot);
      this.learned++;
    }
    const outputs = this.#p.outputs;
    const tags = table.tagsVersion(slot) > 0 ? table.tags(slot) : undefined;
    outputs.event(nowMs, "JOIN", entry.address, entry.version, entry.incarnation, via, from, tags);
    if (entry.tagsVersion !== undefined && tags === undefined) {
      this.#tags.joinedWithout(nowMs, slot, from);
    }
    if (entry.status === Status.Suspect) {
      outputs.event(nowMs, "SUSPECT", entry.address, entry.version, entry.incarnation, via, from);
    }
  }

  /** Merges an entry of the version the table holds. */
  #sameVersion(
    nowMs: number,
    slot: number,
    entry: Entry,
    via: Via,
    from: Address,
    news: boolean,
  ): void {
    const { table, watch } = this.#p;
    const status = table.status(slot) as Status;
    if (table.removed(slot)) return;
    if (isTerminal(status)) {
      // The member itself, gossiping on, is answered as a ghost instead (`gossip`).
      if (!isTerminal(entry.status) && from !== entry.address) this.#behind?.push(slot);
      return;
    }
    // Heartbeats count within an incarnation: a refutation starts a new count, so that a forged
    // heartbeat, held everywhere, is undone by the one refutation it provokes.
    const incarnation = table.incarnation(slot);
    if (isAhead(entry.incarnation, entry.heartbeat, incarnation, table.heartbeat(slot))) {
      table.setHeartbeat(slot, entry.heartbeat);
      // A refutation is news the member made after it was suspected, whoever passes it on; so is
      // a heartbeat relayed by a fellow watcher (it relays only what it heard itself), which keeps
      // a member this node cannot reach directly (a link that drops everything) alive.
      watch.heard(
        slot,
        nowMs,
        from === entry.address || entry.incarnation > incarnation ||
          (entry.status === Status.Alive && watch.relayedByWatcher(slot, from)),
      );
    }
    if (
      entry.status === Status.Failed && from !== entry.address && this.#stale(nowMs, slot, entry)
    ) {
      this.#p.counters.failuresRefusedStale++;
      return;
    }
    if (entry.status === Status.Failed || entry.status === Status.Left) {
      this.#p.endings.end(nowMs, slot, entry.status, via, from, news);
      return;
    }
    this.#p.suspicion.merge(nowMs, slot, entry, incarnation, status, via, from, news);
    if (this.#tags.merge(nowMs, slot, entry, via, from, news)) this.#tagsBehind?.push(slot);
  }

  /**
   * True when news that a member failed was decided on an older word of it than this node holds:
   * a newer incarnation, or heartbeats the member sent for longer than `suspectAfterMs` after the
   * last its decider had. Whoever decided it was cut off from the member while this node heard it
   * beat on (the smaller side of a cut that healed, a link that failed one way); a crash is
   * decided on the last heartbeats, which reach the decider (a watcher) first.
   */
  #stale(nowMs: number, slot: number, entry: Entry): boolean {
    const table = this.#p.table;
    if (table.heardMs(slot) <= nowMs - this.#p.config.suspectAfterMs) return false;
    const incarnation = table.incarnation(slot);
    if (incarnation !== entry.incarnation) return incarnation > entry.incarnation;
    return table.heartbeat(slot) > entry.heartbeat + this.#staleBeats;
  }

  /**
   * Clears the way for a newer version of the same address. A row still listed (alive, suspect,
   * or failed or left and not yet cleaned up) goes from the list now: its REMOVE is logged, so
   * that every member listed is seen to go.
   */
  #supersede(nowMs: number, slot: number, from: Address): void {
    const table = this.#p.table;
    const status = table.status(slot) as Status;
    if (!table.removed(slot)) {
      this.#p.outputs.member(nowMs, "REMOVE", table, slot, "superseded", from);
      if (!isTerminal(status)) this.#p.watch.lose(nowMs, slot);
    }
    table.failed.delete(slot);
    this.#p.news.forget(slot);
    table.clear(slot);
  }
}
