/** What a node is started with, where it stands, and the error it fails to start with. */
import type { Logger } from "@logtape/logtape";
import type { Config } from "../core/config.ts";
import type { Address, Tags } from "../core/types.ts";
import { type Keyring, sealOverheadBytes } from "../wire/seal.ts";
import { clusterOverheadBytes } from "../wire/cluster.ts";
import { Core } from "../core/core.ts";
import { Random } from "../core/random.ts";
import { clock } from "./clock.ts";
import type { EventRecord } from "../log/event_line.ts";

/** What a node is started with. */
export interface NodeOptions {
  /** The host others reach this node at; it binds exactly this host unless `bindHost` is given. */
  readonly host: string;
  /** The port it binds, UDP and TCP; others reach it there unless `advertisedPort` is given. */
  readonly port: number;
  /**
   * The host its sockets bind, when not `host`: `0.0.0.0` or `::` (every interface) in a
   * container or behind NAT, where the address the others reach is not the machine's own.
   */
  readonly bindHost?: string;
  /** The port the others are told, when not `port` (a port mapped by NAT or a container). */
  readonly advertisedPort?: number;
  /**
   * The cluster's name (`--cluster`): every message between members carries it, and a member of
   * another cluster is neither joined nor heard. "" (the default) is the unnamed cluster.
   */
  readonly cluster?: string;
  /** Holds `member.log` and the last version used. */
  readonly dataDir: string;
  /**
   * Join through this member, or the first of these that answers (each tried in turn, each round,
   * a name's every address); without it the node starts a cluster of its own.
   */
  readonly join?: Address | readonly Address[];
  /** Keeps trying the contacts, with capped backoff, instead of giving up after the attempts. */
  readonly retryJoin?: boolean;
  /** Probability that an incoming datagram is dropped on purpose. */
  readonly dropRate: number;
  /** The suspicion switch, when this node starts the cluster. */
  readonly suspicion?: boolean;
  readonly config?: Partial<Config>;
  /** The profile `config` started from (`--profile`, or a config file's), shown in its stats. */
  readonly profile?: string;
  /** What this node says about itself from the start (`--tag`); `tagsProblem` bounds them. */
  readonly tags?: Tags;
  readonly logger: Logger;
  /** Join attempts before giving up. */
  readonly joinAttempts?: number;
  /** The files `member grep` searches here: paths or globs (default: the data dir's logs). */
  readonly grepPaths?: readonly string[];
  /** The cluster keys: with them every datagram and every frame from elsewhere is sealed. */
  readonly keyring?: Keyring;
  /**
   * Hears every event the node logs from its first, the join's own included (`Node.watch` starts
   * only after the join). It runs inside the driver loop: it must only queue.
   */
  readonly onEvents?: (records: readonly EventRecord[]) => void;
}

/** The contacts a node joins through, in the order given. */
export function contactsOf(options: NodeOptions): readonly Address[] {
  const join = options.join;
  return join === undefined ? [] : typeof join === "string" ? [join] : join;
}

/** Raised when a node cannot start: port in use, contact unreachable, unwritable data dir. */
export class StartError extends Error {
  /** The error's name. */
  override name = "StartError";
}

/** Where a node stands. */
export type NodeState = "joining" | "member" | "leaving" | "left" | "closed";

/** Each state as the end of "this node is ...". */
export const stateWords: Record<NodeState, string> = {
  joining: "still joining",
  member: "already a member",
  leaving: "leaving",
  left: "not a member (it left)",
  closed: "shutting down",
};

/**
 * A core for this node's member at `version`, seeded afresh, saying `tags` about itself: those it
 * started with, or after a leave those its last version had, so that a rejoin keeps them.
 */
export function newCore(
  options: NodeOptions,
  address: Address,
  version: number,
  tags: Tags | undefined = options.tags,
): Core {
  return new Core({
    address,
    version,
    nowMs: clock.now(),
    random: new Random(crypto.getRandomValues(new Uint32Array(1))[0]),
    // A sealed datagram, or one carrying the cluster's name, is larger than its message: the core
    // leaves room for the seal and the name.
    config: {
      ...options.config,
      datagramOverheadBytes: (options.config?.datagramOverheadBytes ?? 0) +
        (options.keyring === undefined ? 0 : sealOverheadBytes) +
        clusterOverheadBytes(options.cluster ?? ""),
    },
    suspicion: contactsOf(options).length === 0 ? options.suspicion : undefined,
    ...(tags === undefined ? {} : { tags }),
  });
}
