/**
 * The membership protocol as a pure state machine, one per node.
 *
 * Inputs are method calls handed the time: {@linkcode Core.receive}, {@linkcode Core.tick},
 * {@linkcode Core.acceptJoin}, {@linkcode Core.applyJoinResponse}, {@linkcode Core.leave},
 * {@linkcode Core.setSuspicion}, {@linkcode Core.acceptProbe}, {@linkcode Core.applyProbeAck}.
 * Outputs are pulled: {@linkcode Core.takeDatagrams}, {@linkcode Core.takeProbes},
 * {@linkcode Core.takeEvents} and {@linkcode Core.nextWakeMs}. The core does no I/O, reads no
 * clock and draws randomness only from the generator it is given, so the same inputs and seed give
 * the same outputs.
 *
 * How it works, in short:
 * - Every round a node bumps its heartbeat and sends it straight to its ring neighbours (the
 *   nearest live members on each side of a hash ring), together with a few items of news, and
 *   sends a full gossip to a few random members: its own entry, news, and a rotating slice of its
 *   list that fills the datagram.
 * - A node watches only its neighbours. A neighbour silent for `probeAfterMs` is sent its
 *   heartbeat over TCP as well (a probe), and its answer counts as hearing from it: a member whose
 *   datagrams are lost on the way is not failed for that. A neighbour whose heartbeat has not grown
 *   for `suspectAfterMs` is suspected; the suspicion spreads as news and reaches the suspect, which
 *   refutes it by raising its incarnation. A suspect still silent and unrefuted after
 *   `suspectTimeoutMs` more is failed. With suspicion off, silence for `failAfterMs` fails it.
 * - Failed and left are final for a version (fail-stop). A node told that it failed comes back as
 *   a new version; the old one stays dead. Removed members leave a tombstone.
 */
import { AddressBook } from "./address_book.ts";
import { isAddress } from "./address.ts";
import { assert, AssertionError } from "./assert.ts";
import { type Config, configProblem, defaultConfig } from "./config.ts";
import { NewsQueue } from "./news.ts";
import type { Random } from "./random.ts";
import { Ring, ringHash } from "./ring.ts";
import { SlotSet } from "./slot_set.ts";
import { EndedVersions } from "./ended_versions.ts";
import { probesInFlightMax } from "./driver_rules.ts";
import {
  type Address,
  type Entry,
  type EventKind,
  type Gossip,
  type GossipFields,
  isTerminal,
  type JoinRequest,
  type JoinResponse,
  type MemberEvent,
  type Outgoing,
  type OutgoingProbe,
  type Probe,
  type ProbeAck,
  type Settings,
  Status,
  type SyncRequest,
  type SyncResponse,
  type Via,
} from "./types.ts";
import { entryBytes, gossipFrameBytes, uint32Max, versionMax } from "./wire_size.ts";

/** What a core is created with. */
export interface CoreOptions {
  /** This node's address, as the others reach it. */
  readonly address: Address;
  /** This join's version: larger than any earlier version of the same address. */
  readonly version: number;
  /** The time of creation, on the same monotonic clock as every later call. */
  readonly nowMs: number;
  /** The source of every random choice. */
  readonly random: Random;
  /** Overrides of the defaults. */
  readonly config?: Partial<Config>;
  /** The suspicion switch this node starts with, when it starts a cluster. */
  readonly suspicion?: boolean;
  /** An address book to share (the simulator's); by default the core has its own. */
  readonly book?: AddressBook;
  /** How many members to make room for at once; the table grows beyond it as needed. */
  readonly membersExpected?: number;
}

/** A member as this node lists it. */
export interface MemberView {
  readonly address: Address;
  readonly version: number;
  readonly incarnation: number;
  readonly heartbeat: number;
  readonly status: Status;
  /** When the status last changed, on the core's clock. */
  readonly sinceMs: number;
  /** When its heartbeat last grew, on the core's clock. */
  readonly heardMs: number;
}

/** Counts the core keeps; the shell adds its own. */
export interface CoreCounters {
  gossipReceived: number;
  datagramsSent: number;
  bytesSent: number;
  entriesStale: number;
  entriesDroppedTableFull: number;
  suspicionsRaised: number;
  failuresDetected: number;
  refutations: number;
  rejoins: number;
  joinsAccepted: number;
  joinsRefused: number;
  stalls: number;
  /** Probes of silent neighbours sent over TCP, and the answers that came back. */
  probesSent: number;
  probesAnswered: number;
  /** After a stall: members a whole list lacked, asked to confirm themselves; and those ended. */
  confirmsAsked: number;
  confirmsEnded: number;
  /** After a stall: gossip of members new to this node, not taken until its list is settled. */
  entriesDoubted: number;
  /** Senders told of failures and leaves they still gossiped as live. */
  behindTold: number;
}

type Phase = "active" | "leaving" | "left";

/** A member awaiting its own word after a stall, and its heartbeat when it was asked. */
interface Unconfirmed {
  readonly address: Address;
  readonly version: number;
  readonly heartbeat: number;
}

interface Deadline {
  readonly slot: number;
  readonly address: Address;
  readonly version: number;
  readonly dueMs: number;
}

/** A FIFO of deadlines that all share one delay, so arrival order is deadline order. */
class DeadlineQueue {
  #items: Deadline[] = [];
  #head = 0;

  /** How many items wait. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  push(item: Deadline): void {
    this.#items.push(item);
  }

  /** Keeps only the waiting items `keep` accepts, in order. */
  compact(keep: (item: Deadline) => boolean): void {
    this.#items = this.#items.slice(this.#head).filter(keep);
    this.#head = 0;
  }

  peek(): Deadline | undefined {
    return this.#items[this.#head];
  }

  shift(): Deadline | undefined {
    const item = this.#items[this.#head];
    if (item === undefined) return undefined;
    this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
}

const noEntryStatus = 0;
/**
 * Members asked at once to confirm themselves after a stall, when a whole list lacks them; the
 * rest wait for the next batch. As many as a driver lets probes be in flight.
 */
const unconfirmedProbesMax = probesInFlightMax;
// The member table's row layout: one Float64Array, `rowSize` fields per slot.
const rowSize = 8;
const fVersion = 0;
const fIncarnation = 1;
const fHeartbeat = 2;
/** When the heartbeat last grew. */
const fHeard = 3;
/** When the status last changed. */
const fSince = 4;
/** 0 (no entry) or a Status. */
const fStatus = 5;
/** 1 for a tombstone: remembered, no longer listed. */
const fRemoved = 6;
/** Marks entries already in the datagram being built. */
const fStamp = 7;

// Shared empty results, so that polling a quiet core allocates nothing.
const noDatagrams: readonly Outgoing[] = Object.freeze([]);
const noSyncs: readonly Address[] = Object.freeze([]);
const noProbes: readonly OutgoingProbe[] = Object.freeze([]);
const noEvents: readonly MemberEvent[] = Object.freeze([]);
/** News items that justify one more random gossip in a round, up to `gossipFanoutMax`. */
const newsPerExtraGossip = 20;
/** During a wave of joins, joins are retransmitted this many times less than other news. */
const joinNewsDivisor = 4;
/** Joins waiting to be sent beyond which a node takes it that a wave of joins is on. */
const joinWaveNews = 2 * newsPerExtraGossip;
/**
 * For this many sync windows after a member ended here, a sender still counting it is taken to
 * be behind on the news, not ahead: the best count heard lingers for twice `syncAfterMs`, and the
 * news takes a moment to reach everyone.
 */
const endGraceWindows = 3;
/** A bound on the ends remembered, so that a mass failure costs no more than this to track. */
const recentEndsMax = 4096;

/** The protocol state of one node. */
export class Core {
  /** This node's address. */
  readonly address: Address;
  /** The settings in force. */
  readonly config: Config;
  /** Counts of what happened. */
  readonly counters: CoreCounters = {
    gossipReceived: 0,
    datagramsSent: 0,
    bytesSent: 0,
    entriesStale: 0,
    entriesDoubted: 0,
    entriesDroppedTableFull: 0,
    suspicionsRaised: 0,
    failuresDetected: 0,
    refutations: 0,
    rejoins: 0,
    joinsAccepted: 0,
    joinsRefused: 0,
    stalls: 0,
    probesSent: 0,
    probesAnswered: 0,
    confirmsAsked: 0,
    confirmsEnded: 0,
    behindTold: 0,
  };

  readonly #random: Random;
  readonly #book: AddressBook;
  readonly #self: number;
  readonly #versionOrigin: number;
  readonly #originMs: number;
  /** When this node's own status last changed: its start, or its leave. */
  #selfSinceMs: number;

  #version: number;
  #incarnation = 0;
  #heartbeat = 0;
  #settings: Settings;
  #phase: Phase = "active";
  #leaveRoundsLeft = 0;

  // The member table, one array per field, indexed by slot.
  #capacity = 0;
  /** One row of `rowSize` numbers per slot, so that a merge touches one cache line. */
  #rows = new Float64Array(0);
  #stampValue = 0;

