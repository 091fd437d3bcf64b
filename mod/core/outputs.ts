/**
 * What a core gives its driver: datagrams to send, list exchanges and probes to make over TCP,
 * and events. Each waits here until the driver takes it; the counters say what happened.
 */
import type { MemberTable } from "./member_table.ts";
import type {
  Address,
  EventKind,
  MemberEvent,
  Outgoing,
  OutgoingProbe,
  Tags,
  UserEvent,
  Via,
} from "./types.ts";

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
  /**
   * Probes of a silent neighbour's watcher on the far side (`Datagrams.probe` with `about`), and its answers; an
   * answer shows the neighbour alive when its copy is newer.
   */
  witnessProbesSent: number;
  witnessProbesAnswered: number;
  /**
   * Indirect probes: members asked to probe a silent neighbour on this node's behalf, and their
   * answers; and the probes this node made on another's behalf.
   */
  indirectProbesSent: number;
  indirectProbesAnswered: number;
  indirectProbesRelayed: number;
  /** After a stall: members a whole list lacked, asked to confirm themselves; and those ended. */
  confirmsAsked: number;
  confirmsEnded: number;
  /** After a stall: gossip of members new to this node, not taken until its list is settled. */
  entriesDoubted: number;
  /** Senders told of failures and leaves they still gossiped as live. */
  behindTold: number;
  /**
   * Gossip from members this node holds as failed (only what it said of this node was read), or
   * from versions that ended (none of it was).
   */
  gossipFromFailed: number;
  /** Told that it failed by a member listing fewer members than it does: not believed. */
  accusationsRefused: number;
  /** News of a failure decided on an older word of the member than this node holds. */
  failuresRefusedStale: number;
  /** Times this node found most of its neighbours silent at once, and doubted itself. */
  selfDoubts: number;
  /** Told that it failed: it came back as a new version and started its list afresh. */
  viewsRestarted: number;
}

/** Counters all at zero. */
export function newCounters(): CoreCounters {
  return {
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
    witnessProbesSent: 0,
    witnessProbesAnswered: 0,
    indirectProbesSent: 0,
    indirectProbesAnswered: 0,
    indirectProbesRelayed: 0,
    confirmsAsked: 0,
    confirmsEnded: 0,
    behindTold: 0,
    gossipFromFailed: 0,
    accusationsRefused: 0,
    failuresRefusedStale: 0,
    selfDoubts: 0,
    viewsRestarted: 0,
  };
}

// Shared empty results, so that polling a quiet core allocates nothing.
const noDatagrams: readonly Outgoing[] = Object.freeze([]);
const noSyncs: readonly Address[] = Object.freeze([]);
const noProbes: readonly OutgoingProbe[] = Object.freeze([]);
const noEvents: readonly MemberEvent[] = Object.freeze([]);

/** The outputs waiting for the driver, oldest first. */
export class Outputs {
  #outbox: Outgoing[] = [];
  #events: MemberEvent[] = [];
  #syncs: Address[] = [];
  #probes: OutgoingProbe[] = [];

  /** True when a take would return something. */
  get waiting(): boolean {
    return this.#outbox.length > 0 || this.#syncs.length > 0 || this.#probes.length > 0 ||
      this.#events.length > 0;
  }

  datagram(datagram: Outgoing): void {
    this.#outbox.push(datagram);
  }

  /** Asks for a list exchange with `peer`. */
  sync(peer: Address): void {
    this.#syncs.push(peer);
  }

  probe(probe: OutgoingProbe): void {
    this.#probes.push(probe);
  }

  /** Records an event about `address` at `version`. */
  event(
    nowMs: number,
    kind: EventKind,
    address: Address,
    version: number,
    incarnation: number,
    via: Via,
    from?: Address,
    tags?: Tags,
  ): void {
    const event: MemberEvent = from === undefined
      ? { kind, atMs: nowMs, address, version, incarnation, via }
      : { kind, atMs: nowMs, address, version, incarnation, via, from };
    this.#events.push(tags === undefined ? event : { ...event, tags });
  }

  /** Records an event about the member at `slot`, at the version and incarnation it holds. */
  member(
    nowMs: number,
    kind: EventKind,
    table: MemberTable,
    slot: number,
    via: Via,
    from?: Address,
  ): void {
    const address = table.address(slot);
    this.event(nowMs, kind, address, table.version(slot), table.incarnation(slot), via, from);
  }

  /** Records a user event this node took (sent, or heard of first from `from`). */
  userEvent(nowMs: number, event: UserEvent, via: Via, from?: Address): void {
    this.#events.push({
      kind: "USER",
      atMs: nowMs,
      address: event.origin,
      version: event.originVersion,
      incarnation: 0,
      via,
      ...(from === undefined ? {} : { from }),
      name: event.name,
      payload: event.payload,
    });
  }

  /** Records a flip of the cluster's suspicion switch, as this node took it. */
  settings(
    nowMs: number,
    self: { readonly address: Address; readonly version: number; readonly incarnation: number },
    suspicion: boolean,
    via: Via,
    from?: Address,
  ): void {
    this.#events.push({
      kind: "SETTINGS",
      atMs: nowMs,
      address: self.address,
      version: self.version,
      incarnation: self.incarnation,
      via,
      suspicion,
      ...(from === undefined ? {} : { from }),
    });
  }

  takeDatagrams(): readonly Outgoing[] {
    const out = this.#outbox;
    if (out.length === 0) return noDatagrams;
    this.#outbox = [];
    return out;
  }

  takeSyncs(): readonly Address[] {
    const out = this.#syncs;
    if (out.length === 0) return noSyncs;
    this.#syncs = [];
    return out;
  }

  takeProbes(): readonly OutgoingProbe[] {
    const out = this.#probes;
    if (out.length === 0) return noProbes;
    this.#probes = [];
    return out;
  }

  takeEvents(): readonly MemberEvent[] {
    const out = this.#events;
    if (out.length === 0) return noEvents;
    this.#events = [];
    return out;
  }
}
