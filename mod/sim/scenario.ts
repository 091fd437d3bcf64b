/**
 * The standard scenario behind `member sim`: start N nodes through the introducer, wait until the
 * cluster has converged, crash K of them at once, run on, and report what a user deciding on
 * settings wants to know: detection times, false positives, bandwidth, datagram size.
 */
import type { Config } from "../core/config.ts";
import { Random } from "../core/random.ts";
import type { EventKind, MemberEvent } from "../core/types.ts";
import { converged, disagreements } from "./checkers.ts";
import { type NetworkOptions, type SimNode, Simulation } from "./simulation.ts";

/** What a crash takes down: the process, or its whole machine. */
export type CrashKind = "process" | "machine";

/** What the scenario is run with. */
export interface ScenarioOptions {
  readonly nodes: number;
  readonly seed: number;
  readonly lossRate: number;
  /** Nodes crashed at once after convergence. */
  readonly fail: number;
  /**
   * What a crash takes down: the process (`process`, the default; its machine refuses
   * connections to the port) or the whole machine (`machine`; nothing answers).
   */
  readonly crash?: CrashKind;
  /** Simulated time after the crash. */
  readonly durationMs: number;
  readonly suspicion: boolean;
  readonly config?: Partial<Config>;
  readonly network?: Partial<NetworkOptions>;
  /** How long the cluster may take to converge before the run is called a failure. */
  readonly convergeLimitMs?: number;
  readonly onEvent?: (node: SimNode, event: MemberEvent) => void;
  /** Called about once per simulated second with the phase and the fraction done. */
  readonly onProgress?: (phase: "joining" | "running", fraction: number, nowMs: number) => void;
}

/** How the cluster saw one crash. */
export interface FailureReport {
  /** The crashed member's id. */
  readonly member: string;
  /** From the crash until the first live member listed it as failed; null if none did. */
  readonly firstDetectedMs: number | null;
  /** From the crash until the last live member listed it as failed; null if one never did. */
  readonly allDetectedMs: number | null;
  /** How many live members listed it as failed, out of `observers`. */
  readonly detectedBy: number;
  readonly observers: number;
}

/** The outcome of a run; `member sim --json` prints it. */
export interface ScenarioReport {
  readonly nodes: number;
  readonly seed: number;
  readonly loss: number;
  /** What the crashes took down. */
  readonly crash: CrashKind;
  readonly suspicion: boolean;
  /** From the first start until every node listed every other, in simulated ms. */
  readonly convergedMs: number;
  readonly failures: FailureReport[];
  /**
   * FAIL events about a member that was running, by anyone, over the whole run (in a sweep, from
   * the setting's start: its switch, settling and window).
   */
  readonly falsePositives: number;
  /** Datagram bytes sent per node per second, from convergence (a sweep: its window) to the end. */
  readonly bytesPerNodePerSecond: { readonly mean: number; readonly max: number };
  readonly datagramBytesMax: number;
  readonly datagrams: number;
  readonly syncs: number;
  /** Probes of silent neighbours sent over TCP, and the ones answered. */
  readonly probes: number;
  readonly probesAnswered: number;
  readonly events: Record<string, number>;
  readonly simulatedMs: number;
  /** Disagreements between live members' lists at the end (empty when they agree). */
  readonly disagreements: string[];
}

/** Raised when the cluster does not converge in time. */
export class ConvergenceError extends Error {
  override name = "ConvergenceError";
}

/** How long the joins are spread over: a few ms apart, as a busy introducer would take them. */
export function joinSpacingMs(nodes: number): number {
  return nodes <= 1000 ? 5 : 3;
}

/** Runs the standard scenario. */
export function runScenario(options: ScenarioOptions): ScenarioReport {
  const { sim, convergedMs } = startAndConverge(options);
  return measureCrash(sim, {
    ...options,
    convergedMs,
    pickSeed: options.seed ^ 0x5eed,
    wholeRun: true,
    onProgress: (fraction, nowMs) => options.onProgress?.("running", fraction, nowMs),
  });
}

/** One setting of a sweep: the network's loss and the cluster's suspicion switch. */
export interface SweepSetting {
  readonly lossRate: number;
  readonly suspicion: boolean;
}

