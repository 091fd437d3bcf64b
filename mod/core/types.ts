/**
 * The vocabulary of the membership protocol: members, their entries, the messages nodes exchange
 * and the events a node reports.
 *
 * Glossary (one meaning per word): a *member* is one joined version of an address; the *node* is
 * this process; the *version* is fixed per join; the *incarnation* is raised to refute a
 * suspicion; the *heartbeat* is a counter the member bumps every gossip round.
 */

/** `host:port`, as reachable by the other members. */
export type Address = string;

/** Where a member stands in a node's list. The numbers are what the wire carries. */
export const Status = {
  Alive: 1,
  Suspect: 2,
  Failed: 3,
  Left: 4,
} as const;
/** One of the values of {@linkcode Status}. */
export type Status = typeof Status[keyof typeof Status];

/** The lower-case names used in `stats --json` and elsewhere users read. */
export const statusNames: Readonly<Record<Status, string>> = {
  [Status.Alive]: "alive",
  [Status.Suspect]: "suspect",
  [Status.Failed]: "failed",
  [Status.Left]: "left",
};

/** True for a member listed as running: alive or suspect. */
export function isLive(status: Status): boolean {
  return status === Status.Alive || status === Status.Suspect;
}

/** True for the statuses a version never leaves: it failed or it left. */
export function isTerminal(status: Status): boolean {
  return status === Status.Failed || status === Status.Left;
}

/** What a member says about itself: key and value strings (`tags.ts` bounds them). */
export type Tags = Readonly<Record<string, string>>;

/** What one node says about one member, as carried on the wire. */
export interface Entry {
  readonly address: Address;
  readonly version: number;
  readonly incarnation: number;
  readonly heartbeat: number;
  readonly status: Status;
  /**
   * How many times this version of the member has changed its tags (absent: never set). Every
   * entry carries it; the tags themselves travel only with news of a change and in whole lists.
   */
  readonly tagsVersion?: number;
  /** The member's tags at `tagsVersion`, when they travel with the entry. */
  readonly tags?: Tags;
}

/**
 * An entry as the wire carries it, built in one piece: `tagsVersion` only once the tags were set
 * (not 0), and `tags` only with it, when given.
 */
export function makeEntry(
  address: Address,
  version: number,
  incarnation: number,
  heartbeat: number,
  status: Status,
  tagsVersion: number,
  tags?: Tags,
): Entry {
  if (tagsVersion === 0) return { address, version, incarnation, heartbeat, status };
  if (tags === undefined) return { address, version, incarnation, heartbeat, status, tagsVersion };
  return { address, version, incarnation, heartbeat, status, tagsVersion, tags };
}

/**
 * True when a copy of a member at (`incarnation`, `heartbeat`) is ahead of one at
 * (`thanIncarnation`, `thanHeartbeat`): heartbeats count within an incarnation, so a higher
 * incarnation is ahead whatever its heartbeat. Numbers, not entries: the gossip path calls it for
 * every entry it merges, on table rows that are not objects.
 */
export function isAhead(
  incarnation: number,
  heartbeat: number,
  thanIncarnation: number,
  thanHeartbeat: number,
): boolean {
  return incarnation > thanIncarnation ||
    (incarnation === thanIncarnation && heartbeat > thanHeartbeat);
}

/** The identity of a member: `host:port#version`. */
export function memberId(address: Address, version: number): string {
  return `${address}#${version}`;
}

/**
 * Cluster-wide settings, spread by gossip. The higher epoch wins; at an equal epoch, suspicion
 * switched on wins, so concurrent changes still end in agreement.
 */
export interface Settings {
  readonly epoch: number;
  readonly suspicion: boolean;
}

/** What a gossip carries, by UDP or, as a probe and its answer, by TCP. */
export interface GossipFields {
  readonly settings: Settings;
  /**
   * How many members the sender vouches for: those it lists alive and does not suspect, itself
   * included (`Self.vouchedCount`).
   */
  readonly members: number;
  /** The sender's own entry first. */
  readonly entries: readonly Entry[];
  /** User events on their way to every member (left out when there are none). */
  readonly userEvents?: readonly UserEvent[];
}

/**
 * A user event (`member event NAME PAYLOAD`): every member running when it was sent receives it
 * once, by gossip. `origin` and `originVersion` name the member that sent it, `seq` counts its
 * events, and `clock` is the cluster's event clock when it was sent (a Lamport clock), by which a
 * member that joins later tells events from before its time.
 */
export interface UserEvent {
  readonly origin: Address;
  readonly originVersion: number;
  readonly seq: number;
  readonly clock: number;
  readonly name: string;
  readonly payload: string;
}

/** A gossip datagram. */
export interface Gossip extends GossipFields {
  readonly kind: "gossip";
}

/**
 * A full exchange of lists over TCP (push-pull), started by a node that keeps hearing of more
 * members than it knows: the request carries the requester's list, the response the other's.
 */
