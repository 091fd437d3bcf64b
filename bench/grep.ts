/**
 * The grep benchmark: local clusters of N `member serve` processes (the bundle, under the binary's
 * flags), each serving its own generated log. The query latency is measured as the client sees
 * it, from sending the query to the last byte from the last member, through the same fan-out
 * `member grep` uses; the baseline is GNU grep over the same files in one process here. Prints
 * a markdown table of the median and standard deviation over the runs.
 */
import { Cluster, waitFor } from "../tests/_cluster.ts";
import { known, writeLog } from "../tests/_logs.ts";
import { fanOut } from "../mod/grep/fanout.ts";
import { type GrepQuery, plainQuery } from "../mod/wire/grep_query.ts";

/** What the grep part is run with. */
export interface GrepBenchOptions {
  readonly sizes: number[];
  /** Log bytes per node. */
  readonly bytesPerNode: number;
  readonly runs: number;
}

const patterns: { name: string; query: GrepQuery; args: string[] }[] = [
  {
    name: "frequent (1 line in 5)",
    query: plainQuery([known.frequent]),
    args: ["--", known.frequent],
  },
  {
    name: "rare (1 in 4,000, one node)",
    query: plainQuery([known.rare]),
    args: ["--", known.rare],
  },
  {
    name: "regular expression",
    query: plainQuery(["(ERROR|error) timeout after [0-9]{4}ms"], "extended"),
    args: ["-E", "--", "(ERROR|error) timeout after [0-9]{4}ms"],
  },
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length % 2 === 1
    ? sorted[(sorted.length - 1) / 2]
    : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
}

function stddev(values: number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
}

/** GNU grep -H over all the files in one process, output read and dropped; milliseconds. */
async function gnuGrep(args: string[], files: string[]): Promise<{ ms: number; lines: number }> {
  const started = performance.now();
  const child = new Deno.Command("grep", {
    args: ["-H", "--color=never", ...args, ...files],
    env: { LC_ALL: "C.UTF-8" },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let lines = 0;
  for await (const chunk of child.stdout) {
    for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines++;
  }
  await child.status;
  return { ms: performance.now() - started, lines };
}

/** Prints progress on stderr. */
function progress(text: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(`grep bench: ${text}\n`));
}

/** Runs the grep part and returns its markdown table. */
export async function grepBench(options: GrepBenchOptions): Promise<string> {
  const rows: string[] = [
    "| nodes | log per node | pattern | lines out | member grep median | stddev | GNU grep, one process, median | stddev |",
    "|---:|---:|---|---:|---:|---:|---:|---:|",
  ];
  const logDir = await Deno.makeTempDir({ prefix: "member-grep-bench-" });
  try {
    const largest = Math.max(...options.sizes);
    const files: string[] = [];
    for (let i = 0; i < largest; i++) {
      progress(`writing log ${i + 1} of ${largest} (${options.bytesPerNode / 1e6} MB)`);
      const path = `${logDir}/node-${i}.log`;
      await writeLog(path, i, options.bytesPerNode, 1);
      files.push(path);
    }
    for (const size of options.sizes) {
      const cluster = new Cluster("addresses");
      try {
        const introducer = cluster.add(["--introducer", "--grep", files[0], "--no-grep-log"]);
        await waitFor("the introducer", () => introducer.stats(), 15_000);
        for (let i = 1; i < size; i++) {
          cluster.add(["--join", introducer.address, "--grep", files[i], "--no-grep-log"]);
        }
        await cluster.waitForAgreement(60_000);
        const members = cluster.members.map((m) => m.address);
        for (const pattern of patterns) {
          const ours: number[] = [];
          const theirs: number[] = [];
          let linesOut = 0;
          // One warm-up of each, so both read the files from the page cache.
          for (let run = -1; run < options.runs; run++) {
            progress(`${size} nodes, ${pattern.name}, run ${run + 1} of ${options.runs}`);
            const started = performance.now();
            let lines = 0;
            const outcomes = await fanOut(members, pattern.query, {
              mode: "text",
              idleTimeoutMs: 60_000,
              bytesMax: 1 << 30,
              onText: (_member, data) => {
                for (let i = 0; i < data.length; i++) if (data[i] === 10) lines++;
              },
            });
            const ms = performance.now() - started;
            const failed = outcomes.filter((o) => o.failure !== undefined);
            if (failed.length > 0) throw new Error(`a member failed: ${failed[0].failure}`);
            const local = await gnuGrep(pattern.args, files.slice(0, size));
            if (local.lines !== lines) {
              throw new Error(`${pattern.name}: ${lines} lines from members, ${local.lines} here`);
            }
            if (run >= 0) {
              ours.push(ms);
              theirs.push(local.ms);
            }
            linesOut = lines;
          }
          rows.push(
            `| ${size} | ${options.bytesPerNode / 1e6} MB | ${pattern.name} | ${linesOut} | ${
              Math.round(median(ours))
            } ms | ${Math.round(stddev(ours))} ms | ${Math.round(median(theirs))} ms | ${
              Math.round(stddev(theirs))
            } ms |`,
          );
        }
      } finally {
        await cluster.stop();
      }
    }
  } finally {
    await Deno.remove(logDir, { recursive: true });
  }
  return rows.join("\n");
}