  readonly #live: SlotSet;
  /** Every row this node passes on in lists and slices: all but tombstones heard second-hand. */
  readonly #present: SlotSet;
  readonly #failed: SlotSet;
  /** News of suspicions, refutations, failures and leaves. */
  readonly #news: NewsQueue;
  /** News of joins: sent as often as other news, except during a wave of joins (`#joinLimit`). */
  readonly #joins: NewsQueue;
  readonly #ring: Ring;
  readonly #neighborSince = new Map<number, number>();
  /**
   * Neighbours not heard from themselves since they became neighbours. Until one is, a heartbeat
   * of it passed on by another member does not end its silence, unless a fellow watcher that
   * heard it relays it: this node's copy of a member it did not watch is old, and another's copy,
   * newer, may be just as old (its owner crashed with the member's own watchers, when many crash
   * at once), so catching up proves nothing.
   */
  readonly #unheard = new Set<number>();
  /** The silence (its start, `#silentSinceMs`) each neighbour was last probed for. */
  readonly #probedSilence = new Map<number, number>();
  readonly #cleanup = new DeadlineQueue();
  readonly #tombstones = new DeadlineQueue();
  readonly #repliedMs = new Map<number, number>();
  /** Versions forgotten from the table, still refused; the failed ones still sent reconnects. */
  readonly #ended: EndedVersions;
  /** When each address last got a `#tellEnded`, to send it at most one a round. */
  readonly #toldEndedMs = new Map<Address, number>();
  /**
   * Members the gossip being merged lists as live that this node holds as failed or left: its
   * sender is told, once a round, instead of waiting for the news to reach it by chance.
   */
  #behind: number[] | undefined;
  /** The array `#behind` is while a gossip is merged, used again each time. */
  readonly #behindSlots: number[] = [];
  /** When each address was last told what it was behind on. */
  readonly #toldBehindMs = new Map<Address, number>();
  #sliceCursor = 0;
  /** Entries built in the current round, shared by its datagrams; undefined between rounds. */
  #roundEntries: Map<number, Entry> | undefined;

  #nowMs: number;
  #nextRoundMs: number;
  #nextReconnectMs: number;
  #trustSinceMs = -Infinity;

  #outbox: Outgoing[] = [];
  #events: MemberEvent[] = [];
  #syncs: Address[] = [];
  #probes: OutgoingProbe[] = [];
  #behindSinceMs: number | undefined;
  #bestCount = 0;
  /** Members gossip brought in the current window of being behind. */
  #learnedInWindow = 0;
  #bestPeer: Address = "";
  #bestHeardMs = -Infinity;
  #lastSyncMs = -Infinity;
  /**
   * After a stall past the fail timeout, this node's rows of others are out of date, and some
   * may be of members the cluster has since failed and forgotten: until a whole list from a live
   * member confirms or drops them, they are not passed on, and it asks for one every
   * `syncIntervalMs` (`#doubtAll`).
   */
  #doubting = false;
  #doubtSyncMs = 0;
  /** When the doubts began: a list asked for earlier may predate the stall, and settles none. */
  #doubtSinceMs = -Infinity;
  /**
   * Members the settling list did not hold, by slot, each sent a probe: passed on again if it
   * answers, ended at `#confirmByMs` if not. One list may be behind (on a member that joined a
   * moment ago); the member's own answer is not.
   */
  readonly #unconfirmed = new Map<number, Unconfirmed>();
  /**
   * Members still to be asked, beyond the `unconfirmedProbesMax` asked at once: asked in the
   * next batches, not ended unasked (they are most often members that came back a moment ago).
   */
  #toConfirm: Unconfirmed[] = [];
  #confirmByMs = Infinity;
  /**
   * When members ended (failed or left) lately, oldest first, from `#recentEndsHead` on: news
   * others may not have yet.
   */
  readonly #recentEnds: number[] = [];
  #recentEndsHead = 0;

