/**
 * What a simulation is created with, and what its callers may watch: every event and every output
 * of every core.
 */
import type { Config } from "../core/config.ts";
import type {
  Address,
  MemberEvent,
  Outgoing,
  Probe,
  ProbeAck,
  ProbeRelay,
  SyncRequest,
  SyncResponse,
} from "../core/types.ts";
import type { NetworkOptions } from "./network.ts";
import type { SimNode } from "./sim_node.ts";

/** What a simulation is created with. */
export interface SimulationOptions {
  readonly seed: number;
  readonly network?: Partial<NetworkOptions>;
  readonly config?: Partial<Config>;
  /** The suspicion switch the first node starts the cluster with. */
  readonly suspicion?: boolean;
  /** Wall-clock time at virtual time 0, for versions and log lines. */
  readonly epochMs?: number;
  /** Called for every event every node reports. */
  readonly onEvent?: (node: SimNode, event: MemberEvent) => void;
  /**
   * Called for every output of every core, in the order the cores give them: what golden traces
   * hash, so that a change of the core's behaviour, however small, shows.
   */
  readonly onOutput?: (node: SimNode, output: SimOutput) => void;
  /** Datagrams a paused node's socket buffers before dropping more. */
  readonly pausedInboxMax?: number;
  /** How long a joiner waits before trying again when its contact does not answer. */
  readonly joinRetryMs?: number;
}

/** One output of a core, as {@linkcode SimulationOptions.onOutput} sees it. */
export type SimOutput =
  | { readonly kind: "datagram"; readonly datagram: Outgoing }
  | {
    readonly kind: "request";
    readonly to: Address;
    readonly request: SyncRequest | Probe | ProbeRelay;
  }
  | { readonly kind: "answer"; readonly to: Address; readonly response: SyncResponse | ProbeAck }
  | { readonly kind: "event"; readonly event: MemberEvent };
