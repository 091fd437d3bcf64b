/**
 * The membership protocol as a pure state machine, one per node.
 *
 * Inputs are method calls handed the time: {@linkcode Core.receive}, {@linkcode Core.tick},
 * {@linkcode Core.acceptJoin}, {@linkcode Core.applyJoinResponse}, {@linkcode Core.leave},
 * {@linkcode Core.setSuspicion}, {@linkcode Core.acceptProbe}, {@linkcode Core.applyProbeAck},
 * {@linkcode Core.applyProbeRefused}, {@linkcode Core.relayProbe}, {@linkcode Core.answerRelay},
 * {@linkcode Core.acceptSync}, {@linkcode Core.applySync}.
 * Outputs are pulled: {@linkcode Core.takeDatagrams}, {@linkcode Core.takeProbes},
 * {@linkcode Core.takeEvents} and {@linkcode Core.nextWakeMs}. The core does no I/O, reads no
 * clock and draws randomness only from the generator it is given, so the same inputs and seed give
 * the same outputs.
 *
 * This class is a facade: each mechanism lives in a file of its own, built together as one
 * `View` (`view.ts`), and the facade hands every input to them in order (docs/layout.md lists
 * them). A node builds a new view when, on the smaller side of a healed cut, it starts afresh.
 * The file is over 400 lines because it is the whole public API, every input and output
 * documented where a caller looks; what each does is in the file it hands on to.
 *
 * Failed and left are final for a version (fail-stop). A node told that it failed comes back as
 * a new version; the old one stays dead. Removed members leave a tombstone.
 */
import { AddressBook } from "./address_book.ts";
import { isAddress } from "./address.ts";
import { assert, AssertionError } from "./assert.ts";
import { type Config, configProblem, defaultConfig, timingOf } from "./config.ts";
import type { MemberView } from "./member_table.ts";
import { View } from "./view.ts";
import { type CoreCounters, newCounters, Outputs } from "./outputs.ts";
import type { Random } from "./random.ts";
import { versionMax } from "./wire_size.ts";
import { epochNewer } from "./settings.ts";
import { sameTags, tagsProblem } from "./tags.ts";
import { userEventProblem } from "./user_events.ts";
import type {
  Address,
  Entry,
  Gossip,
  JoinRequest,
  JoinResponse,
  MemberEvent,
  Outgoing,
  OutgoingProbe,
  Probe,
  ProbeAck,
  ProbeRelay,
  Settings,
  SyncRequest,
  SyncResponse,
  Tags,
} from "./types.ts";
import { Status } from "./types.ts";

export type { CoreCounters, MemberView };
export { epochNewer };

/**
 * Rounds for which every datagram a node sends carries its new tags: its neighbours hear them
 * straight away, and its random targets start them on their way as news.
 */
const ownTagsRounds = 3;

/** What a probe answered to {@linkcode Core.applyProbeAck} was, beyond a plain probe. */
export interface ProbeAsked {
  /** Made on another member's behalf (an indirect probe). */
  readonly relayed?: boolean;
  /** A request for an indirect probe of the member at this address. */
  readonly about?: Address;
}

/** What the answer to a probe sent as `message` is to be applied as. */
export function probeAsked(message: Probe | ProbeRelay): ProbeAsked {
  return message.kind === "probe-relay" ? { about: message.entries[1]?.address } : {};
}

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
  /** What this node says about itself from the start (`tags.ts` bounds them). */
  readonly tags?: Tags;
}

/** The protocol state of one node. */
export class Core {
  /** This node's address. */
  readonly address: Address;
  /** The settings in force. */
  readonly config: Config;
  /** Counts of what happened. */
  readonly counters: CoreCounters = newCounters();

  readonly #outputs = new Outputs();
  readonly #random: Random;
  readonly #book: AddressBook;
  readonly #membersExpected: number;
  /** The mechanisms of this node's current view: built anew when it starts afresh (`#restart`). */
  #v!: View;
  #nowMs: number;

