/** Helpers shared by the simulation tests. */
import assert from "node:assert/strict";
import { converged, disagreements } from "../mod/sim/checkers.ts";
import { Simulation, type SimulationOptions } from "../mod/sim/simulation.ts";
import type { MemberEvent } from "../mod/core/types.ts";

/** An event as recorded by a test: who saw it, and the event. */
export interface Seen {
  readonly observer: number;
  readonly event: MemberEvent;
}

/** A simulation that records every event. */
export function recordingSimulation(
  options: SimulationOptions,
): { sim: Simulation; seen: Seen[] } {
  const seen: Seen[] = [];
  const sim = new Simulation({
    ...options,
    onEvent: (node, event) => {
      seen.push({ observer: node.index, event });
      options.onEvent?.(node, event);
    },
  });
  return { sim, seen };
}

/** Starts `count` nodes, node 0 as introducer, the others joining through it 5 ms apart. */
export function startCluster(sim: Simulation, count: number, contact = 0): void {
  const first = sim.nodes.length;
  sim.addNodes(count);
  sim.start(first);
  for (let i = 1; i < count; i++) sim.at(sim.nowMs + i * 5, () => sim.start(first + i, contact));
  sim.runFor(count * 5 + 1);
}

/** Runs until every running node lists exactly the running nodes, or fails the test. */
export function runUntilConverged(sim: Simulation, limitMs = 60_000): void {
  const ok = sim.runUntil(() => converged(sim), limitMs, 100);
  assert(ok, `no convergence within ${limitMs} ms (seed ${sim.seed}): ${disagreements(sim)}`);
}

/** FAIL events, as (observer, member id, time). */
export function failures(seen: Seen[]): { observer: number; member: string; atMs: number }[] {
  return seen.filter((s) => s.event.kind === "FAIL").map((s) => ({
    observer: s.observer,
    member: `${s.event.address}#${s.event.version}`,
    atMs: s.event.atMs,
  }));
}

/** Context for assertion messages: the seed replays the run. */
export function seedNote(sim: Simulation): string {
  return `(seed ${sim.seed}; the same seed replays this run)`;
}

/**
 * Asserts that every running node listed each crashed member as failed within 6 s of the crash,
 * someone within 3 s, and that nobody else was listed as failed.
 */
export function assertDetected(
  sim: Simulation,
  seen: Seen[],
  crashed: ReadonlySet<string>,
  crashedAtMs: number,
): void {
  const failed = failures(seen);
  for (const f of failed) {
    assert(crashed.has(f.member), `${f.member} was failed by node ${f.observer} ${seedNote(sim)}`);
  }
  for (const id of crashed) {
    for (const node of sim.upNodes()) {
      const at = failed.find((f) => f.member === id && f.observer === node.index)?.atMs;
      assert(at !== undefined, `${node.address} never listed ${id} as failed ${seedNote(sim)}`);
      assert(at - crashedAtMs <= 6000, `${node.address} took ${at - crashedAtMs} ms`);
    }
    const first = Math.min(...failed.filter((f) => f.member === id).map((f) => f.atMs));
    assert(first - crashedAtMs <= 3000, `first detection of ${id} after ${first - crashedAtMs} ms`);
  }
}
