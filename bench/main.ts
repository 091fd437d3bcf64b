/**
 * `deno task bench [PART...] [--quick]`: prints the figures the README records.
 *
 * Parts: `sim` (the protocol in simulation, 10 to 10,000 nodes), `real` (local clusters of real
 * processes, 10 and 50 nodes), `cuts` (group cuts that heal around the time to fail), `grep`
 * (`member grep` on 4 and 10 nodes with 60 MB of log each, against GNU grep in one process),
 * `scale` (one real process among 1,000 and 10,000 members hosted many to a process). `--quick`
 * keeps to the smaller sizes and shorter runs, for a look.
 */
import { changesBench } from "./changes.ts";
import { cutsBench } from "./cuts.ts";
import { grepBench } from "./grep.ts";
import { programsBench } from "./programs.ts";
import { realBench } from "./real.ts";
import { scaleBench } from "./scale.ts";
import { simBench } from "./sim.ts";

const parts = ["sim", "real", "grep", "programs", "changes", "cuts", "scale"] as const;

const usage =
  `usage: deno task bench [sim|real|grep|programs|changes|cuts|scale]... [--quick] [--members N,...]

Prints the figures the README records. With no part named, runs them all: sim (10 to 10,000
simulated nodes, about 30 minutes and 10 GB), real (10 and 50 real processes, about 28 minutes),
grep (4 and 10 nodes with 60 MB of log each), programs (10 real processes, the introducer with an
event handler that sleeps 10 s per event and a watch whose reader never reads: detection and false
positives, about 3 minutes), changes (the bytes a change of tags and a user event cost the cluster,
simulated, 10 to 1,000 members), cuts (group cuts of 30 and 100 simulated members that heal
around the time to fail: how often the larger side fails one of its own, with the self-doubt and
without, about 6 minutes), scale (one real member among 1,000, then 10,000, members hosted many to a
process on loopback addresses: its CPU, memory and traffic over 60 s; --quick: 1,000 and
20 s; --members picks other sizes). --quick keeps to the smaller sizes and shorter runs.`;

async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(usage);
    return 0;
  }
  const membersAt = argv.indexOf("--members");
  const members = membersAt < 0 ? undefined : (argv[membersAt + 1] ?? "").split(",").map(Number);
  if (members !== undefined && !members.every((n) => Number.isInteger(n) && n >= 2)) {
    console.error(`error: --members takes sizes of 2 and more, such as 300,1000\n\n${usage}`);
    return 2;
  }
  const args = membersAt < 0 ? argv : argv.filter((_, i) => i !== membersAt && i !== membersAt + 1);
  const unknown = args.find((a) => a.startsWith("-") && a !== "--quick");
  if (unknown !== undefined) {
    console.error(`error: unknown option '${unknown}'\n\n${usage}`);
    return 2;
  }
  const quick = args.includes("--quick");
  const chosen = args.filter((a) => !a.startsWith("-"));
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
        machineLosses: [0, 0.3],
        durationS: 30,
        seed: 1,
        sweepFrom: 10_000,
        sweepDurationS: 10,
      });
      console.log(
        `\nSimulation (\`deno task bench sim\`), 30 simulated seconds after the crash, seed 1; ` +
          `10,000 nodes: one cluster, each setting in turn for 10 simulated seconds:\n`,
      );
      console.log(table);
    }
    if (part === "real") {
      const tables = await realBench({
        sizes: quick ? [10] : [10, 50],
        kills: quick ? 3 : 5,
        dropRates: [0.03, 0.1, 0.3],
        dropSeconds: quick ? 20 : 120,
      });
      console.log(`\nReal processes (\`deno task bench real\`), default settings:\n`);
      console.log(tables);
    }
    if (part === "programs") {
      const table = await programsBench({
        size: 10,
        kills: quick ? 3 : 5,
        quietSeconds: quick ? 20 : 60,
      });
      console.log(
        `\nPrograms (\`deno task bench programs\`): a handler sleeping 10 s per event and a ` +
          `watch never read, on the introducer:\n`,
      );
      console.log(table);
    }
    if (part === "changes") {
      const table = changesBench({ sizes: quick ? [10, 50] : [10, 50, 1000] });
      console.log(
        `\nChanges (\`deno task bench changes\`): bytes all members send in the 5 simulated ` +
          `seconds after, less a quiet 5 s, seed 1:\n`,
      );
      console.log(table);
    }
    if (part === "cuts") {
      for (const [nodes, seeds] of quick ? [[30, 4]] : [[30, 20], [100, 6]]) {
        const table = cutsBench({
          nodes,
          seeds,
          lengthsMs: Array.from({ length: 15 }, (_, i) => 1600 + 200 * i),
        });
        console.log(
          `\nCuts (\`deno task bench cuts${quick ? " --quick" : ""}\`): ${nodes} simulated ` +
            `members (lan), a group cut off for the time given, then healed:\n`,
        );
        console.log(table);
      }
    }
    if (part === "scale") {
      const windowS = quick ? 20 : 60;
      const table = await scaleBench({
        sizes: members ?? (quick ? [1000] : [1000, 10_000]),
        windowS,
        // One process: its members hand each other datagrams in memory, which two processes
        // cannot (bench/crowd.ts); a larger crowd is split for its file descriptors.
        crowds: 1,
        convergeSPerThousand: 120,
        convergeSMax: 300,
      });
      console.log(
        `\nScale (\`deno task bench scale${quick ? " --quick" : ""}${
          members === undefined ? "" : ` --members ${members.join(",")}`
        }\`): one real \`member serve\` ` +
          `among members hosted by a crowd process, each member on its own loopback address, ` +
          `measured over ${windowS} s once all list each other:\n`,
      );
      console.log(table);
    }
    if (part === "grep") {
      const bytesPerNode = quick ? 10_000_000 : 60_000_000;
      const runs = quick ? 3 : 5;
      const table = await grepBench({ sizes: quick ? [4] : [4, 10], bytesPerNode, runs });
      console.log(
        `\nGrep (\`deno task bench grep\`), ${
          bytesPerNode / 1e6
        } MB of log per node, ${runs} runs:\n`,
      );
      console.log(table);
    }
  }
  return 0;
}

Deno.exit(await main(Deno.args));
