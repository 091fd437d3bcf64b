/**
 * The protocol's settings. The defaults meet the requirement with margin: a crash shows as failed
 * in at least one member's list within 3 s and in every member's list within 6 s, for 2 to 1,000
 * members with up to 10% of datagrams lost, without false positives. `deno task bench` shows the
 * figures.
 */
export interface Config {
  /** Every round a node bumps its heartbeat and sends datagrams. */
  readonly gossipIntervalMs: number;
  /** Random members sent a full gossip (own entry, news, a rotating slice of the list) per round. */
  readonly gossipFanout: number;
  /** The most random members sent a gossip in one round, when news has piled up. */
  readonly gossipFanoutMax: number;
  /**
   * Random members sent a full gossip per round while news of a change (a suspicion, a failure,
   * a leave, new tags) waits to be retransmitted: the news reaches everyone in fewer rounds, and
   * a node at rest sends no more for it. From `gossipFanout` to `gossipFanoutMax`.
   */
  readonly newsFanout: number;
  /**
   * At rest (no news waiting, and the members heard lately count as many members as this node
   * lists) the full gossip goes out only this often: it is background repair then (the rotating
   * slice), while the heartbeats to neighbours, which detection waits on, still go every round.
   * At most `gossipIntervalMs` (the default), a full gossip goes every round. Longer saves bytes
   * and slows repair: a member that missed another's comeback after a partition lists its old
   * version until the slice brings the new one.
   */
  readonly quietGossipIntervalMs: number;
  /**
   * Ring neighbours on each side. A node sends its heartbeat straight to its neighbours every
   * round, and only neighbours apply timeouts to each other; everyone else learns of a failure by
   * gossip. This keeps detection fast and independent of the cluster's size.
   */
  readonly ringNeighbors: number;
  /**
   * A neighbour silent for this long is sent its heartbeat over TCP too (a probe), once per
   * silence; its answer ends the silence. Shorter than the suspect and fail timeouts, so that a
   * member whose datagrams are lost on the way (a firewall dropping UDP) is never failed for it.
   */
  readonly probeAfterMs: number;
  /**
   * Members, drawn at random, asked to probe a silent neighbour on this node's behalf along with
   * the direct probe (SWIM's indirect probes): a newer copy of the neighbour in an answer ends the
   * silence, so that a member whose links to this node and to its other watchers are down, but not
   * to the rest, is not failed for it. 0 asks nobody.
   */
  readonly indirectProbes: number;
  /**
   * 1: a silent neighbour is failed (a suspect, with suspicion on) only once more than half of
   * the members asked about it in its silence, its far-side watcher and twice `indirectProbes`
   * helpers, have answered this node at all, a "no" included; until then more are asked, others
   * drawn, every `probeAfterMs`. A neighbour silent with most of the others unreachable too
   * is this node cut off, not the neighbour failed: a member cut off with a few others concludes
   * nothing about the rest while the cut lasts, and a crash, which the helpers answer, is failed
   * on time (`suspicion.ts`). 0: off, a failure needs no answer.
   */
  readonly helperQuorum: number;
  /**
   * A node that has heard from no member at all for this long is isolated (its link is down, or
   * everyone else is gone): it concludes nothing from silence until it hears from one again,
   * unless a probe's connection was refused (`local_health.ts`). Shorter than the suspect and
   * fail timeouts (by a gossip interval, so that a node cut off is isolated before it suspects
   * a neighbour whose last heartbeat came a round before the cut).
   */
  readonly isolatedAfterMs: number;
  /**
   * A node that finds most of the neighbours it watches silent at once, or more than 40% of the
   * members it lists suspected (three at least), doubts itself rather than them (a cut it is on
   * the small side of, more likely than that many crashing together): it puts off failing its
   * silent neighbours by this long, time for the rest of the cluster, if it was cut off, to fail
   * it and spread the news first (`local_health.ts`). 0 turns the doubt off.
   */
  readonly selfDoubtMs: number;
  /** With suspicion on: a neighbour silent for this long is suspected. */
  readonly suspectAfterMs: number;
  /** With suspicion on: a suspect not refuted for this long (and still silent) is failed. */
  readonly suspectTimeoutMs: number;
  /** With suspicion off: a neighbour silent for this long is failed. */
  readonly failAfterMs: number;
  /** A failed or left member stays in the list this long, then is removed. */
  readonly cleanupAfterMs: number;
  /** A removed member's tombstone is kept this long, so stale gossip cannot bring it back. */
  readonly tombstoneMs: number;
  /** A change is retransmitted `retransmitMult * ceil(log10(members + 1))` times by each node. */
  readonly retransmitMult: number;
  /** No datagram is larger than this, whatever the cluster size. */
  readonly datagramBytesMax: number;
  /** Bytes of each datagram the shell needs for itself (authentication and encryption). */
  readonly datagramOverheadBytes: number;
  /** The most members, tombstones included, a node keeps. */
  readonly memberTableMax: number;
  /** Rounds a leaving node keeps announcing its leave before it goes quiet. */
  readonly leaveRounds: number;
  /** How often a node sends a gossip to one recently failed address, to heal partitions. */
  readonly reconnectIntervalMs: number;
  /**
   * A version whose tombstone ran out is remembered this long more: gossip of it is refused (its
   * sender told it failed), and a failed one's address is among those sent a reconnect gossip,
   * so that a partition healed after any time comes back together, as new versions.
   */
  readonly endedKeptMs: number;
  /**
   * A gap between two ticks longer than this means the node itself was stalled (paused, swapped
   * out, starved): its own silence timers are not trusted for that gap.
   */
  readonly stallThresholdMs: number;
  /**
   * A node that hears of more members than it lists for this long, times `ceil(log10(members +
   * 1) / 2)` (news takes longer to reach everyone in a larger cluster), and that gossip brought
   * fewer new members in that time than it lacks, asks the best-informed member for its whole
   * list. Members it saw fail or leave a moment ago are not counted as lacking: the others are
   * still hearing of it.
   */
  readonly syncAfterMs: number;
  /** The least time between two such list exchanges started by one node. */
  readonly syncIntervalMs: number;
  /** News (changed entries) carried by one heartbeat datagram to a neighbour, at most. */
  readonly heartbeatNewsMax: number;
  /**
   * Entries of the rotating slice in one full gossip, at most: a small cluster's whole list fits;
   * in a large one the slice is background repair, so it need not fill the datagram.
   */
  readonly sliceEntriesMax: number;
}