  constructor(options: CoreOptions) {
    const config = { ...defaultConfig, ...options.config };
    const problem = configProblem(config);
    assert(problem === undefined, `bad configuration: ${problem}`);
    assert(isAddress(options.address), `bad address: ${options.address}`);
    assert(Number.isSafeInteger(options.version) && options.version > 0, "bad version");
    assert(Number.isFinite(options.nowMs), "bad time");
    this.config = config;
    this.address = options.address;
    this.#nowMs = options.nowMs;
    this.#random = options.random;
    this.#book = options.book ?? new AddressBook(config.memberTableMax);
    this.#membersExpected = options.membersExpected ?? 0;
    if (options.tags !== undefined) {
      const problem = tagsProblem(options.tags);
      assert(problem === undefined, `bad tags: ${problem}`);
    }
    this.#v = this.#view(
      options.nowMs,
      options.version,
      options.suspicion,
      undefined,
      options.tags,
    );
  }

  /** A view of this node as `version` (`view.ts`), whose JOIN it logs. */
  #view(
    nowMs: number,
    version: number,
    settings: Settings | boolean | undefined,
    origin?: { readonly version: number; readonly atMs: number },
    tags?: Tags,
  ): View {
    return new View(
      {
        config: this.config,
        address: this.address,
        book: this.#book,
        random: this.#random,
        counters: this.counters,
        outputs: this.#outputs,
        membersExpected: this.#membersExpected,
      },
      nowMs,
      version,
      settings,
      origin,
      tags,
    );
  }

  /**
   * Starts the view afresh if what was just merged called for it (`merge.ts`): told that it
   * failed, this node comes back as a new version listing only the member that told it, whom it
   * asks at once for a whole list, as a restarted process would; gossip brings the rest. Its old
   * version's end is logged as before, REMOVE via=gossip from the teller.
   */
  #restartIfAsked(nowMs: number): void {
    const via = this.#v.merger.restartVia;
    if (via === undefined) return;
    const self = this.#v.self;
    const next = self.nextVersion(nowMs, self.version + 1);
    if (next > versionMax) return;
    const outputs = this.#outputs;
    outputs.event(
      nowMs,
      "REMOVE",
      this.address,
      self.version,
      self.incarnation,
      "gossip",
      via.address,
    );
    this.counters.rejoins++;
    this.counters.viewsRestarted++;
    this.#v = this.#view(nowMs, next, this.#v.settings.current, self.origin, self.tags);
    this.#v.merger.entry(nowMs, via, "list", via.address, false);
    outputs.sync(via.address);
  }

  // ---- identity and views -------------------------------------------------------------------

  /** This node's current version (it changes when the node comes back after being failed). */
  get version(): number {
    return this.#v.self.version;
  }

  /** This node's own entry. */
  get selfEntry(): Entry {
    return this.#v.self.entry;
  }

  /** The cluster-wide settings as this node knows them. */
  get settings(): Settings {
    return this.#v.settings.current;
  }

  /** True once a leave has been announced and the node has gone quiet. */
  get done(): boolean {
    return this.#v.self.phase === "left";
  }

  /** True from a leave on. */
  get leaving(): boolean {
    return !this.#v.self.active;
  }

  /** Members listed alive or suspect, this node included. */
  get liveCount(): number {
    return this.#v.self.liveCount;
  }

  /** Cleanup and tombstone deadlines waiting: about twice the table's size at most. */
  get deadlinesWaiting(): number {
    return this.#v.endings.deadlinesWaiting;
  }

  /** The ring neighbours' addresses: who this node watches and sends its heartbeat to. */
  neighbors(): Address[] {
    return [...this.#v.watch.neighbors()].map((slot) => this.#v.table.address(slot));
  }

  /** Every member this node lists (tombstones aside), itself excluded. */
  members(): MemberView[] {
    return this.#v.table.members();
  }

  /**
   * True when this node lists exactly this version of the address as alive or suspect. A cheap
   * question for checking agreement across many nodes: it allocates nothing.
   */
  listsLive(address: Address, version: number): boolean {
    if (address === this.address) return this.#v.self.version === version && this.#v.self.active;
    return this.#v.table.listsLive(address, version);
  }

  /** How this node lists one address, tombstones included; undefined when it does not. */
  lookup(address: Address): (MemberView & { readonly removed: boolean }) | undefined {
    if (address === this.address) {
      const self = this.#v.self;
      return {
        ...self.entry,
        sinceMs: self.sinceMs,
        heardMs: this.#nowMs,
        tags: self.tags,
        removed: false,
      };
    }
    return this.#v.table.lookup(address);
  }

  // ---- outputs ------------------------------------------------------------------------------

  /** Datagrams to send, oldest first; the core forgets them. */
  takeDatagrams(): readonly Outgoing[] {
    return this.#outputs.takeDatagrams();
  }

  /**
   * True when a take would return something: datagrams, syncs or events wait. A cheap question
   * for a shell that polls after every input, as the simulator does for thousands of nodes.
   */
  get hasOutput(): boolean {
    return this.#outputs.waiting;
  }

  /** Members to exchange lists with over TCP ({@linkcode syncRequest}); the core forgets them. */
  takeSyncs(): readonly Address[] {
    return this.#outputs.takeSyncs();
  }

  /**
   * Probes to send over TCP, each answered (or not, within the shell's timeout) with a
   * {@linkcode ProbeAck} for {@linkcode applyProbeAck}; the core forgets them.
   */
  takeProbes(): readonly OutgoingProbe[] {
    return this.#outputs.takeProbes();
  }

  /** Events that happened, oldest first; the core forgets them. */
  takeEvents(): readonly MemberEvent[] {
    return this.#outputs.takeEvents();
  }

  /**
   * The earliest time at which {@linkcode tick} has something to do: the least of the named
   * deadlines (the next round, each neighbour's probe and suspicion, the next cleanup, tombstone
   * end and reconnect, the end of doubts and confirmations), computed afresh at each call from a
   * few neighbours and queue heads, so that no input can leave a stale, later value behind. An
   * early tick does nothing.
   */
  nextWakeMs(): number {
    const phase = this.#v.self.phase;
    if (phase === "left") return Infinity;
    if (phase !== "active") return this.#v.rounds.nextMs;
    return Math.min(
      this.#v.rounds.nextMs,
      this.#v.suspicion.nextDeadlineMs(),
      this.#v.endings.nextDeadlineMs(),
      this.#v.recovery.nextDeadlineMs(),
    );
  }

  // ---- inputs -------------------------------------------------------------------------------

  /** Runs what is due: timeouts, cleanup, and the gossip round. An early tick does nothing. */
  tick(nowMs: number): void {
    this.#enter(nowMs);
    if (this.#v.self.phase === "left") return;
    if (this.#v.self.active) {
      this.#v.suspicion.check(nowMs);
      this.#v.recovery.endDoubts(nowMs);
      this.#v.recovery.endUnconfirmed(nowMs);
      this.#v.endings.expire(nowMs);
      this.#v.endings.reconnect(nowMs);
    }
    this.#v.rounds.tick(nowMs);
    // What ran since the check (a cleanup, the end of doubts after a stall) can end this node's
    // doubt of itself, with fewer suspects listed, and so bring a failure it put off due now.
    if (this.#v.self.active) this.#v.suspicion.check(nowMs);
  }

  /** Merges a gossip datagram that arrived. */
  receive(nowMs: number, message: Gossip): void {
    this.#enter(nowMs);
    this.#mergeGossip(nowMs, message);
    this.#restartIfAsked(nowMs);
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
    this.#restartIfAsked(nowMs);
    return this.#probeAck(nowMs, probe);
  }

  /**
   * The answer to a request for an indirect probe, once the probe it asked for (`relayProbe`)
   * ended: as `acceptProbe`'s, with this node's word on the member second. The request is not
   * merged again: it was when it came, and it may have waited long enough to be stale.
   */
  answerRelay(nowMs: number, request: ProbeRelay): ProbeAck | undefined {
    this.#enter(nowMs);
    return this.#probeAck(nowMs, request);
  }

  #probeAck(nowMs: number, probe: Probe | ProbeRelay): ProbeAck | undefined {
    const prober = probe.entries[0];
    if (this.#v.self.phase === "left" || prober === undefined) return undefined;
    const ended = this.#v.endings.ended.versionOf(prober.address);
    const entries = this.#v.datagrams.probeAnswer(
      nowMs,
      prober,
      ended,
      probe.entries,
      probe.kind === "probe-relay",
    );
    return {
      kind: "probe-ack",
      settings: this.#v.settings.current,
      members: this.#v.self.vouchedCount,
      entries,
    };
  }

  /**
   * Takes a request to probe a member on the prober's behalf (`ProbeRelay`): merges what it
   * carries, and returns the probe this node's driver is to make of the member it asks about. The
   * driver hands the answer back with `applyProbeAck(..., { relayed: true })`, then answers the
   * request with `answerRelay`: the member's own answer is its newest heartbeat. Undefined when
   * there is nothing to probe: a member this node does not list as live.
   */
  relayProbe(nowMs: number, request: ProbeRelay): OutgoingProbe | undefined {
    this.#enter(nowMs);
    this.#mergeGossip(nowMs, request);
    this.#restartIfAsked(nowMs);
    const about = request.entries[1];
    if (about === undefined || !this.#v.self.active) return undefined;
    const table = this.#v.table;
    const slot = table.book.find(about.address);
    if (
      !table.hasRow(slot) || slot === this.#v.self.slot || !table.listedLive(slot) ||
      table.version(slot) !== about.version
    ) return undefined;
    this.counters.indirectProbesRelayed++;
    return { to: about.address, message: this.#v.datagrams.probeMessage(slot) };
  }

  /**
   * Merges the answer to a probe this node sent: it counts as hearing from that member. `asked`
   * says what the probe was, when it was not a probe of a silent neighbour or a witness:
   * `relayed`, made on another member's behalf (`relayProbe`), and counted there; `about`, a
   * request for an indirect probe of the member at that address (`ProbeRelay`), whose answer may
   * vouch for it.
   */
  applyProbeAck(nowMs: number, ack: ProbeAck, asked: ProbeAsked = {}): void {
    this.#enter(nowMs);
    const table = this.#v.table;
    const sender = ack.entries[0];
    const slot = sender === undefined ? -1 : table.book.find(sender.address);
    // Read before the merge, which takes the helper's copy in.
    const vouched = asked.about === undefined
      ? undefined
      : this.#v.suspicion.vouchedFor(asked.about, ack);
    if (slot >= 0 && asked.relayed !== true) this.#v.suspicion.answered(slot);
    this.#mergeGossip(nowMs, ack);
    this.#restartIfAsked(nowMs);
    const known = table.hasRow(slot) && table.version(slot) === sender!.version;
    const confirmed = this.#v.recovery.confirming && known && this.#v.recovery.confirm(slot);
    if (asked.about !== undefined) {
      this.counters.indirectProbesAnswered++;
      if (vouched !== undefined && this.#v.self.active && table.live.has(vouched)) {
        this.#v.watch.heard(vouched, nowMs, true);
      }
    } else if (!confirmed && asked.relayed !== true) {
      if (slot >= 0 && this.#v.suspicion.answeredAsWitness(slot)) {
        this.counters.witnessProbesAnswered++;
      } else this.counters.probesAnswered++;
    }
    // The answer was made just now, whatever heartbeat it carries (others may have passed on as
    // new a one): the member is alive.
    if (known && this.#v.self.active && table.live.has(slot)) {
      this.#v.watch.heard(slot, nowMs, true);
    }
  }

  /**
   * Notes that a probe of `address` was refused: the host answered and no process holds the
   * port, so the member there is gone, and a neighbour is failed at once, whatever the suspicion
   * switch (no process is left to refute it) and even by an isolated node (`local_health.ts`).
   */
  applyProbeRefused(nowMs: number, address: Address): void {
    this.#enter(nowMs);
    const table = this.#v.table;
    const slot = table.book.find(address);
    if (!table.hasRow(slot) || !table.listedLive(slot) || !this.#v.watch.neighbors().has(slot)) {
      return;
    }
    this.#v.health.refused(slot);
    if (!this.#v.self.active) return;
    this.counters.failuresDetected++;
    this.#v.endings.end(nowMs, slot, Status.Failed, "refused");
  }

  /** The request that opens a list exchange. */
  syncRequest(): SyncRequest {
    return this.#v.lists.request();
  }

  /**
   * Merges a list another node pushed, and answers with what that list lacked or had older.
   * Undefined while this node doubts its own list (`recovery.ts`).
   */
  acceptSync(nowMs: number, request: SyncRequest, from: Address): SyncResponse | undefined {
    this.#enter(nowMs);
    const answer = this.#v.lists.accept(nowMs, request, from);
    if (this.#v.merger.restartVia === undefined) return answer;
    this.#restartIfAsked(nowMs);
    return undefined;
  }

  /** Merges the list that answered this node's request, which it sent at `askedMs`. */
  applySync(nowMs: number, response: SyncResponse, from: Address, askedMs: number): void {
    this.#enter(nowMs);
    this.#v.lists.apply(nowMs, response, from, askedMs);
    this.#restartIfAsked(nowMs);
  }

  /** The request a joiner sends to any member. */
  joinRequest(): JoinRequest {
    const timing = timingOf(this.config);
    return {
      kind: "join-request",
      entry: this.#v.self.entryWithTags,
      ...(timing === undefined ? {} : { timing }),
    };
  }

  /**
   * Admits a joiner and answers with the whole list, or refuses it with a reason. The answer
   * carries this node's timing, so that a joiner whose timing differs can say so
   * (`timingDifferences`).
   */
  acceptJoin(nowMs: number, request: JoinRequest): JoinResponse {
    this.#enter(nowMs);
    const response = this.#v.lists.acceptJoin(nowMs, request);
    const timing = timingOf(this.config);
    return response.accepted && timing !== undefined ? { ...response, timing } : response;
  }

  /** Adopts the list a member answered a join with, and the cluster's settings. */
  applyJoinResponse(nowMs: number, response: JoinResponse, from: Address): void {
    this.#enter(nowMs);
    this.#v.lists.applyJoinResponse(nowMs, response, from);
    this.#restartIfAsked(nowMs);
  }

  /** Leaves the group: announces it for `leaveRounds` rounds, then goes quiet. */
  leave(nowMs: number): void {
    this.#enter(nowMs);
    const self = this.#v.self;
    if (!self.active) return;
    self.phase = "leaving";
    self.sinceMs = nowMs;
    self.leaveRoundsLeft = this.config.leaveRounds;
    this.#outputs.event(nowMs, "LEAVE", self.address, self.version, self.incarnation, "self");
    this.#v.news.announce(self.slot);
    this.#v.rounds.nextMs = nowMs;
  }

  /** What this node says about itself. */
  get tags(): Tags {
    return this.#v.self.tags;
  }

  /**
   * Replaces what this node says about itself; the change spreads as news (every datagram carries
   * the new tags for a few rounds) and is logged as UPDATE. Returns why the tags cannot be set,
   * in one line, or undefined when they were.
   */
  setTags(nowMs: number, tags: Tags): string | undefined {
    this.#enter(nowMs);
    const problem = tagsProblem(tags);
    if (problem !== undefined) return problem;
    const self = this.#v.self;
    if (sameTags(tags, self.tags)) return undefined;
    self.tags = { ...tags };
    self.tagsVersion++;
    self.tagsRoundsLeft = ownTagsRounds;
    this.#outputs.event(
      nowMs,
      "UPDATE",
      this.address,
      self.version,
      self.incarnation,
      "self",
      undefined,
      self.tags,
    );
    return undefined;
  }

  /**
   * Sends a user event to every member running now (`user_events.ts`); it is logged here as USER
   * at once. Returns why it cannot be sent, in one line, or undefined when it was.
   */
  sendUserEvent(nowMs: number, name: string, payload: string): string | undefined {
    this.#enter(nowMs);
    if (!this.#v.self.active) return "this node is not a member";
    const problem = userEventProblem(name, payload);
    if (problem !== undefined) return problem;
    this.#v.userEvents.send(nowMs, name, payload);
    return undefined;
  }

  /** Switches suspicion on or off for the whole cluster. */
  setSuspicion(nowMs: number, enabled: boolean): void {
    this.#enter(nowMs);
    this.#v.settings.flip(nowMs, enabled);
  }

  // ---- the facade's own ---------------------------------------------------------------------

  /** Merges a gossip, then compares the member count it carries with this node's own. */
  #mergeGossip(nowMs: number, message: Gossip | Probe | ProbeAck | ProbeRelay): void {
    if (this.#v.merger.gossip(nowMs, message)) {
      const sender = message.entries[0].address;
      this.#v.lists.compareCounts(nowMs, message.members, sender);
      this.#v.rounds.countHeard(nowMs, message.members);
    }
  }

  /** Every input starts here: time never goes back, and a gap is a stall. */
  #enter(nowMs: number): void {
    if (!(nowMs >= this.#nowMs && nowMs < Infinity)) {
      throw new AssertionError(`time must be finite and never go back: ${nowMs} < ${this.#nowMs}`);
    }
    const stalledMs = nowMs - this.#nowMs;
    this.#nowMs = nowMs;
    this.#v.recovery.afterGap(nowMs, stalledMs);
  }
}