/** What a sweep is run with: the scenario's options, and the settings to run in turn. */
export interface SweepOptions
  extends Omit<ScenarioOptions, "lossRate" | "suspicion" | "onProgress"> {
  readonly settings: readonly SweepSetting[];
  /** Called about once per simulated second: the setting's index (-1 while joining), fraction. */
  readonly onProgress?: (setting: number, fraction: number, nowMs: number) => void;
  /** Called once the cluster has converged, before the first setting. */
  readonly onConverged?: (nowMs: number) => void;
  /** Called as each setting's report is done. */
  readonly onReport?: (setting: number, report: ScenarioReport) => void;
}

/**
 * Runs several settings on one cluster, which joins and converges once: for each setting in
 * turn, the loss and the suspicion switch change (the switch through the cluster, as an operator
 * flips it), the cluster settles, `fail` more members crash, and the run goes on for
 * `durationMs`. Each report covers its own setting only: its crashes, its false positives (from
 * the change of setting on), and the traffic and the largest datagram of its window. For the
 * largest clusters, where joining takes most of the time, this measures every setting for the
 * price of one join.
 */
export function runSweep(options: SweepOptions): ScenarioReport[] {
  const first = options.settings[0];
  if (first === undefined) return [];
  const { sim, convergedMs } = startAndConverge({
    ...options,
    lossRate: first.lossRate,
    suspicion: first.suspicion,
    onProgress: (_phase, fraction, nowMs) => options.onProgress?.(-1, fraction, nowMs),
  });
  options.onConverged?.(convergedMs);
  const reports: ScenarioReport[] = [];
  options.settings.forEach((setting, index) => {
    // The setting's false positives include those while its switch spreads and it settles.
    const falsePositivesBefore = sim.stats.falsePositives;
    sim.setNetwork({ lossRate: setting.lossRate });
    const up = sim.upNodes();
    if (up.length > 0 && up[0].core!.settings.suspicion !== setting.suspicion) {
      sim.setSuspicion(up[0].index, setting.suspicion);
    }
    const spread = sim.runUntil(
      () => sim.upNodes().every((node) => node.core!.settings.suspicion === setting.suspicion),
      60_000,
      100,
    );
    if (!spread) {
      throw new ConvergenceError(
        `the suspicion switch did not reach every node within 60 s (seed ${options.seed})`,
      );
    }
    // Let the last setting's crashes and this one's switch settle before measuring.
    sim.runFor(settleMs);
    const report = measureCrash(sim, {
      ...options,
      lossRate: setting.lossRate,
      suspicion: setting.suspicion,
      convergedMs,
      pickSeed: options.seed ^ 0x5eed ^ Math.imul(index + 1, 0x9e3779b1),
      wholeRun: false,
      falsePositivesBefore,
      onProgress: (fraction, nowMs) => options.onProgress?.(index, fraction, nowMs),
    });
    reports.push(report);
    options.onReport?.(index, report);
  });
  return reports;
}

/** How long a sweep lets the cluster settle between settings. */
const settleMs = 5000;

/** Creates the cluster and runs until every node lists every other. */
function startAndConverge(options: ScenarioOptions): { sim: Simulation; convergedMs: number } {
  const { nodes, seed } = options;
  const sim = new Simulation({
    seed,
    network: { ...options.network, lossRate: options.lossRate },
    config: {
      ...options.config,
      memberTableMax: Math.max(options.config?.memberTableMax ?? 0, nodes + 64, 16_384),
    },
    suspicion: options.suspicion,
    onEvent: options.onEvent,
  });
  sim.addNodes(nodes);
  sim.start(0);
  const spacing = joinSpacingMs(nodes);
  for (let i = 1; i < nodes; i++) sim.at(i * spacing, () => sim.start(i, 0));
  const joinsEndMs = nodes * spacing;
  const limitMs = joinsEndMs + (options.convergeLimitMs ?? 300_000);
  const progress = options.onProgress;
  let ok = false;
  while (sim.nowMs < limitMs) {
    sim.runFor(500);
    if (sim.nowMs >= joinsEndMs && converged(sim)) {
      ok = true;
      break;
    }
    progress?.("joining", Math.min(1, sim.nowMs / Math.max(joinsEndMs, 1)), sim.nowMs);
  }
  if (!ok) {
    throw new ConvergenceError(
      `${nodes} nodes did not converge within ${limitMs} ms: ${disagreements(sim, 3).join("; ")}` +
        ` (seed ${seed})`,
    );
  }
  return { sim, convergedMs: sim.nowMs };
}

