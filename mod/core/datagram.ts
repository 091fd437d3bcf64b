/**
 * Building datagrams within the size limit: a heartbeat to a neighbour (this node's entry, the
 * relays the neighbour watches too, a little news), a full gossip to a random member (news, then a
 * rotating slice of the list until the datagram is full), and the short datagrams that tell a
 * member what it must hear (that it failed, that it is behind), each at most once a round.
 *
 * Probes and their answers are built here too: a probe is the heartbeat datagram sent over TCP, and
 * its answer (with a watcher's or a helper's word on a silent neighbour) is one built back, within
 * the same budget and from the same `build`. The file is over 400 lines for that reason: split, the
 * two halves would share every private part of the builder.
 */
import type { Config } from "./config.ts";
import type { MemberTable } from "./member_table.ts";
import { noEntryStatus } from "./member_table.ts";
import type { News } from "./news.ts";
import type { CoreCounters, Outputs } from "./outputs.ts";
import type { Self } from "./self.ts";
import type { SettingsSwitch } from "./settings.ts";
import {
  type Address,
  type Entry,
  isAhead,
  type Probe,
  type ProbeRelay,
  Status,
  type UserEvent,
} from "./types.ts";
import type { UserEvents } from "./user_events.ts";
import type { Watch } from "./watch.ts";
import { assert } from "./assert.ts";
import { entryBytesOf, gossipFrameBytes } from "./wire_size.ts";

/** A member's entry as failed at `version`, for telling an address its old version ended. */
export function endedEntry(address: Address, version: number): Entry {
  return { address, version, incarnation: 0, heartbeat: 0, status: Status.Failed };
}

/** Addresses remembered as sent to within the round, before the memory is cleared. */
const onceARoundMax = 4096;

/** The parts a datagram is built from. */
export interface DatagramParts {
  readonly config: Config;
  readonly table: MemberTable;
  readonly self: Self;
  readonly news: News;
  readonly watch: Watch;
  readonly settings: SettingsSwitch;
  readonly outputs: Outputs;
  readonly counters: CoreCounters;
  readonly userEvents: UserEvents;
}

/** Builds and queues this node's datagrams. */
export class Datagrams {
  readonly #p: DatagramParts;
  #sliceCursor = 0;
  /** Entries built in the current round, shared by its datagrams; undefined between rounds. */
  #roundEntries: Map<number, Entry> | undefined;
  /** The same, with their tags, for news of members that have some. */
  #roundTagged: Map<number, Entry> | undefined;
  /** When each member was last answered (`reply`). */
  readonly #repliedMs = new Map<number, number>();
  /** When each address last got a `tellEnded`, to send it at most one a round. */
  readonly #toldEndedMs = new Map<Address, number>();
  /** When each address was last told what it was behind on. */
  readonly #toldBehindMs = new Map<Address, number>();

  constructor(parts: DatagramParts) {
    this.#p = parts;
  }

  /** Runs one round's sends, sharing one entry object per member among its datagrams. */
  round(sends: () => void): void {
    this.#roundEntries = new Map();
    this.#roundTagged = new Map();
    try {
      sends();
    } finally {
      this.#roundEntries = undefined;
      this.#roundTagged = undefined;
    }
    const self = this.#p.self;
    if (self.tagsRoundsLeft > 0) self.tagsRoundsLeft--;
  }

  /** Sends a member a heartbeat (`full` false) or a full gossip. */
  send(target: number, full: boolean): void {
    const { entries, used, userEvents } = this.build(target, full);
    this.post(this.#p.table.address(target), entries, used, userEvents);
  }

  /** Answers a member with a heartbeat, at most once a round. */
  reply(nowMs: number, slot: number): void {
    if (this.#onceARound(this.#repliedMs, slot, nowMs)) this.send(slot, false);
  }

  /** Forgets what was sent to a slot that is being given up. */
  forget(slot: number): void {
    this.#repliedMs.delete(slot);
  }

  /**
   * Queues a probe of a member: the heartbeat datagram it would get, sent over TCP. With `about`,
   * the member is a witness that watches silent neighbour `about` too, or with `relay` a member
   * asked to probe `about` first, and the probe carries this node's copy of `about`: the member
   * answers with its own copy when it is newer (`probeAnswer`), which shows the neighbour alive
   * when only the link from here to it is down.
   */
  probe(slot: number, confirm: boolean, about?: number, relay = false): void {
    this.#p.outputs.probe({
      to: this.#p.table.address(slot),
      message: this.probeMessage(slot, about, relay),
      ...(confirm ? { confirm } : {}),
      ...(about !== undefined ? { second: true } : {}),
    });
  }

