/**
 * What a run counts: datagrams and their fates, list exchanges and probes, events, and the
 * failures that were wrong. The network, the TCP links and the observer each add to one record.
 */
import type { EventKind } from "../core/types.ts";

/** Counters of a run. */
export interface SimulationStats {
  datagramsSent: number;
  datagramsLost: number;
  datagramsDuplicated: number;
  datagramsUndeliverable: number;
  /** Datagrams that reached a process before its join was answered, dropped as the daemon does. */
  datagramsBeforeJoin: number;
  /** Datagrams a node's own drop rates (in or out) threw away. */
  datagramsDroppedOnPurpose: number;
  /** List exchanges (push-pull over TCP) completed. */
  syncs: number;
  /** Probes of silent neighbours sent over TCP, and the ones answered. */
  probes: number;
  probesAnswered: number;
  bytesSent: number;
  datagramBytesMax: number;
  events: Record<EventKind, number>;
  /**
   * FAIL events about a member whose process was running (not crashed, paused or left), and
   * members running yet ended as unknown to the cluster after a stall (REMOVE via stale).
   */
  falsePositives: number;
  /** FAIL events about a member that had left voluntarily. */
  leavesSeenAsFailures: number;
  /** FAIL events about a member that was paused at the time, or for the silence of a pause. */
  pausedDetections: number;
}

/** The counters of a run that has not begun. */
export function emptyStats(): SimulationStats {
  return {
    datagramsSent: 0,
    datagramsLost: 0,
    datagramsDuplicated: 0,
    datagramsUndeliverable: 0,
    datagramsBeforeJoin: 0,
    datagramsDroppedOnPurpose: 0,
    syncs: 0,
    probes: 0,
    probesAnswered: 0,
    bytesSent: 0,
    datagramBytesMax: 0,
    events: {
      JOIN: 0,
      LEAVE: 0,
      SUSPECT: 0,
      REFUTE: 0,
      FAIL: 0,
      REMOVE: 0,
      SETTINGS: 0,
      UPDATE: 0,
      USER: 0,
    },
    falsePositives: 0,
    leavesSeenAsFailures: 0,
    pausedDetections: 0,
  };
}
