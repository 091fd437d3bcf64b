/**
 * What arrives from the network before the core hears it: a datagram opened with the cluster's
 * keys, checked for the cluster's name and decoded; and what is dropped on the way, counted by
 * reason (`member stats`, metrics) and logged a few times a minute at most, so that a flood of bad
 * input cannot flood the log.
 */
import type { Logger } from "@logtape/logtape";
import { datagramLimits, type DatagramMessage, decodeDatagram } from "../wire/codec.ts";
import { otherClusterReason, unbindCluster } from "../wire/cluster.ts";
import type { Keyring } from "../wire/seal.ts";

/** Dropped inputs logged per minute, at most. */
const logsPerMinute = 10;

/** The inbound checks of one node, and its counts of what they dropped. */
export class Inbound {
  /** Input dropped as malformed (or from another cluster), by reason. */
  readonly dropped: Record<string, number> = {};
  readonly #log: Logger;
  readonly #cluster: string;
  readonly #now: () => number;
  #logged = 0;
  #windowMs = 0;

  constructor(log: Logger, cluster: string, now: () => number) {
    this.#log = log;
    this.#cluster = cluster;
    this.#now = now;
  }

  /** The message a datagram carries, or undefined (counted) when it is dropped. */
  async datagram(
    bytes: Uint8Array,
    keyring: Keyring | undefined,
  ): Promise<DatagramMessage | undefined> {
    if (keyring !== undefined) {
      const opened = await keyring.open(bytes);
      if (!opened.ok) return this.malformed(opened.reason, "datagram");
      bytes = opened.plain;
    }
    const unbound = unbindCluster(bytes);
    if (!unbound.ok) return this.malformed(unbound.reason, "datagram");
    if (unbound.cluster !== this.#cluster) return this.otherCluster(unbound.cluster, "datagram");
    const decoded = decodeDatagram(unbound.message, datagramLimits);
    if (!decoded.ok) return this.malformed(decoded.reason, "datagram");
    return decoded.message;
  }

  /** Counts bad input by reason, and logs it a few times a minute at most. */
  malformed(reason: string, what: string): undefined {
    if (this.#count(reason)) {
      this.#log.warn("dropped a malformed {what}: {reason}", { what, reason });
    }
    return undefined;
  }

  /**
   * Counts input from a member of another cluster (as `other-cluster`), and logs it a few times a
   * minute at most: a cluster reusing this one's addresses, or a joiner given the wrong contact.
   */
  otherCluster(cluster: string, what: string): undefined {
    if (this.#count("other-cluster")) {
      this.#log.warn("dropped a {what} from another cluster: {why}", {
        what,
        why: otherClusterReason(cluster, this.#cluster),
      });
    }
    return undefined;
  }

  /** Counts one dropped input; true when the rate limit lets it be logged. */
  #count(reason: string): boolean {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
    const now = this.#now();
    if (now - this.#windowMs > 60_000) {
      this.#windowMs = now;
      this.#logged = 0;
    }
    return this.#logged++ < logsPerMinute;
  }
}
