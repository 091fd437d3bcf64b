/**
 * `deno task bench changes`: what a change of tags and a user event cost the whole cluster, in
 * bytes, in the simulator (exact, where real processes' figures drown in noise): the bytes all
 * members send in the 5 simulated seconds after the change, less what they send in 5 quiet
 * seconds. Prints a markdown table.
 */
import { tagsBytes } from "../mod/core/wire_size.ts";
import { converged } from "../mod/sim/checkers.ts";
import { Simulation } from "../mod/sim/simulation.ts";

/** What the part is run with. */
export interface ChangesBenchOptions {
  readonly sizes: number[];
}

const windowMs = 5000;

function cluster(nodes: number): Simulation {
  const sim = new Simulation({ seed: 1 });
  sim.addNodes(nodes);
  sim.start(0);
  for (let i = 1; i < nodes; i++) sim.at(sim.nowMs + i * 5, () => sim.start(i, 0));
  sim.runFor(nodes * 5 + 1);
  if (!sim.runUntil(() => converged(sim), 120_000, 100)) throw new Error("no convergence");
  sim.runFor(40_000);
  return sim;
}

/** Bytes all members send in `windowMs` after `act`, less a quiet window's. */
function costOf(sim: Simulation, act: () => void): number {
  const quietFrom = sim.stats.bytesSent;
  sim.runFor(windowMs);
  const quiet = sim.stats.bytesSent - quietFrom;
  const from = sim.stats.bytesSent;
  act();
  sim.runFor(windowMs);
  return sim.stats.bytesSent - from - quiet;
}

function kilobyteOfTags(seed: number): Record<string, string> {
  const tags: Record<string, string> = { role: "web" };
  for (let i = 0; tagsBytes(tags) < 1000; i++) tags[`k${i}`] = `v${seed}-${i}-xxxxxxxxxx`;
  return tags;
}

/** Runs the part and returns its table. */
export function changesBench(options: ChangesBenchOptions): string {
  const rows = [
    "| members | a change of 1 KiB of tags | a user event, 1 KiB payload | a user event, 16 bytes |",
    "| ------: | ------------------------: | --------------------------: | ---------------------: |",
  ];
  for (const nodes of options.sizes) {
    console.error(`changes: ${nodes} members`);
    const sim = cluster(nodes);
    const tags = costOf(sim, () => sim.setTags(1, kilobyteOfTags(1)));
    const big = costOf(sim, () => sim.sendUserEvent(2, "big", "p".repeat(1024)));
    const small = costOf(sim, () => sim.sendUserEvent(3, "small", "p".repeat(16)));
    const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
    rows.push(`| ${nodes} | ${kib(tags)} | ${kib(big)} | ${kib(small)} |`);
  }
  return rows.join("\n");
}
