/**
 * The scale benchmark: one real `member serve` (the bundle, under the binary's flags) among a
 * crowd of members hosted many to a process (bench/crowd.ts), each of them the node `member
 * serve` runs, on its own loopback address, speaking the wire protocol over real UDP and TCP. It
 * measures the real process once all list each other: its CPU, its memory, what it sends and
 * receives, and the failures it logs, though nobody fails. It also reports whether the crowd kept
 * up (its CPU, how late its timers fired, the failures its own members logged), since a crowd that
 * falls behind makes its members look silent and the real member's figures mean little then.
 */
import { MemberProcess, waitFor } from "../tests/_cluster.ts";
import { freePort } from "../tasks/free_port.ts";
import type { NodeStats } from "../mod/node/stats.ts";
import { crowdHost, type CrowdReport } from "./crowd.ts";
import { procUsage } from "./real.ts";

/** What the scale part is run with. */
export interface ScaleBenchOptions {
  /** Members in all, the real one included. */
  readonly sizes: number[];
  /** How long the real member is measured once all list each other. */
  readonly windowS: number;
  /** Processes the crowd is split over at least (the machine's cores). */
  readonly crowds: number;
  /** How long the crowd may take to start and converge, per thousand members, ... */
  readonly convergeSPerThousand: number;
  /** ... and at most. */
  readonly convergeSMax: number;
}

const crowdProgram = new URL("./crowd.ts", import.meta.url).pathname;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ticksPerSecond = 100;
/** The membership protocol's kinds of traffic (as in the real-process part). */
const protocolKinds = ["gossip", "join", "sync", "probe"];
/**
 * Members one crowd process hosts at most: each holds four file descriptors (UDP, TCP, its lock,
 * its event log), and a process may have 20,000 open here.
 */
const crowdMembersMax = 4000;
/** A crowd process's heap, at most: one that grows past it dies rather than starve the machine. */
const crowdHeapMiB = 4096;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** One crowd process, and the last report it printed. */
class Crowd {
  readonly child: Deno.ChildProcess;
  readonly count: number;
  last: CrowdReport | undefined;
  /** Every report, so that a window's worst lateness and failures can be read. */
  readonly reports: CrowdReport[] = [];
  readonly done: Promise<unknown>;