export interface SyncRequest {
  readonly kind: "sync-request";
  readonly settings: Settings;
  readonly entries: readonly Entry[];
}

/** The answer to a {@linkcode SyncRequest}. */
export interface SyncResponse {
  readonly kind: "sync-response";
  readonly settings: Settings;
  readonly entries: readonly Entry[];
}

/**
 * A heartbeat sent over TCP to a neighbour that has been silent over UDP for `probeAfterMs`: the
 * datagram this node would send it, and a question. Alive, it answers with a
 * {@linkcode ProbeAck}, so that a member whose datagrams are lost on the way (a firewall that
 * drops one machine's UDP) is not failed for it.
 */
export interface Probe extends GossipFields {
  readonly kind: "probe";
}

/**
 * A probe sent to a member that does not watch the silent neighbour, asking it to probe that
 * neighbour first (SWIM's indirect probe): the prober's own entry, then its copy of the neighbour.
 * The helper probes the neighbour over TCP, then answers as it answers a {@linkcode Probe}, with
 * its copy of the neighbour when that is newer: so a member whose links to its watchers are down,
 * but not to the rest of the cluster, is not failed for it.
 */
export interface ProbeRelay extends GossipFields {
  readonly kind: "probe-relay";
}

/** The answer to a {@linkcode Probe}: the heartbeat datagram the prober would have been sent. */
export interface ProbeAck extends GossipFields {
  readonly kind: "probe-ack";
}

/** Sent over TCP by a node that wants to join, to any member. */
export interface JoinRequest {
  readonly kind: "join-request";
  /** The joiner's own entry: its address and its new version. */
  readonly entry: Entry;
  /** The joiner's timing (`timingFields` of `config.ts`), when it is not the defaults'. */
  readonly timing?: readonly number[];
}

/** The answer to a {@linkcode JoinRequest}: the whole list, or why the join was refused. */
export type JoinResponse =
  | {
    readonly kind: "join-response";
    readonly accepted: true;
    readonly settings: Settings;
    readonly entries: readonly Entry[];
    /** The cluster's user-event clock: events up to it were before the joiner's time. */
    readonly eventClock?: number;
    /** The answering member's timing (`timingFields` of `config.ts`), when not the defaults'. */
    readonly timing?: readonly number[];
  }
  | {
    readonly kind: "join-response";
    readonly accepted: false;
    readonly reason: string;
  };

/** How a node came to know what an event reports. */
export type Via =
  | "self" // this node's own doing (joining, leaving, refuting, rejoining)
  | "join" // it joined through this node: its own join request
  | "list" // from a whole list a member sent: the answer to a join, or a list exchange
  | "gossip" // from a datagram another member sent
  | "timeout" // this node's own timer expired: it detected it
  | "refused" // this node's probe of it was refused: the host answered, no process holds the port
  | "superseded" // a newer version of the same address was seen
  | "cleanup" // the cleanup timeout removed it from the list
  | "stale"; // after this node doubted its list, the member did not answer for itself in time

/** The kinds of event, as written in the event log. */
export type EventKind =
  | "JOIN"
  | "LEAVE"
  | "SUSPECT"
  | "REFUTE"
  | "FAIL"
  | "REMOVE"
  | "SETTINGS"
  | "UPDATE"
  | "USER";

/** Something that happened to a member, as seen by this node. */
export interface MemberEvent {
  readonly kind: EventKind;
  readonly atMs: number;
  readonly address: Address;
  readonly version: number;
  readonly incarnation: number;
  readonly via: Via;
  /** The address whose datagram or request brought the news, when `via` is gossip or join. */
  readonly from?: Address;
  /** For SETTINGS: the new value of the suspicion switch. */
  readonly suspicion?: boolean;
  /** For UPDATE, and JOIN of a member with tags: the member's tags. */
  readonly tags?: Tags;
  /** For USER: the event's name and payload (the member is its sender). */
  readonly name?: string;
  /** For USER: the event's payload, any text of at most 1 KiB. */
  readonly payload?: string;
}

/** A datagram the core wants sent. `bytes` is its exact encoded size. */
export interface Outgoing {
  readonly to: Address;
  readonly message: Gossip;
  readonly bytes: number;
}

/** A probe to send over TCP, and to whom. */
export interface OutgoingProbe {
  readonly to: Address;
  readonly message: Probe | ProbeRelay;
  /**
   * True for a probe asking a member to confirm itself after this node stalled, rather than of a
   * silent neighbour: it is sent whatever else is in flight, and its answer says nothing of UDP.
   */
  readonly confirm?: boolean;
  /**
   * True for a probe that asks another member about a silent neighbour (a far-side watcher, or a
   * helper asked for an indirect probe): it is counted apart from the probes of the neighbours
   * themselves, so that it never takes the place of one.
   */
  readonly second?: boolean;
}