/**
 * How long the shell waits for a probe's answer, at each step (connect, send, answer). The answer
 * counts only if it comes before the neighbour is failed, `failAfterMs` into the silence. The
 * simulator waits as long: an answer later than this is lost.
 */
export const probeTimeoutMs = 1000;
/**
 * How long, in all, a member asked for an indirect probe waits for the probed member (connect,
 * send, answer): two round trips of up to 300 ms, as the wan profile allows, and its own answer
 * still reaches the asker within `probeTimeoutMs`. The simulator waits as long.
 */
export const relayProbeTimeoutMs = 600;
/** How long the shell waits for any other answer over TCP (a join, a list exchange). */
export const requestTimeoutMs = 5000;

/** The defaults. */
export const defaultConfig: Config = {
  gossipIntervalMs: 200,
  gossipFanout: 1,
  gossipFanoutMax: 8,
  newsFanout: 3,
  quietGossipIntervalMs: 200,
  ringNeighbors: 3,
  probeAfterMs: 800,
  indirectProbes: 3,
  helperQuorum: 0,
  isolatedAfterMs: 800,
  selfDoubtMs: 1000,
  suspectAfterMs: 1200,
  suspectTimeoutMs: 1000,
  failAfterMs: 2200,
  cleanupAfterMs: 30_000,
  tombstoneMs: 10 * 60_000,
  retransmitMult: 4,
  datagramBytesMax: 1400,
  datagramOverheadBytes: 0,
  memberTableMax: 16_384,
  leaveRounds: 5,
  reconnectIntervalMs: 1000,
  endedKeptMs: 24 * 3600_000,
  stallThresholdMs: 1000,
  syncAfterMs: 1000,
  syncIntervalMs: 3000,
  heartbeatNewsMax: 8,
  sliceEntriesMax: 24,
};

