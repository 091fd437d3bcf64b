/**
 * The simulated network between the machines: one-way delay with jitter (and so reordering), loss,
 * duplication, partitions and blocked links, each node's own drop rates, and what becomes of a
 * datagram that reaches a machine whose process is down, paused or not yet joined.
 *
 * Every draw comes from the network's own generator, in the order datagrams and requests are sent,
 * so that a run is a function of its seed.
 */
import type { Random } from "../core/random.ts";
import type { Address, Gossip, Outgoing } from "../core/types.ts";
import type { Agenda } from "./queue.ts";
import type { Item, SimNode } from "./sim_node.ts";
import type { SimulationStats } from "./stats.ts";

/** How the simulated network behaves. */
export interface NetworkOptions {
  /** Probability that a datagram is lost. */
  readonly lossRate: number;
  /** One-way delay of every datagram and TCP message, in ms. */
  readonly delayMs: number;
  /** Extra delay, uniform in [0, jitterMs), so datagrams also arrive out of order. */
  readonly jitterMs: number;
  /** Probability that a datagram is delivered twice. */
  readonly duplicateRate: number;
}

/** The network defaults: a quiet LAN. */
export const defaultNetwork: NetworkOptions = {
  lossRate: 0,
  delayMs: 1,
  jitterMs: 2,
  duplicateRate: 0,
};

/** Datagrams a paused node's socket buffers before dropping more, unless a run says otherwise. */
const pausedInboxMaxDefault = 512;

/** One number for the unordered pair of node indexes `a` and `b`. */
function pairKey(a: number, b: number): number {
  return a < b ? a * 0x10_0000 + b : b * 0x10_0000 + a;
}

/** What the network is built on: the run's agenda, counters and machines. */
export interface NetworkParts {
  readonly options: NetworkOptions;
  /** The network's own generator, forked from the run's. */
  readonly random: Random;
  readonly agenda: Agenda<Item>;
  readonly stats: SimulationStats;
  readonly byAddress: ReadonlyMap<Address, SimNode>;
  readonly pausedInboxMax?: number;
}

/** Carries datagrams between machines, and times every message, TCP ones too. */
export class Network {
  /** How the network behaves from now on. */
  options: NetworkOptions;
  readonly #random: Random;
  readonly #agenda: Agenda<Item>;
  readonly #stats: SimulationStats;
  readonly #byAddress: ReadonlyMap<Address, SimNode>;
  /** Links cut by `block`, as `pairKey`s. */
  readonly #blocked = new Set<number>();
  readonly #pausedInboxMax: number;

  constructor(parts: NetworkParts) {
    this.options = parts.options;
    this.#random = parts.random;
    this.#agenda = parts.agenda;
    this.#stats = parts.stats;
    this.#byAddress = parts.byAddress;
    this.#pausedInboxMax = parts.pausedInboxMax ?? pausedInboxMaxDefault;
  }

  /** The one-way delay of the next message, at least 1 ms. */
  delay(): number {
    const network = this.options;
    return Math.max(
      1,
      Math.round(network.delayMs + this.#random.float() * network.jitterMs),
    );
  }

  /** True when `a` and `b` can reach each other: same partition group, link not blocked. */
  connected(a: SimNode, b: SimNode): boolean {
    return a.group === b.group &&
      (this.#blocked.size === 0 || !this.#blocked.has(pairKey(a.index, b.index)));
  }

  /** Cuts the link between the nodes at indexes `a` and `b`, both ways. */
  block(a: number, b: number): void {
    this.#blocked.add(pairKey(a, b));
  }

  /** Restores the link between the nodes at indexes `a` and `b` that `block` cut. */
  unblock(a: number, b: number): void {
    this.#blocked.delete(pairKey(a, b));
  }

  /** Sends a datagram: counted, then lost, dropped or put on the agenda (perhaps twice). */
  route(from: SimNode, datagram: Outgoing): void {
    const stats = this.#stats;
    stats.datagramsSent++;
    stats.bytesSent += datagram.bytes;
    if (datagram.bytes > stats.datagramBytesMax) stats.datagramBytesMax = datagram.bytes;
    from.bytesSent += datagram.bytes;
    from.datagramsSent++;
    const to = this.#byAddress.get(datagram.to);
    if (to === undefined || !this.connected(from, to)) {
      stats.datagramsUndeliverable++;
      return;
    }
    const random = this.#random;
    if (from.sendDropRate > 0 && random.chance(from.sendDropRate)) {
      stats.datagramsDroppedOnPurpose++;
      return;
    }
    if (random.chance(this.options.lossRate)) {
      stats.datagramsLost++;
      return;
    }
    this.#agenda.push(this.#agenda.nowMs + this.delay(), {
      kind: "deliver",
      to,
      message: datagram.message,
    });
    if (random.chance(this.options.duplicateRate)) {
      stats.datagramsDuplicated++;
      this.#agenda.push(this.#agenda.nowMs + this.delay(), {
        kind: "deliver",
        to,
        message: datagram.message,
      });
    }
  }

  /**
   * Whether a datagram that reached a node's machine goes to its core now. A machine that is down
   * has no socket; a paused one buffers it while there is room; the node's own drop rate, then
   * the driver rules (no gossip before the join is answered), may drop it.
   */
  arrive(node: SimNode, message: Gossip): boolean {
    if (node.state === "down") {
      this.#stats.datagramsUndeliverable++;
      return false;
    }
    if (node.state === "paused") {
      if (node.inbox.length < this.#pausedInboxMax) {
        node.inbox.push(message);
      } else this.#stats.datagramsUndeliverable++;
      return false;
    }
    if (node.dropRate > 0 && this.#random.chance(node.dropRate)) {
      this.#stats.datagramsDroppedOnPurpose++;
      return false;
    }
    if (!node.rules.takesGossip) {
      this.#stats.datagramsBeforeJoin++;
      return false;
    }
    return true;
  }
}
