/**
 * The real-process benchmark: local clusters of N `member serve` processes (the bundle, under the
 * binary's flags) on loopback addresses, with default settings. It measures detection times over
 * several kills, background traffic per node, the bytes a join, a leave and a failure cost the
 * cluster, false positives over a stretch of receive-side drop with and without suspicion, and
 * CPU and memory per node. Prints markdown tables.
 */
import { Cluster, member, type MemberProcess, waitFor } from "../tests/_cluster.ts";
import type { NodeStats } from "../mod/node/stats.ts";

/** What the real-process part is run with. */
export interface RealBenchOptions {
  readonly sizes: number[];
  readonly kills: number;
  readonly dropRates: number[];
  readonly dropSeconds: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

function addressOf(id: string): string {
  return id.slice(0, id.lastIndexOf("#"));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The membership protocol's kinds of traffic. The others (stats, control, grep, events) are what
 * clients ask for: here, the benchmark's own readings, and the polls that wait for agreement after
 * a join, which would be counted as the join's cost.
 */
const protocolKinds = ["gossip", "join", "sync", "probe"];

/** Bytes each member has sent so far, of the membership protocol. */
async function bytesByMember(members: MemberProcess[]): Promise<Map<MemberProcess, number>> {
  const sent = new Map<MemberProcess, number>();
  for (const m of members) {
    const stats: NodeStats = await m.stats();
    const totals = (stats.traffic as { totals: Record<string, { bytesOut: number }> }).totals;
    sent.set(m, protocolKinds.reduce((sum, kind) => sum + (totals[kind]?.bytesOut ?? 0), 0));
  }
  return sent;
}

/** Total bytes the members have sent so far. */
async function bytesSent(members: MemberProcess[]): Promise<number> {
  return [...(await bytesByMember(members)).values()].reduce((a, b) => a + b, 0);
}

/**
 * Bytes the other members send because of an action: what each sends from just before it until
 * `ms` after it, less what it sends at rest in as long. The rate at rest is the one after the
 * action, over the next `ms`: a join or a failure changes the cluster for good (one member more
 * to gossip about, or a failed one listed until cleanup), and that is not the action's cost but
 * the new rest. The actor's own bytes are left out (a joiner's, a leaver's; a victim sends none).
 */
async function costOf(
  cluster: Cluster,
  action: () => Promise<MemberProcess>,
  ms: number,
): Promise<number> {
  const members = cluster.running();
  const start = await bytesByMember(members);
  const startedAt = performance.now();
  const actor = await action();
  await sleep(ms);
  const others = members.filter((m) => m !== actor && !m.exited);
  const middle = await bytesByMember(others);
  const middleAt = performance.now();
  await sleep(ms);
  const end = await bytesByMember(others);
  const endedAt = performance.now();
  return others.reduce((sum, m) => {
    const rest = (end.get(m)! - middle.get(m)!) / (endedAt - middleAt);
    return sum + middle.get(m)! - start.get(m)! - rest * (middleAt - startedAt);
  }, 0);
}

/**
 * CPU time (clock ticks) and resident memory of one process, from /proc. Deno opens /proc/PID
 * files only under --allow-all, so `cat` reads them.
 */
export async function procUsage(pid: number): Promise<{ cpuTicks: number; rssKiB: number }> {
  const output = await new Deno.Command("cat", {
    args: [`/proc/${pid}/stat`, `/proc/${pid}/status`],
    stdout: "piped",
    stderr: "null",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  const stat = text.slice(0, text.indexOf("\n"));
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const cpuTicks = Number(fields[11]) + Number(fields[12]);
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(text)?.[1] ?? 0);
  return { cpuTicks, rssKiB };
}

async function detection(
  cluster: Cluster,
  kills: number,
): Promise<{ first: number[]; all: number[] }> {
  const first: number[] = [];
  const all: number[] = [];
  for (let k = 0; k < kills; k++) {
    const candidates = cluster.running().filter((m) => m !== cluster.members[0]);
    const victim = candidates[Math.floor(Math.random() * candidates.length)];
    const index = cluster.members.indexOf(victim);
    const killedAt = Date.now();
    victim.signal("SIGKILL");
    await victim.status;
    const survivors = cluster.running();
    const times = await waitFor("every survivor to list the victim as failed", () => {
      const seen: number[] = [];
      for (const m of survivors) {
        const fail = m.events().find((e) =>
          e.kind === "FAIL" && addressOf(e.member) === victim.address
        );
        if (fail === undefined) return undefined;
        seen.push(fail.timeMs - killedAt);
      }
      return seen;
    }, 20_000);
    first.push(Math.min(...times));
    all.push(Math.max(...times));
    // Bring the machine back as a new member, so the cluster keeps its size.
    cluster.add(["--join", cluster.members[0].address], index);
    await cluster.waitForAgreement(30_000);
  }
  return { first, all };
}

async function falsePositives(cluster: Cluster, drop: number, suspicion: boolean, seconds: number) {
  const first = cluster.members[0];
  await member(["set", "--node", first.address, "--suspicion", suspicion ? "on" : "off"]);
  for (const m of cluster.running()) {
    await member(["set", "--node", m.address, "--drop-rate", `${drop}`]);
  }
  const ids = new Set<string>();
  for (const m of cluster.running()) ids.add((await m.stats()).self.id);
  const counted = new Map(cluster.running().map((m) => [m.address, m.events().length]));
  await sleep(seconds * 1000);
  let falsePositives = 0;
  for (const m of cluster.running()) {
    const fresh = m.events().slice(counted.get(m.address));
    falsePositives += fresh.filter((e) => e.kind === "FAIL" && ids.has(e.member)).length;
  }
  for (const m of cluster.running()) await member(["set", "--node", m.address, "--drop-rate", "0"]);
  await member(["set", "--node", first.address, "--suspicion", "on"]);
  return falsePositives;
}

/** Runs the real-process benchmark and returns markdown tables. */
export async function realBench(options: RealBenchOptions): Promise<string> {
  const detectionRows: string[] = [];
  const costRows: string[] = [];
  const fpRows: string[] = [];
  for (const size of options.sizes) {
    const cluster = new Cluster("addresses", size + 1);
    try {
      console.error(`real: starting ${size} members`);
      await cluster.start(size);
      await sleep(10_000);
      // Background traffic and resource use over 10 quiet seconds.
      const members = cluster.running();
      const usageBefore = await Promise.all(members.map((m) => procUsage(m.pid)));
      const bytesBefore = await bytesSent(members);
      const startedAt = performance.now();
      await sleep(10_000);
      const seconds = (performance.now() - startedAt) / 1000;
      const background = ((await bytesSent(members)) - bytesBefore) / members.length / seconds;
      const usageAfter = await Promise.all(members.map((m) => procUsage(m.pid)));
      const ticksPerSecond = 100;
      const cpu = usageAfter.map((u, i) =>
        (u.cpuTicks - usageBefore[i].cpuTicks) / ticksPerSecond / seconds * 100
      );
      const rss = usageAfter.map((u) => u.rssKiB / 1024);
      console.error(`real: ${size} members: ${background.toFixed(0)} B/s per node at rest`);

      const { first, all } = await detection(cluster, options.kills);
      detectionRows.push(
        `| ${size} | ${first.length} | ${(median(first) / 1000).toFixed(2)} / ${
          (Math.max(...first) / 1000).toFixed(2)
        } | ${(median(all) / 1000).toFixed(2)} / ${(Math.max(...all) / 1000).toFixed(2)} | ${
          Math.round(background)
        } | ${median(cpu).toFixed(1)}% / ${Math.max(...cpu).toFixed(1)}% | ${
          median(rss).toFixed(0)
        } / ${Math.max(...rss).toFixed(0)} |`,
      );

      // What a join, a leave and a failure cost the whole cluster, in bytes, once the restarts
      // above have settled: their failed versions cleaned up, their news spent.
      await sleep(35_000);
      const extra = cluster.members.length;
      const joinCost = await costOf(cluster, async () => {
        const joiner = cluster.add(["--join", cluster.members[0].address], extra);
        await cluster.waitForAgreement(20_000);
        return joiner;
      }, 5000);
      const leaver = cluster.members[extra];
      const leaveCost = await costOf(cluster, async () => {
        await member(["leave", "--node", leaver.address]);
        return leaver;
      }, 5000);
      await leaver.stop();
      const victim = cluster.running().at(-1)!;
      const failCost = await costOf(cluster, async () => {
        victim.signal("SIGKILL");
        await victim.status;
        return victim;
      }, 5000);
      costRows.push(
        `| ${size} | ${(joinCost / 1024).toFixed(1)} | ${(leaveCost / 1024).toFixed(1)} | ${
          (failCost / 1024).toFixed(1)
        } |`,
      );

      for (const drop of options.dropRates) {
        for (const suspicion of [true, false]) {
          const count = await falsePositives(cluster, drop, suspicion, options.dropSeconds);
          console.error(
            `real: ${size} members, drop ${drop}, suspicion ${suspicion}: ${count} false positives`,
          );
          fpRows.push(`| ${size} | ${drop * 100}% | ${suspicion ? "on" : "off"} | ${count} |`);
        }
      }
    } finally {
      await cluster.stop();
    }
  }
  return [
    `| nodes | kills | first detected, median / worst (s) | all detected, median / worst (s) | bytes/s per node at rest | CPU per node, median / max | memory per node, median / max (MiB) |`,
    "|---:|---:|---:|---:|---:|---:|---:|",
    ...detectionRows,
    "",
    "| nodes | bytes the cluster spends on a join (KiB) | on a leave (KiB) | on a failure (KiB) |",
    "|---:|---:|---:|---:|",
    ...costRows,
    "",
    `| nodes | receive-side drop | suspicion | false positives in ${options.dropSeconds} s |`,
    "|---:|---:|:---:|---:|",
    ...fpRows,
  ].join("\n");
}