  /**
   * The message of a probe (`probe`), built and not queued. One asking for a relay carries this
   * node's entry and its copy of `about`, nothing else: the helper probes the second entry's
   * member.
   */
  probeMessage(slot: number, about?: number, relay = false): Probe | ProbeRelay {
    const { table, settings, self } = this.#p;
    if (relay && about !== undefined) {
      return {
        kind: "probe-relay",
        settings: settings.current,
        members: self.vouchedCount,
        entries: [this.entry(self.slot), this.entry(about)],
      };
    }
    const { entries, used, userEvents } = this.build(slot, false);
    if (about !== undefined && !entries.some((e) => e.address === table.address(about))) {
      const entry = this.entry(about);
      let bytes = used + entryBytesOf(entry);
      // Room is made by leaving out news (this node's own entry, first, stays).
      while (bytes > this.#entriesBytesMax() && entries.length > 1) {
        bytes -= entryBytesOf(entries.pop()!);
      }
      entries.push(entry);
    }
    return {
      kind: "probe",
      settings: settings.current,
      members: self.vouchedCount,
      entries,
      ...(userEvents.length === 0 ? {} : { userEvents }),
    };
  }

  /**
   * The entries that answer a probe: the heartbeat datagram this node would send the prober, with
   * the prober's own entry when this node holds it as suspect, failed or ended (`ended`: the
   * version of the prober's address that ended and was forgotten here, if any), so that it
   * refutes or comes back, and this node's copy of any neighbour the probe `carried` where this
   * copy is newer and fresh (`Datagrams.probe` with `about`), as room allows. Asked for an
   * indirect probe (`relay`), that copy goes second, where the prober reads it as this node's word
   * that the member is running (`#vouch`).
   */
  probeAnswer(
    nowMs: number,
    prober: Entry,
    ended: number | undefined,
    carried: readonly Entry[] = [],
    relay = false,
  ): Entry[] {
    const table = this.#p.table;
    const slot = table.book.find(prober.address);
    if (table.hasRow(slot) && slot !== this.#p.self.slot) {
      const built = this.build(slot, false, false);
      const entries = built.entries;
      // A prober speaking as an older version than the table holds: that version ended.
      if (table.version(slot) > prober.version) {
        entries.push(endedEntry(prober.address, prober.version));
      }
      let used = built.used;
      if (relay) return this.#vouch(nowMs, entries, carried[1]);
      for (let i = 1; i < carried.length; i++) {
        const entry = this.#newerCopy(nowMs, carried[i]);
        if (entry === undefined || entries.some((e) => e.address === entry.address)) continue;
        const size = entryBytesOf(entry);
        if (used + size > this.#entriesBytesMax()) break;
        used += size;
        entries.push(entry);
      }
      return entries;
    }
    // Not in the table: a stranger, or a version that ended and was forgotten, said so.
    const entries = [this.#p.self.entry];
    if (ended !== undefined && ended >= prober.version) {
      entries.push(endedEntry(prober.address, ended));
    }
    return entries;
  }

  /**
   * The answer to an indirect probe of `about`: the heartbeat datagram `entries`, with this node's
   * copy of `about` second when it is newer and fresh, and nowhere else. The prober takes the
   * second entry, and only that one, as this node's word (`Suspicion.vouchedFor`): a copy among
   * the news or relays may be stale.
   */
  #vouch(nowMs: number, entries: Entry[], about: Entry | undefined): Entry[] {
    if (about === undefined) return entries;
    const kept = entries.filter((e, i) => i === 0 || e.address !== about.address);
    const copy = this.#newerCopy(nowMs, about);
    if (copy === undefined) return kept;
    let bytes = kept.reduce((sum, e) => sum + entryBytesOf(e), 0) + entryBytesOf(copy);
    // Room is made by leaving out what follows (this node's own entry, first, stays).
    while (bytes > this.#entriesBytesMax() && kept.length > 1) {
      bytes -= entryBytesOf(kept.pop()!);
    }
    kept.splice(1, 0, copy);
    return kept;
  }

  /**
   * This node's entry of the member `carried` speaks of, when it is newer than that one and its
   * heartbeat grew here within `probeAfterMs`: the member was running a moment ago.
   */
  #newerCopy(nowMs: number, carried: Entry): Entry | undefined {
    const { table, config } = this.#p;
    const slot = table.book.find(carried.address);
    if (!table.hasRow(slot) || !table.listedLive(slot) || slot === this.#p.self.slot) return;
    if (table.version(slot) !== carried.version) return;
    if (table.heardMs(slot) <= nowMs - config.probeAfterMs) return;
    const newer = isAhead(
      table.incarnation(slot),
      table.heartbeat(slot),
      carried.incarnation,
      carried.heartbeat,
    );
    return newer ? this.entry(slot) : undefined;
  }

  /**
   * Tells an address that its member's `version` failed: a datagram with this node's own entry
   * and that version's, failed. Sent where the table no longer holds the member, so it is built
   * here rather than from a row.
   */
  tellEnded(nowMs: number, address: Address, version: number): void {
    if (!this.#onceARound(this.#toldEndedMs, address, nowMs)) return;
    const entries: Entry[] = [this.entry(this.#p.self.slot), endedEntry(address, version)];
    this.post(address, entries, entryBytesOf(entries[0]) + entryBytesOf(entries[1]));
  }

  /**
   * Sends a member the failures and leaves it still lists as live, then the tags it holds older
   * versions of (`tagsBehind`, with the tags), as many as fit.
   */
  tellBehind(
    nowMs: number,
    address: Address,
    slots: readonly number[],
    tagsBehind: readonly number[] = [],
  ): void {
    if (!this.#onceARound(this.#toldBehindMs, address, nowMs)) return;
    const budget = this.#entriesBytesMax();
    const entries: Entry[] = [this.entry(this.#p.self.slot)];
    let used = entryBytesOf(entries[0]);
    for (const slot of slots) {
      const entry = this.entry(slot);
      const size = entryBytesOf(entry);
      if (used + size > budget) break;
      used += size;
      entries.push(entry);
    }
    for (const slot of tagsBehind) {
      const entry = this.#taggedEntry(slot);
      const size = entryBytesOf(entry);
      // A large one that does not fit leaves room for the smaller ones after it.
      if (used + size > budget) continue;
      used += size;
      entries.push(entry);
    }
    this.#p.counters.behindTold++;
    this.post(address, entries, used);
  }

  /**
   * Queues a gossip datagram of `entries` and `userEvents` (`entriesBytes` encoded, the events
   * included) to `to`, and counts it.
   */
  post(
    to: Address,
    entries: Entry[],
    entriesBytes: number,
    userEvents: readonly UserEvent[] = [],
  ): void {
    const { config, settings, counters } = this.#p;
    const members = this.#p.self.vouchedCount;
    const bytes = entriesBytes + gossipFrameBytes(settings.current, members, entries.length);
    assert(bytes <= config.datagramBytesMax - config.datagramOverheadBytes, "datagram too large");
    counters.datagramsSent++;
    counters.bytesSent += bytes;
    this.#p.outputs.datagram({
      to,
      message: {
        kind: "gossip",
        settings: settings.current,
        members,
        entries,
        ...(userEvents.length === 0 ? {} : { userEvents }),
      },
      bytes,
    });
  }

  /**
   * Builds one datagram to a member: this node's entry, the member's own entry when this node
   * holds it as suspect or failed (so it can refute or come back), news, and, for a full gossip,
   * a rotating slice of the list until the datagram is full. Returns its entries and their size.
   */
  build(
    target: number,
    full: boolean,
    withEvents = true,
  ): { entries: Entry[]; used: number; userEvents: UserEvent[] } {
    const { config, table, news, watch } = this.#p;
    const budget = this.#entriesBytesMax();
    const mark = table.nextStamp();
    const self = this.#p.self.slot;
    const entries: Entry[] = [this.entry(self)];
    table.stamp(self, mark);
    let used = entryBytesOf(entries[0]);

    const targetStatus = table.status(target);
    if (targetStatus !== Status.Alive && targetStatus !== noEntryStatus) {
      const entry = this.entry(target);
      used += entryBytesOf(entry);
      entries.push(entry);
      table.stamp(target, mark);
    }

    if (!full) {
      // Neighbours relay each other's heartbeats: a watcher that lost X's own datagram still
      // hears X's heartbeat grow through the members they both neighbour, so loss alone rarely
      // makes it suspect X. Only the entries the target itself watches are worth its bytes.
      table.stamp(target, mark);
      for (const slot of watch.sharedWith(target)) {
        if (table.stamped(slot, mark) || !table.present.has(slot)) continue;
        // Only what this node heard itself: the target takes these relays as a watcher's word.
        if (watch.unheard(slot)) continue;
        const entry = this.entry(slot);
        // Entries come from the network and may be long (an address of 255 characters, numbers
        // at their widest): the budget holds for these too, or a crafted neighbour could make
        // this datagram too large to send.
        const size = entryBytesOf(entry);
        if (used + size > budget) continue;
        used += size;
        entries.push(entry);
        table.stamp(slot, mark);
      }
    }

    // News sent to neighbours does not count toward the retransmit limit: neighbours are the same
    // few members every round, so only random targets spread news through the cluster. Joins go
    // to random targets only: neighbours learn them from the joiner itself.
    let taken = 0;
    const newsMax = full ? Infinity : config.heartbeatNewsMax;
    const take = (slot: number): boolean | null => {
      if (table.stamped(slot, mark)) return true;
      if (taken >= newsMax) return null;
      // News of a member with tags carries them in full gossips: that is how a change of tags
      // spreads. Heartbeats go to the same few neighbours every round, so the kilobyte would be
      // sent to them again and again for as long as the news lasts.
      const tagged = full && table.tagsVersion(slot) > 0;
      const entry = tagged ? this.#taggedEntry(slot) : this.entry(slot);
      const size = entryBytesOf(entry);
      // A large item that does not fit leaves room for the smaller ones after it.
      if (used + size > budget) return tagged ? false : null;
      used += size;
      entries.push(entry);
      table.stamp(slot, mark);
      taken++;
      return true;
    };
    const limit = news.limit(table.live.size);
    news.changes.pick(limit, full, take);
    if (full && used < budget) news.joins.pick(news.joinLimit(limit), true, take);

    // User events ride in the room news left, before the slice of the list takes the rest.
    let userEvents: UserEvent[] = [];
    if (withEvents && this.#p.userEvents.pending) {
      const picked = this.#p.userEvents.pick(budget - used);
      userEvents = picked.events;
      used += picked.bytes;
    }

    if (full) {
      const present = table.present;
      let slice = 0;
      for (let visited = 0; visited < present.size && slice < config.sliceEntriesMax; visited++) {
        if (this.#sliceCursor >= present.size) this.#sliceCursor = 0;
        const slot = present.at(this.#sliceCursor);
        if (table.stamped(slot, mark)) {
          this.#sliceCursor++;
          continue;
        }
        const entry = this.entry(slot);
        const size = entryBytesOf(entry);
        if (used + size > budget) break;
        used += size;
        entries.push(entry);
        table.stamp(slot, mark);
        this.#sliceCursor++;
        slice++;
      }
    }
    return { entries, used, userEvents };
  }

  /** A member's entry (this node's own too), shared within a round. */
  entry(slot: number): Entry {
    // Within one round nothing changes, so every datagram of the round shares one object per
    // entry: fewer allocations for the heartbeats, relays and news it sends to several members.
    const cache = this.#roundEntries;
    if (cache !== undefined) {
      let entry = cache.get(slot);
      if (entry === undefined) {
        entry = this.#freshEntry(slot);
        cache.set(slot, entry);
      }
      return entry;
    }
    return this.#freshEntry(slot);
  }

  #freshEntry(slot: number): Entry {
    const self = this.#p.self;
    // Just after its tags changed, every datagram a node sends carries them.
    if (slot === self.slot) return self.tagsRoundsLeft > 0 ? self.entryWithTags : self.entry;
    return this.#p.table.entry(slot);
  }

  /** A member's entry with its tags, shared within a round. */
  #taggedEntry(slot: number): Entry {
    const cache = this.#roundTagged;
    let entry = cache?.get(slot);
    if (entry === undefined) {
      entry = this.#p.table.entryWithTags(slot);
      cache?.set(slot, entry);
    }
    return entry;
  }

  /** A member's entry as whole lists carry it: with its tags, this node's own too. */
  listEntry(slot: number): Entry {
    const self = this.#p.self;
    return slot === self.slot ? self.entryWithTags : this.#p.table.entryWithTags(slot);
  }

  /** The most bytes of entries one datagram carries, whatever its count fields hold. */
  #entriesBytesMax(): number {
    const config = this.#p.config;
    return config.datagramBytesMax - config.datagramOverheadBytes -
      gossipFrameBytes(this.#p.settings.current, 0xffff_ffff, 0x1_0000);
  }

  /** True, and noted, when `key` was not sent to within the last round (a bounded memory). */
  #onceARound<K>(sentMs: Map<K, number>, key: K, nowMs: number): boolean {
    const last = sentMs.get(key);
    if (last !== undefined && nowMs - last < this.#p.config.gossipIntervalMs) return false;
    if (sentMs.size > onceARoundMax) sentMs.clear();
    sentMs.set(key, nowMs);
    return true;
  }
}
