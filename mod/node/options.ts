/** What a node is started with, where it stands, and the error it fails to start with. */
import type { Logger } from "@logtape/logtape";
import type { Config } from "../core/config.ts";
import type { Address } from "../core/types.ts";
import type { Keyring } from "../wire/seal.ts";
import type { EventRecord } from "../log/event_line.ts";

/** What a node is started with. */
export interface NodeOptions {
  /** The address others reach this node at; it binds exactly this host. */
  readonly host: string;
  readonly port: number;
  /** Holds `member.log` and the last version used. */
  readonly dataDir: string;
  /** Join through this member; without it the node starts a cluster of its own. */
  readonly join?: Address;
  /** Probability that an incoming datagram is dropped on purpose. */
  readonly dropRate: number;
  /** The suspicion switch, when this node starts the cluster. */
  readonly suspicion?: boolean;
  readonly config?: Partial<Config>;
  /** The profile `config` started from (`--profile`, or a config file's), shown in its stats. */
  readonly profile?: string;
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
