/**
 * The standard scenario behind `member sim`: start N nodes through the introducer, wait until the
 * cluster has converged, crash K of them at once, run on, and report what a user deciding on
 * settings wants to know: detection times, false positives, bandwidth, datagram size.
 */
import type { Config } from "../core/config.ts";
import { Random } from "../core/random.ts";
import type { MemberEvent } from "../core/types.ts";
import { converged, disagreements } from "./checkers.ts";
import { type NetworkOptions, type SimNode, Simulation } from "./simulation.ts";

/** What the scenario is run with. */
export interface ScenarioOptions {
  readonly nodes: number;
  readonly seed: number;
  readonly lossRate: number;
  /** Nodes crashed at once after convergence. */
  readonly fail: number;
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
  readonly suspicion: boolean;
  /** From the first start until every node listed every other, in simulated ms. */
  readonly convergedMs: number;
  readonly failures: FailureReport[];
  /** FAIL events about a member that was running, by anyone, over the whole run. */
  readonly falsePositives: number;
  /** Datagram bytes sent per node per second, from convergence to the end. */
  readonly bytesPerNodePerSecond: { readonly mean: number; readonly max: number };
  readonly datagramBytesMax: number;
  readonly datagrams: number;
  readonly syncs: number;
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
  const { nodes, seed, fail } = options;
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
  const convergedMs = sim.nowMs;

  // Measure steady-state traffic from here to the end, over the nodes that stay up throughout.
  const bytesAtStart = sim.nodes.map((node) => node.bytesSent);
  const windowStartMs = sim.nowMs;
  sim.runFor(1000);

  const pick = new Random(seed ^ 0x5eed);
  const candidates = sim.nodes.map((node) => node.index);
  const victims: number[] = [];
  for (let i = 0; i < Math.min(fail, nodes - 1); i++) {
    const at = pick.below(candidates.length);
    victims.push(candidates[at]);
    candidates.splice(at, 1);
  }
  const crashedAtMs = sim.nowMs;
  const crashed = victims.map((index) => sim.node(index).id!);
  for (const index of victims) sim.crash(index);

  const endMs = crashedAtMs + options.durationMs;
  while (sim.nowMs < endMs) {
    sim.runUntilTime(Math.min(endMs, sim.nowMs + 1000));
    progress?.("running", (sim.nowMs - crashedAtMs) / options.durationMs, sim.nowMs);
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
  return {
    nodes,
    seed,
    loss: options.lossRate,
    suspicion: options.suspicion,
    convergedMs,
    failures,
    falsePositives: sim.stats.falsePositives,
    bytesPerNodePerSecond: { mean: Math.round(mean), max: Math.round(Math.max(0, ...rates)) },
    datagramBytesMax: sim.stats.datagramBytesMax,
    datagrams: sim.stats.datagramsSent,
    syncs: sim.stats.syncs,
    events: { ...sim.stats.events },
    simulatedMs: sim.nowMs,
    disagreements: disagreements(sim, 5),
  };
}