  constructor(options: CoreOptions) {
    const config = { ...defaultConfig, ...options.config };
    const problem = configProblem(config);
    assert(problem === undefined, `bad configuration: ${problem}`);
    assert(isAddress(options.address), `bad address: ${options.address}`);
    assert(Number.isSafeInteger(options.version) && options.version > 0, "bad version");
    assert(Number.isFinite(options.nowMs), "bad time");
    this.config = config;
    this.address = options.address;
    this.#version = options.version;
    this.#versionOrigin = options.version;
    this.#originMs = options.nowMs;
    this.#selfSinceMs = options.nowMs;
    this.#random = options.random;
    this.#book = options.book ?? new AddressBook(config.memberTableMax);
    this.#settings = { epoch: 0, suspicion: options.suspicion ?? true };
    if (options.suspicion === false) this.#settings = { epoch: 1, suspicion: false };
    const self = this.#book.intern(this.address);
    assert(self >= 0, "address book full");
    this.#self = self;
    const capacity = Math.min(
      this.#book.capacity,
      Math.max(16, this.#book.extent, options.membersExpected ?? 0),
    );
    this.#live = new SlotSet();
    this.#present = new SlotSet();
    this.#failed = new SlotSet();
    this.#ended = new EndedVersions(config.memberTableMax, config.endedKeptMs);
    this.#news = new NewsQueue(capacity);
    this.#joins = new NewsQueue(capacity);
    this.#ring = new Ring(config.ringNeighbors);
    this.#ring.setCenter(ringHash(this.address, this.#version));
    this.#grow(capacity);
    this.#nowMs = options.nowMs;
    this.#nextRoundMs = options.nowMs;
    this.#nextReconnectMs = options.nowMs + config.reconnectIntervalMs;
    this.#emit("JOIN", this.#self, this.#version, 0, "self");
  }

  // ---- identity and views -------------------------------------------------------------------

  /** This node's current version (it changes when the node comes back after being failed). */
  get version(): number {
    return this.#version;
  }

  /** This node's own entry. */
  get selfEntry(): Entry {
    return {
      address: this.address,
      version: this.#version,
      incarnation: this.#incarnation,
      heartbeat: this.#heartbeat,
      status: this.#phase === "active" ? Status.Alive : Status.Left,
    };
  }

  /** The cluster-wide settings as this node knows them. */
  get settings(): Settings {
    return this.#settings;
  }

  /** True once a leave has been announced and the node has gone quiet. */
  get done(): boolean {
    return this.#phase === "left";
  }

  /** True from a leave on. */
  get leaving(): boolean {
    return this.#phase !== "active";
  }

  /** Members listed alive or suspect, this node included. */
  get liveCount(): number {
    return this.#live.size + (this.#phase === "active" ? 1 : 0);
  }

  /** Cleanup and tombstone deadlines waiting: about twice the table's size at most. */
  get deadlinesWaiting(): number {
    return this.#cleanup.size + this.#tombstones.size;
  }

  /** The ring neighbours' addresses: who this node watches and sends its heartbeat to. */
  neighbors(): Address[] {
    return [...this.#ring.neighbors()].map((slot) => this.#book.address(slot));
  }

  /** Every member this node lists (tombstones aside), itself excluded. */
  members(): MemberView[] {
    const views: MemberView[] = [];
    for (let i = 0; i < this.#present.size; i++) {
      const slot = this.#present.at(i);
      if (this.#rows[slot * rowSize + fRemoved] === 0) views.push(this.#view(slot));
    }
    return views;
  }

  /**
   * True when this node lists exactly this version of the address as alive or suspect. A cheap
   * question for checking agreement across many nodes: it allocates nothing.
   */
  listsLive(address: Address, version: number): boolean {
    if (address === this.address) return this.#version === version && this.#phase === "active";
    const slot = this.#book.find(address);
    if (slot < 0 || slot >= this.#capacity) return false;
    const at = slot * rowSize;
    const status = this.#rows[at + fStatus];
    return this.#rows[at + fRemoved] === 0 && this.#rows[at + fVersion] === version &&
      (status === Status.Alive || status === Status.Suspect);
  }

  /** How this node lists one address, tombstones included; undefined when it does not. */
  lookup(address: Address): (MemberView & { readonly removed: boolean }) | undefined {
    if (address === this.address) {
      return {
        ...this.selfEntry,
        sinceMs: this.#selfSinceMs,
        heardMs: this.#nowMs,
        removed: false,
      };
    }
    const slot = this.#book.find(address);
    if (!this.#hasRow(slot)) return undefined;
    return { ...this.#view(slot), removed: this.#rows[slot * rowSize + fRemoved] === 1 };
  }

  /** True when this node holds a row (a tombstone too) at `slot`, as `find` gave it. */
  #hasRow(slot: number): boolean {
    return slot >= 0 && slot < this.#capacity &&
      this.#rows[slot * rowSize + fStatus] !== noEntryStatus;
  }

  #view(slot: number): MemberView {
    return {
      address: this.#book.address(slot),
      version: this.#rows[slot * rowSize + fVersion],
      incarnation: this.#rows[slot * rowSize + fIncarnation],
      heartbeat: this.#rows[slot * rowSize + fHeartbeat],
      status: this.#rows[slot * rowSize + fStatus] as Status,
      sinceMs: this.#rows[slot * rowSize + fSince],
      heardMs: this.#rows[slot * rowSize + fHeard],
    };
  }

  // ---- outputs ------------------------------------------------------------------------------

  /** Datagrams to send, oldest first; the core forgets them. */
  takeDatagrams(): readonly Outgoing[] {
    const out = this.#outbox;
    if (out.length === 0) return noDatagrams;
    this.#outbox = [];
    return out;
  }

  /**
   * True when a take would return something: datagrams, syncs or events wait. A cheap question
   * for a shell that polls after every input, as the simulator does for thousands of nodes.
   */
  get hasOutput(): boolean {
    return this.#outbox.length > 0 || this.#syncs.length > 0 || this.#probes.length > 0 ||
      this.#events.length > 0;
  }

  /** Members to exchange lists with over TCP ({@linkcode syncRequest}); the core forgets them. */
  takeSyncs(): readonly Address[] {
    const out = this.#syncs;
    if (out.length === 0) return noSyncs;
    this.#syncs = [];
    return out;
  }

  /**
   * Probes to send over TCP, each answered (or not, within the shell's timeout) with a
   * {@linkcode ProbeAck} for {@linkcode applyProbeAck}; the core forgets them.
   */
  takeProbes(): readonly OutgoingProbe[] {
    const out = this.#probes;
    if (out.length === 0) return noProbes;
    this.#probes = [];
    return out;
  }

  /** Events that happened, oldest first; the core forgets them. */
  takeEvents(): readonly MemberEvent[] {
    const out = this.#events;
    if (out.length === 0) return noEvents;
    this.#events = [];
    return out;
  }

  /**
   * The earliest time at which {@linkcode tick} has something to do: the least of the named
   * deadlines, computed afresh at each call (a few neighbours and queue heads), so that no input
   * can leave a stale, later value behind. An early tick does nothing.
   */
  nextWakeMs(): number {
    if (this.#phase === "left") return Infinity;
    if (this.#phase !== "active") return this.#nextRoundMs;
    return Math.min(this.#nextRoundMs, this.#earliestDeadline());
  }

  #earliestDeadline(): number {
    let wake = Infinity;
    for (const slot of this.#ring.neighbors()) {
      const due = Math.min(this.#neighborDeadline(slot), this.#probeDeadline(slot));
      if (due < wake) wake = due;
    }
    const cleanup = this.#cleanup.peek();
    if (cleanup !== undefined && cleanup.dueMs < wake) wake = cleanup.dueMs;
    const tombstone = this.#tombstones.peek();
    if (tombstone !== undefined && tombstone.dueMs < wake) wake = tombstone.dueMs;
    const reconnects = this.#failed.size + this.#ended.size;
    if (reconnects > 0 && this.#nextReconnectMs < wake) wake = this.#nextReconnectMs;
    if (this.#awaitingConfirms && this.#confirmByMs < wake) wake = this.#confirmByMs;
    if (this.#doubting && this.#doubtsEndMs() < wake) wake = this.#doubtsEndMs();
    return wake;
  }

  // ---- inputs -------------------------------------------------------------------------------

  /** Runs what is due: timeouts, cleanup, and the gossip round. An early tick does nothing. */
  tick(nowMs: number): void {
    this.#enter(nowMs);
    if (this.#phase === "left") return;
    if (this.#phase === "active") {
      this.#checkNeighbors(nowMs);
      this.#endDoubts(nowMs);
      this.#endUnconfirmed(nowMs);
      this.#expire(nowMs);
      this.#reconnect(nowMs);
    }
    if (nowMs >= this.#nextRoundMs) {
      this.#round();
      const next = this.#nextRoundMs + this.config.gossipIntervalMs;
      this.#nextRoundMs = next > nowMs ? next : nowMs + this.config.gossipIntervalMs;
    }
  }

  /** Merges a gossip datagram that arrived. */
  receive(nowMs: number, message: Gossip): void {
    this.#enter(nowMs);
    this.#mergeGossip(nowMs, message);
  }

  /**
   * Merges a probe that arrived over TCP, as the gossip it carries, and returns the answer: the
   * heartbeat datagram this node would send the prober (with the prober's own entry when this
   * node holds it as suspect, failed or ended, so that it refutes or comes back). Undefined once
   * this node has left.
   */
  acceptProbe(nowMs: number, probe: Probe): ProbeAck | undefined {
    this.#enter(nowMs);
    this.#mergeGossip(nowMs, probe);
    const prober = probe.entries[0];
    if (this.#phase === "left" || prober === undefined) return undefined;
    const slot = this.#book.find(prober.address);
    let entries: Entry[];
    if (this.#hasRow(slot) && slot !== this.#self) {
      entries = this.#build(slot, false).entries;
      // A prober speaking as an older version than the table holds: that version ended.
      if (this.#rows[slot * rowSize + fVersion] > prober.version) {
        entries.push(endedEntry(prober.address, prober.version));
      }
    } else {
      // Not in the table: a stranger, or a version that ended and was forgotten, said so.
      entries = [this.selfEntry];
      const ended = this.#ended.versionOf(prober.address);
      if (ended !== undefined && ended >= prober.version) {
        entries.push(endedEntry(prober.address, ended));
      }
    }
    return { kind: "probe-ack", settings: this.#settings, members: this.liveCount, entries };
  }

  /** Merges the answer to a probe this node sent: it counts as hearing from that member. */
  applyProbeAck(nowMs: number, ack: ProbeAck): void {
    this.#enter(nowMs);
    this.#mergeGossip(nowMs, ack);
    const sender = ack.entries[0];
    const slot = sender === undefined ? -1 : this.#book.find(sender.address);
    const known = this.#hasRow(slot) && this.#rows[slot * rowSize + fVersion] === sender!.version;
    const confirmed = this.#unconfirmed.size > 0 && known && this.#confirm(slot);
    if (!confirmed) this.counters.probesAnswered++;
    // The answer was made just now, whatever heartbeat it carries (others may have passed on as
    // new a one): the member is alive.
    if (known && this.#phase === "active" && this.#live.has(slot)) this.#heard(slot, nowMs, true);
  }

  #mergeGossip(nowMs: number, message: GossipFields): void {
    if (this.#phase !== "active") return;
    const entries = message.entries;
    if (entries.length === 0) return;
    const sender = entries[0];
    if (sender.address === this.address) return;
    this.counters.gossipReceived++;
    this.#mergeSettings(message.settings, sender.address);
    let reply = false;
    const behind = this.#behind = this.#behindSlots;
    behind.length = 0;
    try {
      for (const entry of entries) {
        if (entry.address === this.address) {
          if (this.#mergeAboutSelf(nowMs, entry, sender.address)) reply = true;
        } else {
          this.#merge(nowMs, entry, "gossip", sender.address);
        }
        if (this.#phase !== "active") return;
      }
    } finally {
      this.#behind = undefined;
    }
    if (behind.length > 0) this.#tellBehind(nowMs, sender.address, behind);
    // A sender this node holds as failed, or as an older version, is told so: it then comes back
    // as a new version instead of talking on as a ghost.
    const slot = this.#book.find(sender.address);
    if (this.#hasRow(slot)) {
      const known = this.#rows[slot * rowSize + fVersion];
      // An older version's row is gone, superseded: the sender is told its version ended.
      if (known > sender.version) this.#tellEnded(nowMs, sender.address, sender.version);
      if (known === sender.version && this.#rows[slot * rowSize + fStatus] === Status.Failed) {
        reply = true;
      }
    }
    if (reply && slot >= 0) this.#reply(nowMs, slot);
    if (this.#unconfirmed.size > 0) this.#confirmSender(sender);
    if (this.#doubting && nowMs >= this.#doubtSyncMs) {
      this.#syncs.push(sender.address);
      this.#doubtSyncMs = nowMs + this.config.syncIntervalMs;
    }
    this.#compareCounts(nowMs, message.members, sender.address);
  }

  /** How many members ended here within the last `endGraceWindows` windows; forgets older ones. */
  #recentEndCount(nowMs: number, windowMs: number): number {
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
   * A node that keeps hearing of more members than it lists has missed some news: after a window
   * of that (`syncAfterMs`, longer in a larger cluster), it asks the best-informed sender for its
   * whole list (at most every `syncIntervalMs`).
   */
  #compareCounts(nowMs: number, members: number, from: Address): void {
    // News reaches every member in about log(members) rounds: a node that lacks a member for less
    // than that is most likely still to hear of it by gossip. Asking for a whole list sooner would
    // make every join in a large cluster cost hundreds of whole-list exchanges.
    const windowMs = this.config.syncAfterMs * Math.ceil(Math.log10(this.#live.size + 2) / 2);
    // The best count heard lately, and from whom: a lower count from a node that is itself
    // behind does not hide it.
    if (members >= this.#bestCount || nowMs - this.#bestHeardMs > 2 * this.config.syncAfterMs) {
      this.#bestCount = members;
      this.#bestPeer = from;
      this.#bestHeardMs = nowMs;
    }
    // Members this node saw fail or leave a moment ago are still counted by senders the news has
    // not reached yet: that difference is news in flight, not members this node lacks. Without
    // this, every failure would send most of the cluster to exchange whole lists.
    const gap = this.#bestCount - this.liveCount - this.#recentEndCount(nowMs, windowMs);
    if (gap <= 0) {
      this.#behindSinceMs = undefined;
      return;
    }
    if (this.#behindSinceMs === undefined) {
      this.#behindSinceMs = nowMs;
      this.#learnedInWindow = 0;
      return;
    }
    // While gossip brings new members faster than the gap (a wave of joins), it is at work. Every
    // window of being behind, a node that gossip brought fewer new members than it still lacks
    // asks for a whole list.
    if (nowMs - this.#behindSinceMs < windowMs) return;
    const slow = this.#learnedInWindow < gap;
    this.#behindSinceMs = nowMs;
    this.#learnedInWindow = 0;
    if (slow && nowMs - this.#lastSyncMs >= this.config.syncIntervalMs) {
      this.#lastSyncMs = nowMs;
      this.#syncs.push(this.#bestPeer);
    }
  }

  /** This node's whole list, itself first, with the tombstones it passes on. */
  #fullList(): Entry[] {
    const entries: Entry[] = [this.selfEntry];
    for (let i = 0; i < this.#present.size; i++) entries.push(this.#entry(this.#present.at(i)));
    return entries;
  }

  /** The request that opens a list exchange. */
  syncRequest(): SyncRequest {
    return { kind: "sync-request", settings: this.#settings, entries: this.#fullList() };
  }

  /**
   * Merges a list another node pushed, and answers with what that list lacked or had older:
   * this node's own entry and every entry the requester did not hold as this node does. A node
   * that doubts its own list (after a long stall) does not answer: its list leaves out what it
   * doubts, and a requester that doubts too would take that to be gone and end healthy members.
   */
  acceptSync(nowMs: number, request: SyncRequest, from: Address): SyncResponse | undefined {
    const mark = this.#mergeList(nowMs, request.settings, request.entries, from);
    if (this.#doubting) return undefined;
    const rows = this.#rows;
    const entries: Entry[] = [this.selfEntry];
    for (let i = 0; i < this.#present.size; i++) {
      const slot = this.#present.at(i);
      if (rows[slot * rowSize + fStamp] !== mark) entries.push(this.#entry(slot));
    }
    return { kind: "sync-response", settings: this.#settings, entries };
  }

  /**
   * Merges the list that answered this node's request, which it sent at `askedMs`. An answer to
   * a request sent before this node last stalled settles none of the doubts of that stall: it
   * may have been written before the stall, and read only after.
   */
  applySync(nowMs: number, response: SyncResponse, from: Address, askedMs: number): void {
    this.#mergeList(nowMs, response.settings, response.entries, from);
    const settles = this.#doubting && askedMs >= this.#doubtSinceMs;
    if (this.#phase !== "active" || (!settles && this.#unconfirmed.size === 0)) return;
    const listed = this.#listedSlots(response.entries);
    if (settles) this.#settleDoubts(listed);
    for (const slot of listed) this.#confirm(slot);
  }

  /** The slots whose version in `entries` is the one this node holds, whatever its status. */
  #listedSlots(entries: readonly Entry[]): number[] {
    const listed: number[] = [];
    for (const entry of entries) {
      const slot = this.#book.find(entry.address);
      if (this.#hasRow(slot) && this.#rows[slot * rowSize + fVersion] === entry.version) {
        listed.push(slot);
      }
    }
    return listed;
  }

  /**
   * Stops passing on every row of a live member until a whole list confirms it. Gossip cannot:
   * the datagrams a stalled process reads first are the oldest, queued when it stopped.
   *
   * The list is asked of `from`, the member that just spoke to this node, or else of the next
   * member that does: a member picked from the doubted list may be one that died meanwhile, and a
   * driver runs one list exchange at a time, so asking it would hold up every other until it
   * timed out, past the end of the doubts.
   */
  #doubtAll(nowMs: number, from?: Address): void {
    const live = this.#live;
    for (let i = 0; i < live.size; i++) {
      this.#present.delete(live.at(i));
      this.#forgetNews(live.at(i));
    }
    this.#unconfirmed.clear();
    this.#toConfirm = [];
    this.#doubtSinceMs = nowMs;
    this.#doubting = live.size > 0;
    if (!this.#doubting) return;
    if (from === undefined) {
      this.#doubtSyncMs = nowMs;
      return;
    }
    this.#syncs.push(from);
    this.#doubtSyncMs = nowMs + this.config.syncIntervalMs;
  }

  /**
   * Passes on again the rows a whole list from a live member confirmed (`listed`: the same
   * version, whatever the status or incarnation, which may be newer here). Each live member the
   * list did not hold is probed: the cluster may have failed and forgotten it, or the list may
   * be behind. One that does not answer in time is ended (`#endUnconfirmed`); they are asked
   * `unconfirmedProbesMax` at a time.
   */
  #settleDoubts(listed: readonly number[]): void {
    this.#doubting = false;
    for (const slot of listed) if (this.#live.has(slot)) this.#present.add(slot);
    const rows = this.#rows;
    const doubted: Unconfirmed[] = [];
    for (let i = 0; i < this.#live.size; i++) {
      const slot = this.#live.at(i);
      if (this.#present.has(slot)) continue;
      doubted.push({
        address: this.#book.address(slot),
        version: rows[slot * rowSize + fVersion],
        heartbeat: rows[slot * rowSize + fHeartbeat],
      });
    }
    this.#toConfirm = doubted;
    this.#askNextConfirms();
  }

  /** True while members are asked to confirm themselves, or wait to be. */
  get #awaitingConfirms(): boolean {
    return this.#unconfirmed.size > 0 || this.#toConfirm.length > 0;
  }

  /** Asks the next batch of doubted members, still as they were doubted, to confirm themselves. */
  #askNextConfirms(): void {
    while (this.#unconfirmed.size < unconfirmedProbesMax && this.#toConfirm.length > 0) {
      const waiting = this.#toConfirm.pop()!;
      const slot = this.#book.find(waiting.address);
      if (slot < 0 || !this.#stillUnconfirmed(slot, waiting)) continue;
      this.#unconfirmed.set(slot, waiting);
      this.counters.confirmsAsked++;
      this.#pushProbe(slot, true);
    }
    // Given as long to answer as a silent neighbour is before it is suspected.
    if (this.#awaitingConfirms) this.#confirmByMs = this.#nowMs + this.config.suspectAfterMs;
  }

  #doubtsEndMs(): number {
    return this.#doubtSinceMs + 2 * this.config.syncIntervalMs;
  }

  /**
   * Doubts no whole list settled in two list intervals are dropped: nobody answered with a list
   * because every member is in doubt too (the whole cluster was stopped, as on a laptop that
   * slept). This node's own list is the best there is; silence timeouts end whoever died, and the
   * others' memory of ended versions keeps those out.
   */
  #endDoubts(nowMs: number): void {
    if (!this.#doubting || nowMs < this.#doubtsEndMs()) return;
    this.#doubting = false;
    for (let i = 0; i < this.#live.size; i++) this.#present.add(this.#live.at(i));
  }

  /**
   * Passes on again a member that answered for itself, or that a later whole list holds. True
   * when it was awaited.
   */
  #confirm(slot: number): boolean {
    const waiting = this.#unconfirmed.get(slot);
    if (waiting === undefined) return false;
    this.#unconfirmed.delete(slot);
    if (this.#stillUnconfirmed(slot, waiting)) this.#present.add(slot);
    return true;
  }

  /**
   * A datagram from an awaited member itself, with a heartbeat past the one held when it was
   * asked, is its word too: what was queued during the stall had been read by then.
   */
  #confirmSender(sender: Entry): void {
    const slot = this.#book.find(sender.address);
    const waiting = this.#unconfirmed.get(slot);
    if (
      waiting !== undefined && waiting.version === sender.version &&
      sender.heartbeat > waiting.heartbeat
    ) this.#confirm(slot);
  }

  #stillUnconfirmed(slot: number, waiting: Unconfirmed): boolean {
    return this.#live.has(slot) && !this.#present.has(slot) &&
      this.#book.address(slot) === waiting.address &&
      this.#rows[slot * rowSize + fVersion] === waiting.version;
  }

  /** Ends the members that did not answer their probe in time. */
  #endUnconfirmed(nowMs: number): void {
    if (!this.#awaitingConfirms || nowMs < this.#confirmByMs) return;
    for (const [slot, waiting] of this.#unconfirmed) {
      if (this.#stillUnconfirmed(slot, waiting)) {
        this.counters.confirmsEnded++;
        this.#endStale(slot);
      }
    }
    this.#unconfirmed.clear();
    this.#askNextConfirms();
  }

  /**
   * Ends a member the cluster no longer knows. It stays as a failed tombstone, so that the
   * member, were it alive after all, is told so and comes back as a new version.
   */
  #endStale(slot: number): void {
    const row = slot * rowSize;
    this.#rows[row + fStatus] = Status.Failed;
    this.#rows[row + fRemoved] = 1;
    this.#loseLive(this.#nowMs, slot);
    this.#forgetNews(slot);
    this.#failed.add(slot);
    this.#later(this.#tombstones, this.#deadline(slot, this.#nowMs + this.config.tombstoneMs));
    this.#emit(
      "REMOVE",
      slot,
      this.#rows[row + fVersion],
      this.#rows[row + fIncarnation],
      "stale",
    );
  }

  /**
   * Merges a whole list. Returns a stamp that marks the rows the list held exactly as this node
   * now holds them (same version, incarnation, status and tombstone state).
   */
  #mergeList(
    nowMs: number,
    settings: Settings,
    entries: readonly Entry[],
    from: Address,
  ): number {
    this.#enter(nowMs);
    const mark = this.#nextStamp();
    if (this.#phase !== "active") return mark;
    this.#mergeSettings(settings, from);
    for (const entry of entries) {
      if (entry.address === this.address) {
        this.#mergeAboutSelf(nowMs, entry, from);
        if (this.#phase !== "active") return mark;
        continue;
      }
      this.#merge(nowMs, entry, "list", from, false);
      const slot = this.#book.find(entry.address);
      if (slot < 0 || slot >= this.#capacity) continue;
      // The table may have grown during the merge: index it afresh.
      const rows = this.#rows;
      const row = slot * rowSize;
      if (
        rows[row + fVersion] === entry.version && rows[row + fStatus] === entry.status &&
        rows[row + fIncarnation] === entry.incarnation
      ) rows[row + fStamp] = mark;
    }
    return mark;
  }

  /** The request a joiner sends to any member. */
  joinRequest(): JoinRequest {
    return { kind: "join-request", entry: this.selfEntry };
  }

  /** Admits a joiner and answers with the whole list, or refuses it with a reason. */
  acceptJoin(nowMs: number, request: JoinRequest): JoinResponse {
    this.#enter(nowMs);
    const refuse = (reason: string): JoinResponse => {
      this.counters.joinsRefused++;
      return { kind: "join-response", accepted: false, reason };
    };
    if (this.#phase !== "active") return refuse("this member is leaving the group");
    const joiner = request.entry;
    if (joiner.address === this.address) return refuse(`${joiner.address} is this member's own`);
    if (joiner.status !== Status.Alive) return refuse("a joiner must be alive");
    const ended = this.#ended.size === 0 ? undefined : this.#ended.versionOf(joiner.address);
    if (ended !== undefined && joiner.version <= ended) {
      return refuse(
        `version ${joiner.version} of ${joiner.address} is not newer than ${ended}, already seen`,
      );
    }
    const slot = this.#book.find(joiner.address);
    if (this.#hasRow(slot)) {
      const known = this.#rows[slot * rowSize + fVersion];
      const status = this.#rows[slot * rowSize + fStatus];
      // The same version, still listed alive or suspect, is the joiner asking again because the
      // answer was lost or late: answer again. Only an ended or older version is refused.
      const retry = known === joiner.version &&
        (status === Status.Alive || status === Status.Suspect);
      if (known >= joiner.version && !retry) {
        return refuse(
          `version ${joiner.version} of ${joiner.address} is not newer than ${known}, already seen`,
        );
      }
    }
    this.#merge(nowMs, joiner, "join", joiner.address);
    const joined = this.#book.find(joiner.address);
    if (joined < 0 || this.#rows[joined * rowSize + fStatus] === noEntryStatus) {
      return refuse("member table full");
    }
    this.#heard(joined, nowMs, true);
    this.counters.joinsAccepted++;
    return {
      kind: "join-response",
      accepted: true,
      settings: this.#settings,
      entries: this.#fullList(),
    };
  }

  /**
   * Adopts the list a member answered a join with. The cluster's settings replace this node's,
   * unless gossip has already brought it later ones (a join retried after a slow first answer).
   */
  applyJoinResponse(nowMs: number, response: JoinResponse, from: Address): void {
    this.#enter(nowMs);
    if (!response.accepted || this.#phase !== "active") return;
    if (!epochNewer(this.#settings.epoch, response.settings.epoch)) {
      this.#adoptSettings(response.settings, "list", from);
    }
    for (const entry of response.entries) {
      if (entry.address !== this.address) this.#merge(nowMs, entry, "list", from, false);
    }
  }

  /** Leaves the group: announces it for `leaveRounds` rounds, then goes quiet. */
  leave(nowMs: number): void {
    this.#enter(nowMs);
    if (this.#phase !== "active") return;
    this.#phase = "leaving";
    this.#selfSinceMs = nowMs;
    this.#leaveRoundsLeft = this.config.leaveRounds;
    this.#emit("LEAVE", this.#self, this.#version, this.#incarnation, "self");
    this.#announce(this.#self);
    this.#nextRoundMs = nowMs;
  }

  /** Switches suspicion on or off for the whole cluster. */
  setSuspicion(nowMs: number, enabled: boolean): void {
    this.#enter(nowMs);
    // The epoch rises even when the value here already matches: a switch the other way, made
    // elsewhere a moment ago and not yet heard of here, must not win over this later one. It
    // counts round past the widest (see `epochNewer`), so a forged widest epoch locks nothing.
    this.#adoptSettings(
      { epoch: (this.#settings.epoch + 1) % (uint32Max + 1), suspicion: enabled },
      "self",
    );
  }

  // ---- time -----------------------------------------------------------------------------------

  #enter(nowMs: number): void {
    if (!(nowMs >= this.#nowMs && nowMs < Infinity)) {
      throw new AssertionError(`time must be finite and never go back: ${nowMs} < ${this.#nowMs}`);
    }
    // A node that could not run for a while has heard nothing in that time through no fault of
    // the others: its silence timers restart instead of firing at everyone at once.
    const stalledMs = nowMs - this.#nowMs;
    this.#nowMs = nowMs;
    if (stalledMs > this.config.stallThresholdMs) {
      this.#trustSinceMs = nowMs;
      this.counters.stalls++;
      // Silent for longer than a member takes to be failed, this version has been failed by the
      // others: fail-stop, so it comes back as a new one. Waiting to be told so is not enough:
      // after a long enough stall nobody remembers the old version, and would take it back.
      const config = this.config;
      const failedAfterMs = this.#settings.suspicion
        ? config.suspectAfterMs + config.suspectTimeoutMs
        : config.failAfterMs;
      if (this.#phase === "active" && stalledMs > failedAfterMs) {
        this.#rejoin(nowMs, this.#version + 1, "self");
        this.#doubtAll(nowMs);
      }
    }
  }

  /** Since when a neighbour has been silent, as far as this node can tell. */
  #silentSinceMs(slot: number): number {
    return Math.max(
      this.#unheard.has(slot) ? -Infinity : this.#rows[slot * rowSize + fHeard],
      this.#neighborSince.get(slot)!,
      this.#trustSinceMs,
    );
  }

  /** When a neighbour is to be probed: once per silence, `probeAfterMs` into it. */
  #probeDeadline(slot: number): number {
    const status = this.#rows[slot * rowSize + fStatus];
    if (status !== Status.Alive && status !== Status.Suspect) return Infinity;
    const silentSince = this.#silentSinceMs(slot);
    if (this.#probedSilence.get(slot) === silentSince) return Infinity;
    return silentSince + this.config.probeAfterMs;
  }

  /**
   * Sends a silent neighbour, over TCP, the heartbeat it would get by UDP. Its answer, if it is
   * alive and reachable over TCP, ends the silence before the neighbour is suspected or failed.
   */
  #probe(slot: number): void {
    this.#probedSilence.set(slot, this.#silentSinceMs(slot));
    this.counters.probesSent++;
    this.#pushProbe(slot, false);
  }

  /** Queues a probe of a member: the heartbeat datagram it would get, sent over TCP. */
  #pushProbe(slot: number, confirm: boolean): void {
    const { entries } = this.#build(slot, false);
    this.#probes.push({
      to: this.#book.address(slot),
      message: { kind: "probe", settings: this.#settings, members: this.liveCount, entries },
      ...(confirm ? { confirm } : {}),
    });
  }

  /** When a neighbour's silence (or suspicion) runs out. */
  #neighborDeadline(slot: number): number {
    const config = this.config;
    const heard = this.#silentSinceMs(slot);
    const status = this.#rows[slot * rowSize + fStatus];
    if (!this.#settings.suspicion) return heard + config.failAfterMs;
    if (status === Status.Alive) return heard + config.suspectAfterMs;
    const since = Math.max(this.#rows[slot * rowSize + fSince], this.#trustSinceMs);
    return Math.max(
      since + config.suspectTimeoutMs,
      heard + config.suspectAfterMs + config.suspectTimeoutMs,
    );
  }

  #checkNeighbors(nowMs: number): void {
    let due: number[] | undefined;
    for (const slot of this.#ring.neighbors()) {
      if (this.#probeDeadline(slot) <= nowMs) this.#probe(slot);
      if (this.#neighborDeadline(slot) <= nowMs) (due ??= []).push(slot);
    }
    if (due === undefined) return;
    for (const slot of due) {
      const status = this.#rows[slot * rowSize + fStatus];
      if (status !== Status.Alive && status !== Status.Suspect) continue;
      if (this.#settings.suspicion && status === Status.Alive) {
        this.#rows[slot * rowSize + fStatus] = Status.Suspect;
        this.#rows[slot * rowSize + fSince] = nowMs;
        this.counters.suspicionsRaised++;
        this.#announce(slot);
        this.#emit(
          "SUSPECT",
          slot,
          this.#rows[slot * rowSize + fVersion],
          this.#rows[slot * rowSize + fIncarnation],
          "timeout",
        );
      } else {
        this.counters.failuresDetected++;
        this.#end(nowMs, slot, Status.Failed, "timeout");
      }
    }
  }

  #expire(nowMs: number): void {
    for (
      let item = this.#cleanup.peek();
      item && item.dueMs <= nowMs;
      item = this.#cleanup.peek()
    ) {
      this.#cleanup.shift();
      const slot = item.slot;
      if (!this.#holds(item) || this.#rows[slot * rowSize + fRemoved] === 1) continue;
      this.#rows[slot * rowSize + fRemoved] = 1;
      this.#forgetNews(slot);
      this.#emit(
        "REMOVE",
        slot,
        item.version,
        this.#rows[slot * rowSize + fIncarnation],
        "cleanup",
      );
      this.#later(this.#tombstones, { ...item, dueMs: nowMs + this.config.tombstoneMs });
    }
    for (
      let item = this.#tombstones.peek();
      item && item.dueMs <= nowMs;
      item = this.#tombstones.peek()
    ) {
      this.#tombstones.shift();
      if (!this.#holds(item) || this.#rows[item.slot * rowSize + fRemoved] === 0) continue;
      this.#forget(item.slot);
    }
  }

  /**
   * Queues a deadline. One whose row has since been forgotten or superseded waits in the queue
   * until it is due: a stream of entries forged to end at once (a new version of one address
   * each time) would fill the queue for the whole tombstone time. So once the queue is well past
   * the table's size, what no longer refers to the table is dropped.
   */
  #later(queue: DeadlineQueue, item: Deadline): void {
    queue.push(item);
    if (queue.size > 2 * this.#capacity + 1024) queue.compact((waiting) => this.#holds(waiting));
  }

  /** True when a queued deadline still refers to what the table holds. */
  #holds(item: Deadline): boolean {
    const slot = item.slot;
    return this.#rows[slot * rowSize + fStatus] !== noEntryStatus &&
      this.#rows[slot * rowSize + fVersion] === item.version &&
      this.#book.address(slot) === item.address;
  }

  /**
   * Every `reconnectIntervalMs`, a gossip to one failed address: one still in the table, or one
   * forgotten whose ended version is remembered. A member that is alive there after all (across
   * a healed partition) hears that it failed and comes back as a new version.
   */
  #reconnect(nowMs: number): void {
    if (nowMs < this.#nextReconnectMs) return;
    this.#nextReconnectMs = nowMs + this.config.reconnectIntervalMs;
    this.#ended.expire(nowMs);
    const choices = this.#failed.size + this.#ended.size;
    if (choices === 0) return;
    const pick = this.#random.below(choices);
    if (pick < this.#failed.size) {
      // Not a full gossip: its own entry, failed, is what it must hear, and a full one every
      // second for as long as a failure is remembered cost every node 1.4 KB/s more.
      this.#send(this.#failed.at(pick), false);
      return;
    }
    const ended = this.#ended.at(pick - this.#failed.size);
    // A member that left is not looked for, nor one whose address the table holds again.
    if (!ended.failed || this.#hasRow(this.#book.find(ended.address))) return;
    this.#tellEnded(nowMs, ended.address, ended.version);
  }

  /**
   * Tells an address that its member's `version` failed: a datagram with this node's own entry
   * and that version's, failed. Sent where the table no longer holds the member, so it is built
   * here rather than from a row.
   */
  #tellEnded(nowMs: number, address: Address, version: number): void {
    if (!this.#onceARound(this.#toldEndedMs, address, nowMs)) return;
    const entries: Entry[] = [this.#entry(this.#self), endedEntry(address, version)];
    this.#post(address, entries, this.#entryBytes(entries[0]) + this.#entryBytes(entries[1]));
  }

  /** Sends a member the failures and leaves it still lists as live, as many as fit. */
  #tellBehind(nowMs: number, address: Address, slots: readonly number[]): void {
    if (!this.#onceARound(this.#toldBehindMs, address, nowMs)) return;
    const budget = this.#entriesBytesMax();
    const entries: Entry[] = [this.#entry(this.#self)];
    let used = this.#entryBytes(entries[0]);
    for (const slot of slots) {
      const entry = this.#entry(slot);
      const size = this.#entryBytes(entry);
      if (used + size > budget) break;
      used += size;
      entries.push(entry);
    }
    this.counters.behindTold++;
    this.#post(address, entries, used);
  }

  /** The most bytes of entries one datagram carries, whatever its count fields hold. */
  #entriesBytesMax(): number {
    const config = this.config;
    return config.datagramBytesMax - config.datagramOverheadBytes -
      gossipFrameBytes(this.#settings, 0xffff_ffff, 0x1_0000);
  }

  /** Queues a gossip datagram of `entries` (`entriesBytes` encoded) to `to`, and counts it. */
  #post(to: Address, entries: Entry[], entriesBytes: number): void {
    const members = this.liveCount;
    const bytes = entriesBytes + gossipFrameBytes(this.#settings, members, entries.length);
    const config = this.config;
    assert(bytes <= config.datagramBytesMax - config.datagramOverheadBytes, "datagram too large");
    this.counters.datagramsSent++;
    this.counters.bytesSent += bytes;
    this.#outbox.push({
      to,
      message: { kind: "gossip", settings: this.#settings, members, entries },
      bytes,
    });
  }

  // ---- rounds and datagrams -------------------------------------------------------------------

  #round(): void {
    this.#roundEntries = new Map();
    try {
      this.#roundSends();
    } finally {
      this.#roundEntries = undefined;
    }
  }

  #roundSends(): void {
    this.#heartbeat++;
    const neighbors = this.#ring.neighbors();
    if (this.#phase === "leaving") {
      const targets = new Set(neighbors);
      const extra = Math.min(this.#live.size, this.config.gossipFanout * 2);
      for (let i = 0; i < extra * 4 && targets.size < neighbors.size + extra; i++) {
        targets.add(this.#live.at(this.#random.below(this.#live.size)));
      }
      for (const slot of targets) this.#send(slot, false);
      this.#leaveRoundsLeft--;
      if (this.#leaveRoundsLeft <= 0) this.#phase = "left";
      return;
    }
    for (const slot of neighbors) this.#send(slot, false);
    const live = this.#live.size;
    // A backlog of news (a wave of joins, say) is worked off with more random targets per round.
    const config = this.config;
    const extra = Math.min(
      config.gossipFanoutMax - config.gossipFanout,
      Math.floor((this.#news.size + this.#joins.size) / newsPerExtraGossip),
    );
    const fanout = Math.min(config.gossipFanout + Math.max(0, extra), live);
    if (fanout === live) {
      for (let i = 0; i < live; i++) this.#send(this.#live.at(i), true);
    } else {
      const picked = new Set<number>();
      while (picked.size < fanout) picked.add(this.#live.at(this.#random.below(live)));
      for (const slot of picked) this.#send(slot, true);
    }
  }

  #reply(nowMs: number, slot: number): void {
    if (this.#onceARound(this.#repliedMs, slot, nowMs)) this.#send(slot, false);
  }

  /** True, and noted, when `key` was not sent to within the last round (a bounded memory). */
  #onceARound<K>(sentMs: Map<K, number>, key: K, nowMs: number): boolean {
    const last = sentMs.get(key);
    if (last !== undefined && nowMs - last < this.config.gossipIntervalMs) return false;
    if (sentMs.size > 4096) sentMs.clear();
    sentMs.set(key, nowMs);
    return true;
  }

  /** Queues a member's entry as news. */
  #announce(slot: number): void {
    this.#joins.delete(slot);
    this.#news.add(slot);
  }

  /** Queues a new member's entry as news of a join. */
  #announceJoin(slot: number): void {
    this.#news.delete(slot);
    this.#joins.add(slot);
  }

  #forgetNews(slot: number): void {
    this.#news.delete(slot);
    this.#joins.delete(slot);
  }

  /** The retransmit limit for news at the current cluster size. */
  #newsLimit(): number {
    return this.config.retransmitMult * Math.ceil(Math.log10(this.#live.size + 2));
  }

  /**
   * The retransmit limit for joins: that of other news, so that a join reaches every member by
   * gossip (a member that misses it asks for a whole list later, which costs far more); during a
   * wave of joins, a fraction of it, so that the wave does not swamp the cluster with its news.
   */
  #joinLimit(limit: number): number {
    return this.#joins.size > joinWaveNews ? Math.ceil(limit / joinNewsDivisor) : limit;
  }

  #send(target: number, full: boolean): void {
    const { entries, used } = this.#build(target, full);
    this.#post(this.#book.address(target), entries, used);
  }

  /**
   * Builds one datagram to a member: this node's entry, the member's own entry when this node
   * holds it as suspect or failed (so it can refute or come back), news, and, for a full gossip,
   * a rotating slice of the list until the datagram is full. Returns its entries and their size.
   */
  #build(target: number, full: boolean): { entries: Entry[]; used: number } {
    const config = this.config;
    const budget = this.#entriesBytesMax();
    const mark = this.#nextStamp();
    const rows = this.#rows;
    const entries: Entry[] = [this.#entry(this.#self)];
    rows[this.#self * rowSize + fStamp] = mark;
    let used = this.#entryBytes(entries[0]);

    const targetStatus = this.#rows[target * rowSize + fStatus];
    if (targetStatus !== Status.Alive && targetStatus !== noEntryStatus) {
      const entry = this.#entry(target);
      used += this.#entryBytes(entry);
      entries.push(entry);
      rows[target * rowSize + fStamp] = mark;
    }

    if (!full) {
      // Neighbours relay each other's heartbeats: a watcher that lost X's own datagram still
      // hears X's heartbeat grow through the members they both neighbour, so loss alone rarely
      // makes it suspect X. Only the entries the target itself watches are worth its bytes.
      rows[target * rowSize + fStamp] = mark;
      for (const slot of this.#ring.sharedWith(target)) {
        if (rows[slot * rowSize + fStamp] === mark || !this.#present.has(slot)) continue;
        // Only what this node heard itself: the target takes these relays as a watcher's word.
        if (this.#unheard.has(slot)) continue;
        const entry = this.#entry(slot);
        // Entries come from the network and may be long (an address of 255 characters, numbers
        // at their widest): the budget holds for these too, or a crafted neighbour could make
        // this datagram too large to send.
        const size = this.#entryBytes(entry);
        if (used + size > budget) continue;
        used += size;
        entries.push(entry);
        rows[slot * rowSize + fStamp] = mark;
      }
    }

    // News sent to neighbours does not count toward the retransmit limit: neighbours are the same
    // few members every round, so only random targets spread news through the cluster. Joins go
    // to random targets only: neighbours learn them from the joiner itself.
    let news = 0;
    const newsMax = full ? Infinity : config.heartbeatNewsMax;
    const take = (slot: number): boolean | null => {
      if (rows[slot * rowSize + fStamp] === mark) return true;
      if (news >= newsMax) return null;
      const entry = this.#entry(slot);
      const size = this.#entryBytes(entry);
      if (used + size > budget) return null;
      used += size;
      entries.push(entry);
      rows[slot * rowSize + fStamp] = mark;
      news++;
      return true;
    };
    const limit = this.#newsLimit();
    this.#news.pick(limit, full, take);
    if (full && used < budget) this.#joins.pick(this.#joinLimit(limit), true, take);

    if (full) {
      const present = this.#present;
      let slice = 0;
      for (let visited = 0; visited < present.size && slice < config.sliceEntriesMax; visited++) {
        if (this.#sliceCursor >= present.size) this.#sliceCursor = 0;
        const slot = present.at(this.#sliceCursor);
        if (rows[slot * rowSize + fStamp] === mark) {
          this.#sliceCursor++;
          continue;
        }
        const entry = this.#entry(slot);
        const size = this.#entryBytes(entry);
        if (used + size > budget) break;
        used += size;
        entries.push(entry);
        rows[slot * rowSize + fStamp] = mark;
        this.#sliceCursor++;
        slice++;
      }
    }
    return { entries, used };
  }

  /** Starts a new datagram: marks from earlier ones no longer count. */
  #nextStamp(): number {
    this.#stampValue++;
    if (this.#stampValue === Number.MAX_SAFE_INTEGER) {
      for (let i = fStamp; i < this.#rows.length; i += rowSize) this.#rows[i] = 0;
      this.#stampValue = 1;
    }
    return this.#stampValue;
  }

  #entryBytes(entry: Entry): number {
    return entryBytes(entry.address.length, entry.version, entry.incarnation, entry.heartbeat);
  }

  #entry(slot: number): Entry {
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
    if (slot === this.#self) return this.selfEntry;
    return {
      address: this.#book.address(slot),
      version: this.#rows[slot * rowSize + fVersion],
      incarnation: this.#rows[slot * rowSize + fIncarnation],
      heartbeat: this.#rows[slot * rowSize + fHeartbeat],
      status: this.#rows[slot * rowSize + fStatus] as Status,
    };
  }

  // ---- merging --------------------------------------------------------------------------------

  #mergeSettings(settings: Settings, from: Address): void {
    const mine = this.#settings;
    if (
      epochNewer(settings.epoch, mine.epoch) ||
      (settings.epoch === mine.epoch && settings.suspicion && !mine.suspicion)
    ) {
      this.#adoptSettings(settings, "gossip", from);
    }
  }

  /** Takes the cluster's settings; the event log says so only when the switch itself flips. */
  #adoptSettings(settings: Settings, via: Via, from?: Address): void {
    const flipped = settings.suspicion !== this.#settings.suspicion;
    this.#settings = { epoch: settings.epoch, suspicion: settings.suspicion };
    if (flipped) this.#emitSettings(via, from);
  }

  /** Merges what another node says about this node; returns true when the sender should be told. */
  #mergeAboutSelf(nowMs: number, entry: Entry, from: Address): boolean {
    if (entry.version < this.#version) return false;
    if (entry.version > this.#version) {
      this.#rejoin(nowMs, entry.version + 1, "gossip", from);
      return false;
    }
    if (entry.status === Status.Failed || entry.status === Status.Left) {
      this.#rejoin(nowMs, this.#version + 1, "gossip", from);
      // Told its version ended and was forgotten, without a stall of its own (a machine that
      // slept, its clock standing still): its list may be as old as after one, and is doubted the
      // same way. Told it merely failed (a partition that healed), its list is recent; doubting
      // it would end members the first list it is sent lacks only because they came back a
      // moment ago, and they would come back again, and so on through the cluster.
      if (isEndedEntry(entry) && !this.#doubting) this.#doubtAll(nowMs, from);
      return false;
    }
    // An entry of this version ahead of what this node ever sent (a higher incarnation, or a
    // higher heartbeat at this one) is forged or corrupt; left standing, it would hide this
    // node's own heartbeats from everyone holding it. It is refuted like a suspicion.
    const ahead = entry.incarnation > this.#incarnation ||
      (entry.incarnation === this.#incarnation && entry.heartbeat > this.#heartbeat);
    const suspect = entry.status === Status.Suspect;
    if (ahead || (suspect && entry.incarnation === this.#incarnation)) {
      if (entry.incarnation >= uint32Max) {
        // No larger incarnation fits the wire: come back as a new version instead.
        this.#rejoin(nowMs, this.#version + 1, "gossip", from);
        return false;
      }
      this.#incarnation = entry.incarnation + 1;
      this.counters.refutations++;
      this.#announce(this.#self);
      this.#emit("REFUTE", this.#self, this.#version, this.#incarnation, "self", from);
      return true;
    }
    return suspect;
  }

  /**
   * Comes back as a new version after the group declared this one failed (or saw a newer one):
   * fail-stop, so the old version stays dead.
   */
  #rejoin(nowMs: number, atLeast: number, via: Via, from?: Address): void {
    const old = this.#version;
    // Versions are whole milliseconds; the shell hands in fractional times.
    const next = Math.max(
      atLeast,
      old + 1,
      Math.floor(this.#versionOrigin + (nowMs - this.#originMs)),
    );
    // Only a forged entry names a version this close to the wire's widest: ignored.
    if (next > versionMax) return;
    this.#emit("REMOVE", this.#self, old, this.#incarnation, via, from);
    this.#version = next;
    this.#incarnation = 0;
    this.#heartbeat = 0;
    this.counters.rejoins++;
    this.#ring.setCenter(ringHash(this.address, next));
    this.#rebuildRing(nowMs);
    this.#announce(this.#self);
    this.#emit("JOIN", this.#self, next, 0, "self");
  }

  /**
   * Merges one entry. `news` is false for whole lists (a join response, a list exchange): what
   * they bring is old to the cluster, so this node does not retransmit it.
   */
  #merge(nowMs: number, entry: Entry, via: Via, from: Address, news = true): void {
    const ended = this.#ended.size === 0 ? undefined : this.#ended.versionOf(entry.address);
    if (ended !== undefined && entry.version <= ended) {
      // Ended and forgotten here: a sender still speaking as that version is told it failed.
      this.counters.entriesStale++;
      if (entry.address === from && !isTerminal(entry.status)) {
        this.#tellEnded(nowMs, from, ended);
      }
      return;
    }
    // Just after a stall the datagrams read first are the oldest, queued while it stopped: a
    // member they bring in may have died and been forgotten by everyone since, and would come
    // back through this node. Until a whole list settles its doubts (and brings in every member
    // that is real), gossip adds no live member.
    if (this.#doubting && via === "gossip" && !isTerminal(entry.status)) {
      const held = this.#book.find(entry.address);
      if (!this.#hasRow(held) || entry.version > this.#rows[held * rowSize + fVersion]) {
        this.counters.entriesDoubted++;
        return;
      }
    }
    const slot = this.#book.intern(entry.address);
    if (slot < 0) {
      this.counters.entriesDroppedTableFull++;
      return;
    }
    if (slot >= this.#capacity) this.#grow();
    const status = this.#rows[slot * rowSize + fStatus];
    if (status !== noEntryStatus) {
      const known = this.#rows[slot * rowSize + fVersion];
      if (entry.version < known) {
        this.counters.entriesStale++;
        return;
      }
      if (entry.version > known) {
        this.#supersede(nowMs, slot, from);
      } else {
        this.#mergeSameVersion(nowMs, slot, entry, via, from, news);
        return;
      }
    }
    if (isTerminal(entry.status)) {
      // A member this node never saw alive: remembered as a tombstone, so that stale gossip of
      // that version cannot bring it in, but neither listed nor passed on. Were it passed on, a
      // member whose own tombstone had just run out would hear it back and start it afresh, and
      // the cluster would keep the dead member for ever.
      this.#store(slot, entry, nowMs);
      this.#rows[slot * rowSize + fRemoved] = 1;
      this.#present.delete(slot);
      if (entry.status === Status.Failed) this.#failed.add(slot);
      this.#later(this.#tombstones, this.#deadline(slot, nowMs + this.config.tombstoneMs));
      return;
    }
    this.#store(slot, entry, nowMs);
    this.#present.add(slot);
    this.#live.add(slot);
    if (this.#ring.offer(slot, ringHash(entry.address, entry.version))) this.#syncNeighbors(nowMs);
    if (from === entry.address) this.#unheard.delete(slot);
    if (news) {
      this.#announceJoin(slot);
      this.#learnedInWindow++;
    }
    this.#emit("JOIN", slot, entry.version, entry.incarnation, via, from);
    if (entry.status === Status.Suspect) {
      this.#emit("SUSPECT", slot, entry.version, entry.incarnation, via, from);
    }
  }

  #mergeSameVersion(
    nowMs: number,
    slot: number,
    entry: Entry,
    via: Via,
    from: Address,
    news: boolean,
  ): void {
    const status = this.#rows[slot * rowSize + fStatus];
    if (this.#rows[slot * rowSize + fRemoved] === 1) return;
    if (isTerminal(status as Status)) {
      // The member itself, gossiping on, is answered as a ghost instead (`#mergeGossip`).
      if (!isTerminal(entry.status) && from !== entry.address) this.#behind?.push(slot);
      return;
    }
    // Heartbeats count within an incarnation: a refutation starts a new count, so that a forged
    // heartbeat, held everywhere, is undone by the one refutation it provokes.
    const incarnation = this.#rows[slot * rowSize + fIncarnation];
    if (
      entry.incarnation > incarnation ||
      (entry.incarnation === incarnation &&
        entry.heartbeat > this.#rows[slot * rowSize + fHeartbeat])
    ) {
      this.#rows[slot * rowSize + fHeartbeat] = entry.heartbeat;
      // A refutation is news the member made after it was suspected, whoever passes it on; so is
      // a heartbeat relayed by a fellow watcher (it relays only what it heard itself), which keeps
      // a member this node cannot reach directly (a link that drops everything) alive.
      this.#heard(
        slot,
        nowMs,
        from === entry.address || entry.incarnation > incarnation ||
          (entry.status === Status.Alive && this.#relayedByWatcher(slot, from)),
      );
    }
    if (entry.status === Status.Failed || entry.status === Status.Left) {
      this.#end(nowMs, slot, entry.status, via, from, news);
      return;
    }
    if (entry.incarnation > incarnation) {
      this.#rows[slot * rowSize + fIncarnation] = entry.incarnation;
      if (news) this.#announce(slot);
      if (entry.status === Status.Suspect) {
        this.#rows[slot * rowSize + fStatus] = Status.Suspect;
        this.#rows[slot * rowSize + fSince] = nowMs;
        this.#emit("SUSPECT", slot, entry.version, entry.incarnation, via, from);
      } else if (status === Status.Suspect) {
        this.#rows[slot * rowSize + fStatus] = Status.Alive;
        this.#rows[slot * rowSize + fSince] = nowMs;
        this.#emit("REFUTE", slot, entry.version, entry.incarnation, via, from);
      }
    } else if (
      entry.incarnation === incarnation && entry.status === Status.Suspect &&
      status === Status.Alive
    ) {
      this.#rows[slot * rowSize + fStatus] = Status.Suspect;
      this.#rows[slot * rowSize + fSince] = nowMs;
      if (news) this.#announce(slot);
      this.#emit("SUSPECT", slot, entry.version, entry.incarnation, via, from);
    }
  }

  /** Ends a live member's version: it failed or left. */
  #end(
    nowMs: number,
    slot: number,
    status: Status,
    via: Via,
    from?: Address,
    news = true,
  ): void {
    this.#rows[slot * rowSize + fStatus] = status;
    this.#rows[slot * rowSize + fSince] = nowMs;
    this.#present.add(slot);
    this.#loseLive(nowMs, slot);
    if (status === Status.Failed) this.#failed.add(slot);
    if (this.#recentEnds.length - this.#recentEndsHead < recentEndsMax) {
      this.#recentEnds.push(nowMs);
    }
    if (news) this.#announce(slot);
    this.#later(this.#cleanup, this.#deadline(slot, nowMs + this.config.cleanupAfterMs));
    const kind: EventKind = status === Status.Failed ? "FAIL" : "LEAVE";
    this.#emit(
      kind,
      slot,
      this.#rows[slot * rowSize + fVersion],
      this.#rows[slot * rowSize + fIncarnation],
      via,
      from,
    );
  }

  /**
   * Clears the way for a newer version of the same address. A row still listed (alive, suspect,
   * or failed or left and not yet cleaned up) goes from the list now: its REMOVE is logged, so
   * that every member listed is seen to go.
   */
  #supersede(nowMs: number, slot: number, from: Address): void {
    const status = this.#rows[slot * rowSize + fStatus];
    if (this.#rows[slot * rowSize + fRemoved] === 0) {
      this.#emit(
        "REMOVE",
        slot,
        this.#rows[slot * rowSize + fVersion],
        this.#rows[slot * rowSize + fIncarnation],
        "superseded",
        from,
      );
      if (!isTerminal(status as Status)) this.#loseLive(nowMs, slot);
    }
    this.#failed.delete(slot);
    this.#forgetNews(slot);
    this.#rows[slot * rowSize + fRemoved] = 0;
    this.#rows[slot * rowSize + fStatus] = noEntryStatus;
  }

  /**
   * Notes that a member's heartbeat grew: `direct`ly from the member, or by word as good (a
   * refutation, a fellow watcher's relay), or as another member passed it on. A neighbour probed
   * in its last silence gets a new probe deadline from this new silence.
   */
  #heard(slot: number, nowMs: number, direct: boolean): void {
    this.#rows[slot * rowSize + fHeard] = nowMs;
    if (direct) this.#unheard.delete(slot);
  }

  /** True when an unheard neighbour's entry comes from a neighbour likely to watch it too. */
  #relayedByWatcher(slot: number, from: Address): boolean {
    if (!this.#unheard.has(slot)) return false;
    const sender = this.#book.find(from);
    return sender >= 0 && this.#ring.sharedWith(slot).includes(sender);
  }

  #store(slot: number, entry: Entry, nowMs: number): void {
    this.#rows[slot * rowSize + fStatus] = entry.status;
    this.#rows[slot * rowSize + fRemoved] = 0;
    this.#rows[slot * rowSize + fVersion] = entry.version;
    this.#rows[slot * rowSize + fIncarnation] = entry.incarnation;
    this.#rows[slot * rowSize + fHeartbeat] = entry.heartbeat;
    this.#rows[slot * rowSize + fHeard] = nowMs;
    this.#rows[slot * rowSize + fSince] = nowMs;
  }

  #forget(slot: number): void {
    const status = this.#rows[slot * rowSize + fStatus];
    if (isTerminal(status as Status)) {
      const failed = status === Status.Failed;
      const version = this.#rows[slot * rowSize + fVersion];
      this.#ended.add(this.#book.address(slot), version, failed, this.#nowMs);
    }
    this.#rows[slot * rowSize + fStatus] = noEntryStatus;
    this.#rows[slot * rowSize + fRemoved] = 0;
    this.#present.delete(slot);
    this.#failed.delete(slot);
    this.#forgetNews(slot);
    this.#repliedMs.delete(slot);
    this.#book.release(slot);
  }

  #deadline(slot: number, dueMs: number): Deadline {
    return {
      slot,
      address: this.#book.address(slot),
      version: this.#rows[slot * rowSize + fVersion],
      dueMs,
    };
  }

  #loseLive(nowMs: number, slot: number): void {
    if (!this.#live.has(slot)) return;
    this.#live.delete(slot);
    if (this.#ring.lose(slot)) this.#rebuildRing(nowMs);
  }

  #rebuildRing(nowMs: number): void {
    const live = this.#live;
    const book = this.#book;
    const rows = this.#rows;
    this.#ring.rebuild(
      (function* () {
        for (let i = 0; i < live.size; i++) {
          const slot = live.at(i);
          yield [slot, ringHash(book.address(slot), rows[slot * rowSize + fVersion])] as [
            number,
            number,
          ];
        }
      })(),
    );
    this.#syncNeighbors(nowMs);
  }

  /** Starts the silence clock of new neighbours now: they were not watched before. */
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
      this.#neighborSince.set(slot, nowMs);
      this.#unheard.add(slot);
    }
  }

  /** Makes the table hold every slot the address book has given, and at least `atLeast`. */
  #grow(atLeast = 0): void {
    const extent = Math.max(this.#book.extent, atLeast);
    if (extent <= this.#capacity) return;
    const capacity = Math.min(
      this.#book.capacity,
      Math.max(extent, Math.ceil(this.#capacity * 1.5), 16),
    );
    const rows = new Float64Array(capacity * rowSize);
    rows.set(this.#rows);
    this.#rows = rows;
    this.#news.grow(capacity);
    this.#joins.grow(capacity);
    this.#capacity = capacity;
  }

  // ---- events ---------------------------------------------------------------------------------

  #emit(
    kind: EventKind,
    slot: number,
    version: number,
    incarnation: number,
    via: Via,
    from?: Address,
  ): void {
    const event: MemberEvent = from === undefined
      ? { kind, atMs: this.#nowMs, address: this.#book.address(slot), version, incarnation, via }
      : {
        kind,
        atMs: this.#nowMs,
        address: this.#book.address(slot),
        version,
        incarnation,
        via,
        from,
      };
    this.#events.push(event);
  }

  #emitSettings(via: Via, from?: Address): void {
    const event: MemberEvent = {
      kind: "SETTINGS",
      atMs: this.#nowMs,
      address: this.address,
      version: this.#version,
      incarnation: this.#incarnation,
      via,
      suspicion: this.#settings.suspicion,
      ...(from === undefined ? {} : { from }),
    };
    this.#events.push(event);
  }
}

/**
 * True when settings epoch `a` is later than `b`. Epochs count round past the wire's widest, as
 * serial numbers do (RFC 1982): `a` is later when it is less than half the range ahead. A cluster
 * flips its switch far fewer than 2 billion times between two members hearing of each other.
 */
export function epochNewer(a: number, b: number): boolean {
  const ahead = (a - b + uint32Max + 1) % (uint32Max + 1);
  return ahead !== 0 && ahead < 2 ** 31;
}

/** A member's entry as failed at `version`, for telling an address its old version ended. */
function endedEntry(address: Address, version: number): Entry {
  return { address, version, incarnation: 0, heartbeat: 0, status: Status.Failed };
}

/**
 * True for an entry as `endedEntry` makes it: a version failed before it sent a heartbeat looks
 * the same, and is as new as its list.
 */
function isEndedEntry(entry: Entry): boolean {
  return entry.status === Status.Failed && entry.heartbeat === 0 && entry.incarnation === 0;
}