interface MeasureOptions {
  readonly seed: number;
  readonly nodes: number;
  readonly fail: number;
  readonly crash?: CrashKind;
  readonly durationMs: number;
  readonly lossRate: number;
  readonly suspicion: boolean;
  readonly convergedMs: number;
  /** Seeds the choice of the members to crash. */
  readonly pickSeed: number;
  /** Count datagrams, syncs, probes, events and the largest datagram over the whole run, not the window. */
  readonly wholeRun: boolean;
  /** False positives counted before this point are not this measure's (a sweep's setting start). */
  readonly falsePositivesBefore?: number;
  readonly onProgress?: (fraction: number, nowMs: number) => void;
}

/**
 * Measures one crash of `fail` running members on a running cluster: a second of steady traffic
 * first, then the crash and `durationMs` more. Counts only what happens from its start on.
 */
function measureCrash(sim: Simulation, options: MeasureOptions): ScenarioReport {
  const { seed, fail } = options;
  const stats = sim.stats;
  const falsePositivesBefore = options.wholeRun
    ? 0
    : options.falsePositivesBefore ?? stats.falsePositives;
  const datagramsBefore = options.wholeRun ? 0 : stats.datagramsSent;
  const syncsBefore = options.wholeRun ? 0 : stats.syncs;
  const probesBefore = options.wholeRun ? 0 : stats.probes;
  const answeredBefore = options.wholeRun ? 0 : stats.probesAnswered;
  const eventsBefore: Record<string, number> = options.wholeRun ? {} : { ...stats.events };
  // The largest datagram of the window: a sweep's earlier settings are not this one's.
  if (!options.wholeRun) stats.datagramBytesMax = 0;

  // Measure steady-state traffic from here to the end, over the nodes that stay up throughout.
  const bytesAtStart = sim.nodes.map((node) => node.bytesSent);
  const windowStartMs = sim.nowMs;
  sim.runFor(1000);

  const pick = new Random(options.pickSeed);
  const candidates = sim.upNodes().map((node) => node.index);
  const victims: number[] = [];
  const count = Math.min(fail, candidates.length - 1);
  for (let i = 0; i < count; i++) {
    const at = pick.below(candidates.length);
    victims.push(candidates[at]);
    candidates.splice(at, 1);
  }
  const crashedAtMs = sim.nowMs;
  const crashed = victims.map((index) => sim.node(index).id!);
  for (const index of victims) sim.crash(index, options.crash === "machine");

  const endMs = crashedAtMs + options.durationMs;
  while (sim.nowMs < endMs) {
    sim.runUntilTime(Math.min(endMs, sim.nowMs + 1000));
    options.onProgress?.((sim.nowMs - crashedAtMs) / options.durationMs, sim.nowMs);
  }

  const live = sim.upNodes();
  const failures: FailureReport[] = crashed.map((member) => {
    const seen = sim.detections.get(member)?.observers;
    const times = live.map((node) => seen?.get(node.index)).filter((t) => t !== undefined);
    const all = times.length === live.length && live.length > 0;
    return {
      member,
      firstDetectedMs: times.length > 0 ? Math.min(...times) - crashedAtMs : null,
      allDetectedMs: all ? Math.max(...times) - crashedAtMs : null,
      detectedBy: times.length,
      observers: live.length,
    };
  });

  const seconds = (sim.nowMs - windowStartMs) / 1000;
  const rates = live.map((node) => (node.bytesSent - bytesAtStart[node.index]) / seconds);
  const mean = rates.length > 0 ? rates.reduce((a, b) => a + b, 0) / rates.length : 0;
  const events = { ...stats.events };
  for (const kind in events) events[kind as EventKind] -= eventsBefore[kind] ?? 0;
  return {
    nodes: options.nodes,
    seed,
    loss: options.lossRate,
    crash: options.crash ?? "process",
    suspicion: options.suspicion,
    convergedMs: options.convergedMs,
    failures,
    falsePositives: stats.falsePositives - falsePositivesBefore,
    bytesPerNodePerSecond: { mean: Math.round(mean), max: Math.round(Math.max(0, ...rates)) },
    datagramBytesMax: stats.datagramBytesMax,
    datagrams: stats.datagramsSent - datagramsBefore,
    syncs: stats.syncs - syncsBefore,
    probes: stats.probes - probesBefore,
    probesAnswered: stats.probesAnswered - answeredBefore,
    events,
    simulatedMs: sim.nowMs,
    disagreements: disagreements(sim, 5),
  };
}
