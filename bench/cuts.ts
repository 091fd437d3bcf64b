/**
 * `deno task bench cuts`: group cuts that heal around the time to fail, the one window the
 * partial-fault rules leave open. Both sides fail each other at about the same moment then, and
 * a member of the larger side may take a cut member's FAILs before it hears that their sender
 * failed. For each cut size and cut length, the share of seeds in which a member of the larger
 * side logged FAIL of another member of the larger side, with the defaults and with the
 * self-doubt off (`selfDoubtMs=0`). Prints a markdown table.
 */
import type { Config } from "../mod/core/config.ts";
import { recordingSimulation, runUntilConverged, startCluster } from "../tests/_sim.ts";

/** What the part is run with. */
export interface CutsBenchOptions {
  readonly nodes: number;
  readonly seeds: number;
  /** Cut lengths, in ms. */
  readonly lengthsMs: number[];
}

/** True when, in this run, a connected member logged FAIL of another connected member. */
function broken(
  nodes: number,
  size: number,
  lengthMs: number,
  seed: number,
  config: Partial<Config>,
) {
  const { sim, seen } = recordingSimulation({ seed, config });
  startCluster(sim, nodes);
  runUntilConverged(sim);
  // The cut members, drawn by the seed.
  const shuffled = sim.nodes.map((n) => n.index);
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = (i * 7919 + seed * 104_729) % (i + 1);
    [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
  }
  const cut = new Set(shuffled.slice(0, size));
  const rest = shuffled.filter((i) => !cut.has(i));
  sim.partition([rest, [...cut]]);
  sim.runFor(lengthMs);
  sim.heal();
  runUntilConverged(sim, 30_000);
  sim.runFor(5000);
  const index = new Map(sim.nodes.map((n) => [n.address, n.index]));
  return seen.some((s) =>
    s.event.kind === "FAIL" && !cut.has(s.observer) && !cut.has(index.get(s.event.address)!)
  );
}

/** The table: a row per cut size, a column per cut length, "with / without" the self-doubt. */
export function cutsBench(options: CutsBenchOptions): string {
  const { nodes, seeds, lengthsMs } = options;
  const sizes = [...new Set([3, Math.round(nodes / 5), Math.floor(nodes / 3)])];
  const header = `| cut off | ${
    lengthsMs.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(" | ")
  } |`;
  const rule = `| --- | ${lengthsMs.map(() => "---:").join(" | ")} |`;
  const rows = [header, rule];
  const totals = [0, 0];
  for (const size of sizes) {
    const cells = lengthsMs.map((lengthMs) => {
      const counts = [{}, { selfDoubtMs: 0 }].map((config, k) => {
        let count = 0;
        for (let seed = 1; seed <= seeds; seed++) {
          if (broken(nodes, size, lengthMs, seed, config)) count++;
        }
        totals[k] += count;
        return count;
      });
      return counts[0] === 0 && counts[1] === 0 ? "0" : `${counts[0]} / ${counts[1]}`;
    });
    rows.push(`| ${size} of ${nodes} | ${cells.join(" | ")} |`);
  }
  const runs = sizes.length * lengthsMs.length * seeds;
  rows.push(
    "",
    `Seeds broken of ${seeds} per cell, with the defaults / with \`selfDoubtMs=0\` ("0": none ` +
      `either way); in all, ${totals[0]} and ${totals[1]} of ${runs} runs.`,
  );
  return rows.join("\n");
}
