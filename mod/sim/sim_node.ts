/**
 * One simulated machine, and the items the simulator's agenda carries to it. They share a file
 * because a machine holds some of those items (the answers and requests that came while its
 * process was paused) and the items name the machine they are for.
 */
import type { Core } from "../core/core.ts";
import { DriverRules } from "../core/driver_rules.ts";
import type {
  Address,
  Gossip,
  JoinRequest,
  JoinResponse,
  Probe,
  ProbeAck,
  ProbeRelay,
  SyncRequest,
  SyncResponse,
} from "../core/types.ts";
import { memberId } from "../core/types.ts";

/** One simulated machine: an address, and a running core when it is up. */
export class SimNode {
  readonly index: number;
  readonly address: Address;
  state: "down" | "up" | "paused" = "down";
  /** Down with its machine (powered off, unplugged): connections to it time out, not refused. */
  machineDown = false;
  core: Core | undefined;
  /** Bumped at every start, so that messages meant for an earlier process are dropped. */
  generation = 0;
  wakeAtMs = Infinity;
  inbox: Gossip[] = [];
  /** Answers over TCP that came while the process was paused: read once it runs again. */
  replies: RequestReply[] = [];
  /**
   * Requests over TCP that came while the process was paused, waiting in its accept queue: read
   * and acted on once it runs again, though the asker may have stopped waiting for the answer.
   */
  requests: (RequestArrive | JoinArrive)[] = [];
  lastVersion = 0;
  contact: number | undefined;
  /** The rules the daemon's shell follows too; a new set with every start of the process. */
  rules = new DriverRules();
  /** Requests over TCP waiting for their answer or their timeout, by id. */
  readonly pending = new Map<number, "probe" | "second" | "sync" | "relay">();
  /** Set when the process left voluntarily. */
  leftAtMs: number | undefined;
  /** The process's last pause: when it began and ended. */
  pausedAtMs = -Infinity;
  resumedAtMs = -Infinity;
  bytesSent = 0;
  datagramsSent = 0;
  /** Partition group; nodes talk only within a group. */
  group = 0;
  /** The share of datagrams this node drops on arrival, as `member serve --drop-rate` does. */
  dropRate = 0;
  /** The share of this node's datagrams lost on the way out (a firewall dropping its UDP). */
  sendDropRate = 0;

  /** True once the process started a cluster or its join was answered. */
  get joined(): boolean {
    return this.rules.takesGossip;
  }

  constructor(index: number, address: Address) {
    this.index = index;
    this.address = address;
  }

  /** The running member's id, when up or paused. */
  get id(): string | undefined {
    return this.core === undefined ? undefined : memberId(this.address, this.core.version);
  }
}

/** What the agenda holds: each item is handled at its virtual time, in the order it was added. */
export type Item =
  | { readonly kind: "deliver"; readonly to: SimNode; readonly message: Gossip }
  | {
    readonly kind: "wake";
    readonly node: SimNode;
    readonly generation: number;
    readonly atMs: number;
  }
  | JoinAsk
  | JoinReply
  | RequestArrive
  | RequestTimeout
  | RequestRefused
  | RequestReply
  | { readonly kind: "action"; readonly run: () => void };

/** A joiner's request reaching its contact over (simulated) TCP. */
export interface JoinAsk {
  readonly kind: "join-arrive";
  readonly joiner: SimNode;
  readonly generation: number;
}

/** The contact's answer to a join, on its way back to the joiner. */
export interface JoinReply {
  readonly kind: "join-reply";
  readonly joiner: SimNode;
  readonly generation: number;
  readonly contact: Address;
  readonly response: JoinResponse;
}

/** A request over (simulated) TCP: reliable, but only between connected running nodes. */
export interface RequestArrive {
  readonly kind: "request-arrive";
  readonly node: SimNode;
  readonly generation: number;
  readonly to: SimNode;
  readonly request: SyncRequest | Probe | ProbeRelay;
  readonly askedMs: number;
  /** Which of the asker's pending requests this is. */
  readonly id: number;
}

/** A join request read by a contact that was paused when it came; its answer is lost. */
export interface JoinArrive {
  readonly kind: "join-queued";
  readonly request: JoinRequest;
}

/** An answer over TCP, on its way back to the node that asked at `askedMs`. */
export interface RequestReply {
  readonly kind: "request-reply";
  readonly node: SimNode;
  readonly generation: number;
  readonly from: Address;
  readonly response: SyncResponse | ProbeAck;
  readonly askedMs: number;
  readonly id: number;
}

/** The moment the asker stops waiting for the answer to a request. */
export interface RequestTimeout {
  readonly kind: "request-timeout";
  readonly node: SimNode;
  readonly generation: number;
  readonly id: number;
}

/** A request's connection refused: the peer's machine is up, and no process holds the port. */
export interface RequestRefused {
  readonly kind: "request-refused";
  readonly node: SimNode;
  readonly generation: number;
  readonly id: number;
  /** Whom it was sent to. */
  readonly to: Address;
}
