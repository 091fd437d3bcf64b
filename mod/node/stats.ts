/** What `member stats --json` prints: this node's entry, its list, and its counters. */
import type { MemberView } from "../core/core.ts";
import { type Address, type Entry, memberId, statusNames, type Tags } from "../core/types.ts";
import { version as toolVersion } from "../version.ts";
import type { Driver } from "./_driver.ts";

/** One member, as `member stats --json` prints it. */
export interface EntryJson {
  /** `host:port#version`. */
  readonly id: string;
  /** `host:port`. */
  readonly address: Address;
  /** Fixed when the member joined: a member that restarts or rejoins is a new version. */
  readonly version: number;
  /** `alive`, `suspect`, `failed` or `left`. */
  readonly status: string;
  /** Raised by the member every gossip round. */
  readonly heartbeat: number;
  /** Raised by the member each time it refutes a suspicion. */
  readonly incarnation: number;
  /** Seconds since the status last changed. */
  readonly statusForSeconds: number;
  /** Seconds since its heartbeat last grew, as this node heard it. */
  readonly heardSecondsAgo: number;
  /** What the member says about itself (`--tag`, `member tags`), as far as this node has heard. */
  readonly tags: Tags;
}

/** What `member stats --json` prints. */
export interface NodeStats {
  readonly self: EntryJson;
  readonly members: EntryJson[];
  readonly node: Record<string, unknown>;
  readonly traffic: Record<string, unknown>;
  readonly dropped: Record<string, unknown>;
  readonly detections: Record<string, number>;
  readonly counters: Record<string, number>;
  /** Event handlers' runs, failures, timeouts and drops, when it has handlers (`Node.addStats`). */
  readonly handlers?: Record<string, number>;
  /**
   * The protocol settings in force: `profile` (the one they started from), then every field of
   * the core's `Config`, as a config file names them (docs/settings.md).
   */
  readonly settings: Record<string, string | number>;
}

/** This node's own entry and its list, sorted by address, as `member stats --json` prints them. */
export function memberList(driver: Driver): { self: EntryJson; members: EntryJson[] } {
  const now = driver.now();
  const core = driver.core;
  return {
    self: entryJson(core.lookup(driver.address)!, now),
    members: core.members().map((m) => entryJson(m, now)).sort((a, b) =>
      a.address.localeCompare(b.address)
    ),
  };
}

/** The statistics of the node `driver` drives, started at `startedMs`, serving `grepPaths`. */
export function nodeStats(
  driver: Driver,
  startedMs: number,
  grepPaths: readonly string[],
  sections: ReadonlyMap<string, () => Record<string, number>> = new Map(),
): NodeStats {
  const now = driver.now();
  const core = driver.core;
  // Counters cover the whole process, as uptime and traffic do, across versions.
  const counters = driver.counters();
  const probesSkipped = driver.probesSkipped;
  counters.probesSent -= probesSkipped;
  return {
    ...memberList(driver),
    node: {
      tool: toolVersion,
      state: driver.state,
      uptimeSeconds: Math.round((now - startedMs) / 1000),
      dataDir: driver.options.dataDir,
      // The cluster's name ("" for none): clients ask unbound, so this is how they learn it.
      cluster: driver.cluster,
      grepPaths,
      dropRate: driver.dropRate,
      suspicion: core.settings.suspicion,
      settingsEpoch: core.settings.epoch,
      neighbors: core.neighbors(),
      liveMembers: core.liveCount,
    },
    traffic: { perSecond: driver.traffic.rates(), totals: driver.traffic.totals() },
    dropped: {
      onPurpose: driver.droppedOnPurpose,
      malformed: { ...driver.inbound.dropped },
      sendErrors: driver.sendErrors,
    },
    detections: {
      suspicionsRaised: counters.suspicionsRaised,
      failuresDetected: counters.failuresDetected,
      refutations: counters.refutations,
      rejoins: counters.rejoins,
      stalls: counters.stalls,
      selfDoubts: counters.selfDoubts,
      failuresRefusedStale: counters.failuresRefusedStale,
      accusationsRefused: counters.accusationsRefused,
      probesSent: counters.probesSent,
      probesSkipped,
      secondProbesSkipped: driver.secondProbesSkipped,
      probesAnswered: counters.probesAnswered,
      witnessProbesSent: counters.witnessProbesSent,
      witnessProbesAnswered: counters.witnessProbesAnswered,
      indirectProbesSent: counters.indirectProbesSent,
      indirectProbesAnswered: counters.indirectProbesAnswered,
      indirectProbesRelayed: counters.indirectProbesRelayed,
      listExchangesAsked: driver.listExchangesAsked,
    },
    counters: { ...counters },
    // A node started through the library without a profile runs the defaults, which are lan's.
    settings: { profile: driver.options.profile ?? "lan", ...core.config },
    ...Object.fromEntries([...sections].map(([name, section]) => [name, section()])),
  };
}

function entryJson(
  view: MemberView | Entry & { sinceMs?: number; heardMs?: number },
  nowMs: number,
): EntryJson {
  const round = (ms: number | undefined) =>
    ms === undefined ? 0 : Math.max(0, Math.round((nowMs - ms) / 100) / 10);
  return {
    id: memberId(view.address, view.version),
    address: view.address,
    version: view.version,
    status: statusNames[view.status],
    heartbeat: view.heartbeat,
    incarnation: view.incarnation,
    statusForSeconds: round(view.sinceMs),
    heardSecondsAgo: round(view.heardMs),
    tags: view.tags ?? {},
  };
}
