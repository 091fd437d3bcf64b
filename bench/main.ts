/**
 * `deno task bench [PART...] [--quick]`: prints the figures the README records.
 *
 * Parts: `sim` (the protocol in simulation, 10 to 10,000 nodes). `--quick` keeps to the smaller
 * sizes, for a look in a few minutes.
 */
import { simBench } from "./sim.ts";

const parts = ["sim"] as const;

async function main(args: string[]): Promise<number> {
  const quick = args.includes("--quick");
  const chosen = args.filter((a) => !a.startsWith("--"));
  for (const part of chosen) {
    if (!(parts as readonly string[]).includes(part)) {
      console.error(`error: unknown benchmark part '${part}'; choose from ${parts.join(", ")}`);
      return 2;
    }
  }
  const run = chosen.length === 0 ? [...parts] : chosen;
  for (const part of run) {
    if (part === "sim") {
      const table = await simBench({
        sizes: quick ? [10, 100, 1000] : [10, 100, 1000, 10_000],
        losses: [0, 0.03, 0.1, 0.3],
        durationS: 30,
        seed: 1,
      });
      console.log(
        `\nSimulation (\`deno task bench sim\`), 30 simulated seconds after the crash, seed 1:\n`,
      );
      console.log(table);
    }
  }
  return 0;
}

Deno.exit(await main(Deno.args));