  constructor(args: string[], dir: string, count: number) {
    this.count = count;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        `--v8-flags=--max-old-space-size=${crowdHeapMiB}`,
        "--unstable-net",
        "--allow-net",
        `--allow-read=${dir}`,
        `--allow-write=${dir}`,
        crowdProgram,
        ...args,
      ],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    this.child = child;
    this.done = (async () => {
      let text = "";
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        text += chunk;
        let end = text.indexOf("\n");
        while (end >= 0) {
          const report = JSON.parse(text.slice(0, end)) as CrowdReport;
          this.reports.push(report);
          this.last = report;
          text = text.slice(end + 1);
          end = text.indexOf("\n");
        }
      }
    })().catch(() => {});
  }

  get exited(): Promise<Deno.CommandStatus> {
    return this.child.status;
  }

  kill(): void {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

/** Bytes the real member has sent and received so far, of the membership protocol. */
async function protocolBytes(real: MemberProcess): Promise<{ out: number; in: number }> {
  const stats: NodeStats = await real.stats(10_000);
  const totals =
    (stats.traffic as { totals: Record<string, { bytesOut: number; bytesIn: number }> })
      .totals;
  return {
    out: protocolKinds.reduce((sum, kind) => sum + (totals[kind]?.bytesOut ?? 0), 0),
    in: protocolKinds.reduce((sum, kind) => sum + (totals[kind]?.bytesIn ?? 0), 0),
  };
}

/** What one size came to. */
export interface ScaleResult {
  readonly size: number;
  /** Seconds until every member listed every other, or undefined if not within `convergeS`. */
  readonly convergedS: number | undefined;
  readonly convergeS: number;
  /** Crowd members that had joined, and the live members the real one listed, at that point. */
  readonly joined: number;
  readonly listedByReal: number;
  /** The real member over the window: CPU in % of a core, resident memory samples (MiB). */
  readonly cpuPercent: number;
  readonly rssMiB: number[];
  /** Bytes per second of the membership protocol (gossip, joins, list exchanges, probes). */
  readonly sentPerSecond: number;
  readonly receivedPerSecond: number;
  /** FAIL and SUSPECT lines in the real member's event log over the window: none is due. */
  readonly realFails: number;
  readonly realSuspects: number;
  /** The crowd over the window: CPU of all its processes, timers late, FAILs its members logged. */
  readonly crowdCpuPercent: number;
  readonly crowdLate: number;
  readonly crowdWorstLagMs: number;
  readonly crowdFails: number;
}

/** Runs the scale part and returns a markdown table, a row per size. */
export async function scaleBench(options: ScaleBenchOptions): Promise<string> {
  const rows: string[] = [];
  for (const size of options.sizes) {
    const r = await measureScale(size, options);
    const listed = r.convergedS !== undefined
      ? r.convergedS.toFixed(0)
      : `not in ${r.convergeS} (${r.joined} of ${
        size - 1
      } joined; the real member lists ${r.listedByReal})`;
    rows.push(
      `| ${size} | ${listed} | ${r.cpuPercent.toFixed(1)}% | ${median(r.rssMiB).toFixed(0)} / ${
        Math.max(...r.rssMiB).toFixed(0)
      } | ${Math.round(r.sentPerSecond)} | ${
        Math.round(r.receivedPerSecond)
      } | ${r.realFails} / ${r.realSuspects} | ${
        r.crowdCpuPercent.toFixed(0)
      }% | ${r.crowdLate} / ${r.crowdWorstLagMs} | ${r.crowdFails} |`,
    );
  }
  return [
    "| members | all listed after (s) | real member CPU (% of a core) | memory, median / max (MiB) | sent (B/s) | received (B/s) | FAIL / SUSPECT logged by it | crowd CPU (% of a core) | crowd timers late > 100 ms / worst (ms) | FAIL logged in the crowd |",
    "|---:|:--|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
  ].join("\n");
}

/**
 * One real member among `size` members: starts them, waits for all to list each other (or the
 * deadline), measures over the window, and stops everything.
 */
export async function measureScale(
  size: number,
  options: Omit<ScaleBenchOptions, "sizes">,
): Promise<ScaleResult> {
  const dir = Deno.makeTempDirSync({ prefix: "member-scale-" });
  const host = "127.0.0.2";
  const port = freePort([host, crowdHost(0), crowdHost(size - 2)]);
  const convergeMs = Math.min(
    options.convergeSPerThousand * Math.max(1, size / 1000),
    options.convergeSMax,
  ) * 1000;
  const crowds: Crowd[] = [];
  const real = new MemberProcess(host, port, `${dir}/real`, ["--introducer"]);
  try {
    await waitFor("the real member", () => real.stats(), 15_000);
    const crowdSize = size - 1;
    const per = Math.ceil(
      crowdSize / Math.max(options.crowds, Math.ceil(crowdSize / crowdMembersMax)),
    );
    // The crowd exits by itself once the benchmark should be over, whatever becomes of it.
    const lifeS = Math.ceil(convergeMs / 1000 + options.windowS + 120);
    for (let first = 0; first < crowdSize; first += per) {
      const count = Math.min(per, crowdSize - first);
      crowds.push(
        new Crowd(
          [
            "--first",
            `${first}`,
            "--count",
            `${count}`,
            "--port",
            `${port}`,
            "--join",
            real.address,
            "--dir",
            `${dir}/crowd`,
            "--seconds",
            `${lifeS}`,
            // Datagrams between members of one crowd are handed over in memory, the same bytes:
            // through the kernel a crowd process falls behind past a few hundred members.
            "--in-memory",
          ],
          dir,
          count,
        ),
      );
    }
    const startedAt = performance.now();
    let listedByReal = 0;
    let joined = 0;
    let converged = false;
    while (performance.now() - startedAt < convergeMs) {
      await sleep(2000);
      if (real.exited) throw new Error(`the real member exited: ${real.stderr().slice(-500)}`);
      try {
        listedByReal = (await real.stats(10_000)).node.liveMembers as number;
      } catch {
        // Too busy to answer in time: asked again next time.
      }
      joined = crowds.reduce((sum, c) => sum + (c.last?.joined ?? 0), 0);
      const listedMin = Math.min(...crowds.map((c) => c.last?.listedMin ?? 0));
      console.error(
        `scale: ${size}: ${Math.round((performance.now() - startedAt) / 1000)} s: ` +
          `${joined} of ${crowdSize} joined; the real member lists ${listedByReal}, ` +
          `the crowd at least ${listedMin}`,
      );
      if (listedByReal === size && joined === crowdSize && listedMin === size) {
        converged = true;
        break;
      }
    }
    const convergedS = (performance.now() - startedAt) / 1000;

    // The window: whatever came of the convergence, the real member is measured as it stands.
    const failsBefore = real.events().filter((e) => e.kind === "FAIL").length;
    const suspectsBefore = real.events().filter((e) => e.kind === "SUSPECT").length;
    const reportsBefore = crowds.map((c) => c.reports.length);
    const crowdFailsBefore = crowds.reduce((sum, c) => sum + (c.last?.fails ?? 0), 0);
    const pids = [real.pid, ...crowds.map((c) => c.child.pid)];
    const usageBefore = await Promise.all(pids.map(procUsage));
    const bytesBefore = await protocolBytes(real);
    const windowStart = performance.now();
    const rss: number[] = [];
    while (performance.now() - windowStart < options.windowS * 1000) {
      await sleep(1000);
      rss.push((await procUsage(real.pid)).rssKiB / 1024);
    }
    const usageAfter = await Promise.all(pids.map(procUsage));
    const bytesAfter = await protocolBytes(real);
    const seconds = (performance.now() - windowStart) / 1000;
    const cpu = usageAfter.map((u, i) =>
      (u.cpuTicks - usageBefore[i].cpuTicks) / ticksPerSecond / seconds * 100
    );
    const realFails = real.events().filter((e) => e.kind === "FAIL").length - failsBefore;
    const realSuspects = real.events().filter((e) => e.kind === "SUSPECT").length -
      suspectsBefore;
    const windowReports = crowds.flatMap((c, i) => c.reports.slice(reportsBefore[i]));
    const late = windowReports.reduce((sum, r) => sum + r.lagOver100, 0);
    const worst = Math.max(0, ...windowReports.map((r) => r.lagMaxMs));
    const crowdFails = crowds.reduce((sum, c) => sum + (c.last?.fails ?? 0), 0) -
      crowdFailsBefore;
    const crowdCpu = cpu.slice(1).reduce((a, b) => a + b, 0);
    const crowdExited = crowds.filter((c) => c.last === undefined).length;
    console.error(
      `scale: ${size}: real ${cpu[0].toFixed(1)}% CPU, ${median(rss).toFixed(0)} MiB; ` +
        `crowd ${crowdCpu.toFixed(0)}% CPU, ${late} late timers, ${crowdFails} FAIL` +
        (crowdExited > 0 ? `, ${crowdExited} crowd processes never reported` : ""),
    );
    return {
      size,
      convergedS: converged ? convergedS : undefined,
      convergeS: Math.round(convergeMs / 1000),
      joined,
      listedByReal,
      cpuPercent: cpu[0],
      rssMiB: rss,
      sentPerSecond: (bytesAfter.out - bytesBefore.out) / seconds,
      receivedPerSecond: (bytesAfter.in - bytesBefore.in) / seconds,
      realFails,
      realSuspects,
      crowdCpuPercent: crowdCpu,
      crowdLate: late,
      crowdWorstLagMs: worst,
      crowdFails,
    };
  } finally {
    for (const crowd of crowds) crowd.kill();
    await Promise.all(crowds.map((c) => c.exited));
    await Promise.all(crowds.map((c) => c.done));
    await real.stop();
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // Leave it for inspection.
    }
  }
}