/**
 * The fields by which members judge one another, compared when a member joins: a member that
 * sends heartbeats more rarely than its watchers expect, or fails others sooner than they fail
 * it, is failed by mistake or fails others by mistake. In wire order; append only.
 */
export const timingFields = [
  "gossipIntervalMs",
  "ringNeighbors",
  "probeAfterMs",
  "suspectAfterMs",
  "suspectTimeoutMs",
  "failAfterMs",
] as const;

/** A member's timing: the values of `timingFields`, in their order. */
export type Timing = readonly number[];

/** The timing of `config`; undefined when it is the defaults' (a join then carries none). */
export function timingOf(config: Config): Timing | undefined {
  const timing = timingFields.map((field) => config[field]);
  return timing.every((value, i) => value === defaultConfig[timingFields[i]]) ? undefined : timing;
}

/**
 * How the timing `theirs` (undefined: the defaults') differs from `mine`, one phrase per field,
 * such as "gossipIntervalMs 200 here, 600 there"; empty when they agree. Fields past those this
 * build knows are not compared.
 */
export function timingDifferences(mine: Config, theirs: Timing | undefined): string[] {
  const other = theirs ?? timingFields.map((field) => defaultConfig[field]);
  const differences: string[] = [];
  timingFields.forEach((field, i) => {
    if (i < other.length && other[i] !== mine[field]) {
      differences.push(`${field} ${mine[field]} here, ${other[i]} there`);
    }
  });
  return differences;
}

/** Checks a configuration, returning the first problem found, or undefined when it is sound. */
export function configProblem(config: Config): string | undefined {
  const positive: (keyof Config)[] = [
    "gossipIntervalMs",
    "gossipFanout",
    "gossipFanoutMax",
    "newsFanout",
    "quietGossipIntervalMs",
    "ringNeighbors",
    "probeAfterMs",
    "isolatedAfterMs",
    "suspectAfterMs",
    "suspectTimeoutMs",
    "failAfterMs",
    "cleanupAfterMs",
    "tombstoneMs",
    "retransmitMult",
    "datagramBytesMax",
    "memberTableMax",
    "leaveRounds",
    "reconnectIntervalMs",
    "endedKeptMs",
    "stallThresholdMs",
    "syncAfterMs",
    "syncIntervalMs",
    "sliceEntriesMax",
  ];
  for (const key of positive) {
    const value = config[key];
    if (!Number.isFinite(value) || value <= 0) return `${key} must be positive, got ${value}`;
  }
  if (config.helperQuorum !== 0 && config.helperQuorum !== 1) {
    return `helperQuorum must be 0 or 1, got ${config.helperQuorum}`;
  }
  if (!Number.isFinite(config.selfDoubtMs) || config.selfDoubtMs < 0) {
    return `selfDoubtMs must be 0 or more, got ${config.selfDoubtMs}`;
  }
  if (config.datagramBytesMax - config.datagramOverheadBytes < 300) {
    return `datagramBytesMax leaves too little room: ${config.datagramBytesMax}`;
  }
  if (config.gossipFanoutMax < config.gossipFanout) {
    return "gossipFanoutMax must not be below gossipFanout";
  }
  if (config.newsFanout < config.gossipFanout || config.newsFanout > config.gossipFanoutMax) {
    return "newsFanout must be from gossipFanout to gossipFanoutMax";
  }
  if (config.memberTableMax < 2 || config.memberTableMax > 1_000_000) {
    return `memberTableMax must be between 2 and 1000000, got ${config.memberTableMax}`;
  }
  if (
    config.suspectAfterMs <= config.gossipIntervalMs ||
    config.failAfterMs <= config.gossipIntervalMs
  ) {
    return "timeouts must be longer than the gossip interval";
  }
  if (config.probeAfterMs >= Math.min(config.suspectAfterMs, config.failAfterMs)) {
    return "probeAfterMs must be shorter than suspectAfterMs and failAfterMs";
  }
  if (config.isolatedAfterMs >= Math.min(config.suspectAfterMs, config.failAfterMs)) {
    return "isolatedAfterMs must be shorter than suspectAfterMs and failAfterMs";
  }
  return undefined;
}
