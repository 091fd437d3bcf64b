/**
 * `deno task bench programs`: whether the programs that act on membership can slow the membership
 * itself. A local cluster of N real processes where the introducer runs an event handler for every
 * event that sleeps 10 s, and has a `member watch --json` attached whose reader never reads. Then
 * kills (each victim started again as a new member), and a quiet stretch: detection times, false
 * positives, and what the handler queue and the watch came to. Prints a markdown table.
 */
import { Cluster, waitFor } from "../tests/_cluster.ts";
import { binaryFlags } from "../tasks/flags.ts";

/** What the part is run with. */
export interface ProgramsBenchOptions {
  readonly size: number;
  readonly kills: number;
  readonly quietSeconds: number;
}

const root = new URL("..", import.meta.url).pathname;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** Runs the part and returns its table. */
export async function programsBench(options: ProgramsBenchOptions): Promise<string> {
  const cluster = new Cluster("addresses", options.size + 1);
  const handler = `${cluster.dir}/slow-handler.sh`;
  Deno.writeTextFileSync(handler, "#!/bin/sh\ncat >/dev/null\nsleep 10\n");
  Deno.chmodSync(handler, 0o755);
  let watch: Deno.ChildProcess | undefined;
  try {
    console.error(`programs: starting ${options.size} members, the introducer with a slow handler`);
    const introducer = cluster.add(["--introducer", "--on", `*=${handler}`]);
    await waitFor("the introducer", () => introducer.stats(), 15_000);
    // A reader that never reads: the pipe fills, then the node's queue for it.
    watch = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...binaryFlags(),
        `${root}dist/member.js`,
        "watch",
        "--json",
        "--node",
        introducer.address,
      ],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    for (let i = 1; i < options.size; i++) cluster.add(["--join", introducer.address]);
    await cluster.waitForAgreement(30_000);
    const ids = new Set<string>();
    const first: number[] = [];
    const all: number[] = [];
    for (let k = 0; k < options.kills; k++) {
      const candidates = cluster.running().filter((m) => m !== introducer);
      const victim = candidates[k % candidates.length];
      const index = cluster.members.indexOf(victim);
      const victimId = (await victim.stats()).self.id;
      const killedAt = Date.now();
      victim.signal("SIGKILL");
      await victim.status;
      const times = await waitFor("every survivor to list the victim as failed", () => {
        const seen: number[] = [];
        for (const m of cluster.running()) {
          const fail = m.events().find((e) => e.kind === "FAIL" && e.member === victimId);
          if (fail === undefined) return undefined;
          seen.push(fail.timeMs - killedAt);
        }
        return seen;
      }, 20_000);
      first.push(Math.min(...times));
      all.push(Math.max(...times));
      ids.add(victimId);
      cluster.add(["--join", introducer.address], index);
      await cluster.waitForAgreement(30_000);
    }
    // A quiet stretch: any FAIL now is of a running member.
    const running = new Set<string>();
    for (const m of cluster.running()) running.add((await m.stats()).self.id);
    const counted = new Map(cluster.running().map((m) => [m.address, m.events().length]));
    await sleep(options.quietSeconds * 1000);
    let falsePositives = 0;
    for (const m of cluster.running()) {
      const fresh = m.events().slice(counted.get(m.address));
      falsePositives += fresh.filter((e) => e.kind === "FAIL" && running.has(e.member)).length;
    }
    const stats = await introducer.stats() as unknown as {
      handlers?: { runs: number; dropped: number; queued: number };
      watches?: { open: number; cutOff: number };
    };
    const h = stats.handlers ?? { runs: 0, dropped: 0, queued: 0 };
    const w = stats.watches ?? { open: 0, cutOff: 0 };
    const watchNote = `${w.open} open, ${w.cutOff} cut off`;
    return [
      "| nodes | kills | first detected, median / worst (s) | all detected, median / worst (s) | false positives in " +
      `${options.quietSeconds} s | handler runs / dropped / queued | watches |`,
      "| ----: | ----: | ---: | ---: | ---: | ---: | :--- |",
      `| ${options.size} | ${first.length} | ${(median(first) / 1000).toFixed(2)} / ${
        (Math.max(...first) / 1000).toFixed(2)
      } | ${(median(all) / 1000).toFixed(2)} / ${
        (Math.max(...all) / 1000).toFixed(2)
      } | ${falsePositives} | ${h.runs} / ${h.dropped} / ${h.queued} | ${watchNote} |`,
    ].join("\n");
  } finally {
    if (watch !== undefined) {
      try {
        watch.kill("SIGKILL");
      } catch {
        // Gone already.
      }
      await watch.status;
      await watch.stdout.cancel().catch(() => {});
    }
    await cluster.stop();
  }
}
