/**
 * The simulation benchmark: `member sim` over cluster sizes, loss rates and both settings of the
 * suspicion switch, each run in its own process exactly as a user runs it. Prints a markdown
 * table: detection times (median and worst over the crashes of the run), false positives,
 * traffic per node, the largest datagram, and how long the run took.
 */
import type { ScenarioReport } from "../mod/sim/scenario.ts";

/** What the simulation part is run with. */
export interface SimBenchOptions {
  readonly sizes: number[];
  readonly losses: number[];
  readonly durationS: number;
  readonly seed: number;
}

interface Row {
  readonly report: ScenarioReport & { wallMs: number };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? "-" : (ms / 1000).toFixed(2);
}

async function runOne(
  nodes: number,
  loss: number,
  suspicion: boolean,
  options: SimBenchOptions,
): Promise<Row> {
  const fail = nodes <= 10 ? 3 : 5;
  const args = [
    "run",
    "--allow-write",
    new URL("../main.ts", import.meta.url).pathname,
    "sim",
    "--nodes",
    `${nodes}`,
    "--loss",
    `${loss}`,
    "--fail",
    `${fail}`,
    "--duration",
    `${options.durationS}`,
    "--seed",
    `${options.seed}`,
    "--json",
    ...(suspicion ? [] : ["--no-suspicion"]),
  ];
  const output = await new Deno.Command(Deno.execPath(), { args, stderr: "inherit" }).output();
  if (!output.success) throw new Error(`member sim ${args.slice(4).join(" ")} failed`);
  const lines = new TextDecoder().decode(output.stdout).trim().split("\n");
  return { report: JSON.parse(lines[lines.length - 1]) };
}

/** Runs the simulation benchmark and returns the markdown table. */
export async function simBench(options: SimBenchOptions): Promise<string> {
  const header = [
    "| nodes | loss | suspicion | first detected, median / worst (s) | all detected, median / " +
    "worst (s) | false positives | bytes/node/s | largest datagram | run time (s) |",
    "|---:|---:|:---:|---:|---:|---:|---:|---:|---:|",
  ];
  const lines = [...header];
  for (const nodes of options.sizes) {
    for (const loss of options.losses) {
      for (const suspicion of [true, false]) {
        const { report } = await runOne(nodes, loss, suspicion, options);
        const first = report.failures.map((f) => f.firstDetectedMs ?? Infinity);
        const all = report.failures.map((f) => f.allDetectedMs ?? Infinity);
        const line = `| ${nodes} | ${loss * 100}% | ${suspicion ? "on" : "off"} | ${
          seconds(median(first))
        } / ${seconds(Math.max(...first))} | ${seconds(median(all))} / ${
          seconds(Math.max(...all))
        } | ${report.falsePositives} | ${report.bytesPerNodePerSecond.mean} | ${report.datagramBytesMax} | ${
          (report.wallMs / 1000).toFixed(1)
        } |`;
        lines.push(line);
        console.error(line);
      }
    }
  }
  return lines.join("\n");
}
