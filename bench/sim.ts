/**
 * The simulation benchmark: `member sim` over cluster sizes, loss rates and both settings of the
 * suspicion switch, each run in its own process exactly as a user runs it. Prints a markdown
 * table: detection times (median and worst over the crashes of the run), false positives,
 * traffic per node, the largest datagram, and how long the run took.
 *
 * The largest clusters spend most of their run joining, so from `sweepFrom` nodes on, one cluster
 * joins once and runs every setting in turn ({@linkcode runSweep}), here in this process.
 */
import {
  type CrashKind,
  runSweep,
  type ScenarioReport,
  type SweepSetting,
} from "../mod/sim/scenario.ts";

/** What the simulation part is run with. */
export interface SimBenchOptions {
  readonly sizes: number[];
  readonly losses: number[];
  /**
   * Losses also run with whole machines crashing (nothing answers, so no refused probe fails
   * them at once): the timeouts' own detection.
   */
  readonly machineLosses: number[];
  readonly durationS: number;
  readonly seed: number;
  /** Sizes from this on run as one sweep; its settings run `sweepDurationS` each. */
  readonly sweepFrom: number;
  readonly sweepDurationS: number;
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
  crash: CrashKind,
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
    "--crash",
    crash,
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

function row(nodes: number, report: ScenarioReport, wallMs: number): string {
  const first = report.failures.map((f) => f.firstDetectedMs ?? Infinity);
  const all = report.failures.map((f) => f.allDetectedMs ?? Infinity);
  return `| ${nodes} | ${report.crash} | ${report.loss * 100}% | ${
    report.suspicion ? "on" : "off"
  } | ${seconds(median(first))} / ${seconds(Math.max(...first))} | ${seconds(median(all))} / ${
    seconds(Math.max(...all))
  } | ${report.falsePositives} | ${report.bytesPerNodePerSecond.mean} | ${report.datagramBytesMax} | ${
    (wallMs / 1000).toFixed(1)
  } |`;
}

function sweep(nodes: number, settings: SweepSetting[], options: SimBenchOptions): string[] {
  const lines: string[] = [];
  const startedMs = performance.now();
  let markMs = startedMs;
  let lastNoteMs = startedMs;
  runSweep({
    nodes,
    seed: options.seed,
    fail: 5,
    durationMs: options.sweepDurationS * 1000,
    settings,
    onProgress: (setting, fraction) => {
      if (performance.now() - lastNoteMs < 30_000) return;
      lastNoteMs = performance.now();
      const what = setting < 0 ? "joining" : `setting ${setting + 1} of ${settings.length}`;
      console.error(`${nodes} nodes: ${what}, ${(fraction * 100).toFixed(0)}%`);
    },
    onConverged: (nowMs) => {
      markMs = performance.now();
      console.error(
        `${nodes} nodes joined and converged at ${(nowMs / 1000).toFixed(1)} simulated s, ` +
          `in ${((markMs - startedMs) / 1000).toFixed(0)} s`,
      );
    },
    onReport: (_setting, report) => {
      const line = row(nodes, report, performance.now() - markMs);
      markMs = performance.now();
      lines.push(line);
      console.error(line);
    },
  });
  return lines;
}

/** Runs the simulation benchmark and returns the markdown table. */
export async function simBench(options: SimBenchOptions): Promise<string> {
  const header = [
    "| nodes | crash | loss | suspicion | first detected, median / worst (s) | all detected, " +
    "median / worst (s) | false positives | bytes/node/s | largest datagram | run time (s) |",
    "|---:|:---|---:|:---:|---:|---:|---:|---:|---:|---:|",
  ];
  const lines = [...header];
  for (const nodes of options.sizes) {
    const settings = options.losses.flatMap((lossRate) =>
      [true, false].map((suspicion) => ({ lossRate, suspicion }))
    );
    if (nodes >= options.sweepFrom) {
      lines.push(...sweep(nodes, settings, options));
      continue;
    }
    const runs = [
      ...settings.map((s) => ({ ...s, crash: "process" as CrashKind })),
      ...options.machineLosses.flatMap((lossRate) =>
        [true, false].map((suspicion) => ({ lossRate, suspicion, crash: "machine" as CrashKind }))
      ),
    ];
    for (const { lossRate, suspicion, crash } of runs) {
      const { report } = await runOne(nodes, lossRate, suspicion, crash, options);
      const line = row(nodes, report, report.wallMs);
      lines.push(line);
      console.error(line);
    }
  }
  return lines.join("\n");
}
