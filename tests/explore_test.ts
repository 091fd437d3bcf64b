/**
 * The explorer (`member sim --explore`): a million simulated node-seconds of drawn faults with no
 * property broken, a break it must catch, a seed that replays exactly, and the command as a user
 * runs it.
 */
import assert from "node:assert/strict";
import { profileConfig } from "../mod/core/profiles.ts";
import {
  boundsFor,
  checkRecord,
  explore,
  exploreMany,
  type ExploreResult,
  type RunRecord,
} from "../mod/sim/explore.ts";
import { binaryFlags } from "../tasks/flags.ts";

const root = new URL("..", import.meta.url).pathname;

/** The exploration the suite runs: enough seeds for this many simulated node-seconds. */
const nodeSecondsMin = 1_000_000;
/** The suite's first seed. */
const firstSeed = 1;

Deno.test("a million simulated node-seconds of drawn faults break no property", () => {
  const startedMs = performance.now();
  let nodeSeconds = 0;
  const summary = exploreMany(firstSeed, () => nodeSeconds < nodeSecondsMin, (result) => {
    nodeSeconds += result.nodeSeconds;
  });
  const wallS = (performance.now() - startedMs) / 1000;
  console.log(
    `explored ${summary.seeds} seeds (${firstSeed} to ${firstSeed + summary.seeds - 1}): ${
      Math.round(summary.nodeSeconds).toLocaleString("en")
    } node-seconds in ${wallS.toFixed(1)} s (${
      Math.round(summary.nodeSeconds / wallS).toLocaleString("en")
    } node-seconds per second), ${summary.failsJudged} FAILs of running members judged, ${summary.quietCrashes} quiet crashes`,
  );
  const report = summary.failed.map((f) =>
    `seed ${f.seed}: ${f.violations[0].property}: ${f.violations[0].message}` +
    ` (replay: member sim --explore --seed ${f.seed})`
  );
  assert.deepEqual(report, []);
  assert(summary.nodeSeconds >= nodeSecondsMin);
  assert(summary.quietCrashes > 0, "some seeds drew a quiet crash, so P3 was checked");
});

// Found by the explorer: a 4 s cut of 9 of 52 members (a third is 17). A member of the cut side
// took its group's FAILs by gossip just after the heal and handed them to the majority, which
// failed members that never lost a datagram; and others like it (seeds 476, 687: cuts of 13 to
// 30 s). Each now passes; 1192 (13 of 51 cut for 3.7 s, suspicion off: the cut healed before its
// side had failed most of the rest) since news of a change goes to 3 members a round.
for (const seed of [23, 476, 687, 890, 1161, 1192]) {
  Deno.test(`seed ${seed}: a group cut's FAILs are not taken up by the majority`, () => {
    const result = explore(seed);
    assert.deepEqual(result.violations.map((v) => v.message).slice(0, 3), []);
  });
}

// Found by the explorer: a member paused for 21 s resumed just as a cut of 3 of 29 healed, and
// took, while it still doubted its list, the FAILs the cut side had concluded; members that never
// lost a datagram took them from it. A node that doubts its list now takes no FAIL by gossip.
Deno.test("seed 6061: a node back from a stall does not pass on a healed cut's FAILs", () => {
  const result = explore(6061);
  assert.deepEqual(result.violations.map((v) => v.message).slice(0, 3), []);
});

// Found by the explorer with indirect probes new: a deaf member (it hears no datagram) asks about
// every silent neighbour at once; had those questions taken the place of its probes of the
// neighbours themselves, it would have failed one that a probe would have shown alive, and its
// FAIL would have spread. Probes about a neighbour now have a budget of their own.
Deno.test("seed 5210: a deaf member's questions about its neighbours do not crowd out its probes", () => {
  const result = explore(5210);
  assert.deepEqual(result.violations.map((v) => v.message).slice(0, 3), []);
});

// Found by the explorer: a cut of 8 of 46 healed while a member of the larger side was deaf (TCP
// only). A member of the cut side told it over TCP that it failed; having failed nobody, it could
// not tell the teller was of the smaller side, started its list afresh from the teller's, and told
// members of the larger side listed there as failed that they had failed. A view started afresh
// now takes only the live members from its teller's list.
Deno.test("seed 9606: a view started afresh does not take its teller's failures", () => {
  const result = explore(9606);
  assert.deepEqual(result.violations.map((v) => v.message).slice(0, 3), []);
});

// Found by the explorer under `wan`: cuts of 6 of 32 and 6 of 58 members that healed 0.3 and 1.1 s
// after `wan`'s 6.6 s to fail, while both sides' FAILs of the other were still spreading. Members
// of the larger side took the cut side's FAILs of members they heard well, from a sender they had
// not yet heard had failed. Two rules now keep them out, either enough for these seeds: a node
// that finds most of its neighbours silent at once doubts itself and puts off failing them
// (`selfDoubtMs`), and news of a failure decided on older word of the member than a node holds
// is refused.
for (const seed of [66, 175]) {
  Deno.test(`wan, seed ${seed}: a cut that heals as both sides fail the other leaves the larger side whole`, () => {
    const wan = profileConfig("wan");
    const result = explore(seed, { config: wan, settingsFlags: "--profile wan" });
    assert.deepEqual(result.violations.map((v) => v.message).slice(0, 3), []);
  });
}

// Found under `lean`, where two members watch each member: a member cut off with a few others
// failed its neighbours on the larger side as the larger side failed it, and that spread as the
// cut healed (seeds 23 and 33, FAIL lines), or it told them that they failed (seed 7). A silent
// neighbour is now failed only once more than half of the members asked about it have answered
// (`helperQuorum`), which a member cut off with a few others does not get.
for (const seed of [7, 23, 33]) {
  Deno.test(`lean, seed ${seed}: a cut member fails nobody on the larger side while the cut lasts`, () => {
    const lean = profileConfig("lean");
    const result = explore(seed, { config: lean, settingsFlags: "--profile lean" });
    assert.deepEqual(result.violations.map((v) => v.message).slice(0, 3), []);
    // Seed 7 still breaks without the quorum (seed 23 did until a new neighbour that did not
    // answer counted as silent already, which changed its run).
    if (seed !== 7) return;
    const off = explore(seed, { config: { ...lean, helperQuorum: 0 } });
    assert(
      off.violations.some((v) => v.message.includes(" logged FAIL of ")),
      "the quorum is what holds",
    );
  });
}

// Found when the explorer began to count a member told that it failed, believing it, as a FAIL
// (a RESTART): a cut of 3 of 27 healed just as a cut member failed a neighbour, which it told so
// next. Each side counts itself and not the other: the cut side listed 21 members, the neighbour
// 22, and a side one smaller had been taken as equal. It is now the smaller side, not believed.
Deno.test("seed 160: a cut member's late FAIL does not make a connected neighbour restart", () => {
  const result = explore(160);
  assert.deepEqual(result.violations.map((v) => v.message).slice(0, 3), []);
});

// Found under `wan` (seed 132): a cut group of 10 of 56, doubting itself, had failed nobody yet
// when the cut healed, so its count of live members still held the whole cluster, more than the
// larger side's, and its first FAIL, told to a member of the larger side, was believed. The count
// every gossip carries now leaves out the members its sender suspects, as a cut group suspects the
// other side well before it fails it. Seed 85 under one neighbour a side broke the same way (a
// cut member told connected members that they failed) and passes with the same change.
for (
  const [seed, flags, config] of [
    [132, "--profile wan", profileConfig("wan")],
    [85, "--setting ringNeighbors=1 --setting quietGossipIntervalMs=2000", {
      ringNeighbors: 1,
      quietGossipIntervalMs: 2000,
    }],
  ] as const
) {
  Deno.test(`${flags}, seed ${seed}: a cut group that failed nobody yet is the smaller side`, () => {
    const result = explore(seed, { config, settingsFlags: flags });
    assert.deepEqual(result.violations.map((v) => v.message).slice(0, 3), []);
  });
}

// Found under one neighbour a side: a cut member whose two watchers were cut with it was failed by
// nobody on the larger side, and after the heal passed on its group's FAILs of connected members
// (seeds 23 and 410, cuts of 9 of 52 and 8 of 36). Members that heard those members beat on since
// refuse a failure decided on older word: seed 410 passes whole, and logs such FAILs without the
// refusal. Seed 23 still breaks, by RESTARTs (the same member tells connected members that they
// failed) and, since counts leave out suspects, by one such FAIL that reached members with no
// fresh word of the member: that is what keeps one neighbour a side from being the default.
Deno.test("one neighbour a side, seed 410: FAILs decided on older word are not taken up", () => {
  const config = { ringNeighbors: 1, quietGossipIntervalMs: 2000 };
  const result = explore(410, { config });
  assert.deepEqual(result.violations.map((v) => v.message).slice(0, 3), []);
});

/** A small run whose record has two members no fault ever touched. */
function quietPair(): { result: ExploreResult; a: number; b: number } {
  for (let seed = 1; seed < 100; seed++) {
    const result = explore(seed);
    if (result.plan.nodes > 20) continue;
    const untouched = [...Array(result.plan.nodes).keys()].filter((i) =>
      !result.record.impaired.has(i) &&
      ![...result.record.blocked.keys()].some((pair) => pair.split(" ").includes(String(i)))
    );
    if (untouched.length >= 2 && result.record.quietCrashes.length > 0) {
      return { result, a: untouched[0], b: untouched[1] };
    }
  }
  throw new Error("no seed below 100 with two untouched members and a quiet crash");
}

Deno.test("a FAIL of a connected member, or a quiet crash missed, is reported with its seed", () => {
  const { result, a, b } = quietPair();
  const record = result.record;
  assert.deepEqual(checkRecord(record).violations, []);
  const address = (i: number) => `10.0.0.${i + 1}:3000`;
  const injected: RunRecord = {
    ...record,
    logged: [...record.logged, {
      kind: "FAIL",
      atMs: result.simulatedMs - 1000,
      observer: a,
      observerId: `${address(a)}#1`,
      member: `${address(b)}#2`,
      subject: b,
      running: true,
    }],
  };
  const broken = checkRecord(injected).violations;
  assert.equal(broken.length, 1, JSON.stringify(broken));
  assert.equal(broken[0].property, "P1");
  assert.match(broken[0].message, new RegExp(`member sim --explore --seed ${result.seed}\\b`));
  assert.match(broken[0].message, new RegExp(`FAIL of ${address(b)}#2`));

  // The same FAIL of a member that was cut off within the 30 s before is no break.
  const excused: RunRecord = {
    ...injected,
    impaired: new Map([...record.impaired, [b, [[result.simulatedMs - 20_000, Infinity]]]]),
  };
  assert.deepEqual(checkRecord(excused).violations, []);

  // Told by a member cut off in the 30 s before that it failed, a connected member that believed
  // it and came back as a new version took up what the cut side concluded: a break too. Had it
  // been cut off itself since 30 s before its first FAIL, it is no break, however late it is told.
  const restart = { ...injected.logged.at(-1)!, kind: "RESTART" as const };
  const told: RunRecord = {
    ...record,
    impaired: new Map([...record.impaired, [a, [[result.simulatedMs - 20_000, Infinity]]]]),
    logged: [...record.logged, restart],
  };
  const restarted = checkRecord(told).violations;
  assert.equal(restarted.length, 1, JSON.stringify(restarted));
  assert.match(restarted[0].message, new RegExp(`told ${address(b)}#2 it failed`));
  const late: RunRecord = {
    ...told,
    impaired: new Map([...told.impaired, [b, [[0, result.simulatedMs - 60_000]]]]),
    logged: [
      ...record.logged,
      { ...restart, kind: "FAIL", atMs: result.simulatedMs - 50_000 },
      restart,
    ],
  };
  assert.deepEqual(checkRecord(late).violations, []);

  // A quiet crash that nobody listed as failed is a break of P3.
  const crash = record.quietCrashes[0];
  const missed: RunRecord = {
    ...record,
    logged: record.logged.filter((entry) => entry.member !== crash.member),
  };
  const unseen = checkRecord(missed).violations;
  assert(unseen.length > 0 && unseen.every((v) => v.property === "P3"), JSON.stringify(unseen));
  assert.match(unseen[0].message, new RegExp(`--seed ${result.seed}\\b`));
});

Deno.test("a seed replays its run exactly: the same plan and the same events", () => {
  for (const seed of [3, 4242]) {
    const first = explore(seed);
    const second = explore(seed);
    assert.deepEqual(second.plan, first.plan);
    assert.equal(second.events, first.events);
    assert.equal(second.eventHash, first.eventHash);
    assert.deepEqual(second.violations, first.violations);
    assert(first.events > 0);
  }
  assert.notEqual(explore(5).eventHash, explore(6).eventHash);
});

Deno.test("settings are explored against the course's bounds, stretched for those that wait longer", () => {
  assert.deepEqual(boundsFor(), {
    settleMs: 20_000,
    firstDetectedMaxMs: 3000,
    allDetectedMaxMs: 6000,
  });
  assert.deepEqual(boundsFor(profileConfig("lan")), boundsFor());
  const wan = boundsFor(profileConfig("wan"));
  assert.equal(wan.firstDetectedMaxMs, 6600 + 800);
  assert(wan.allDetectedMaxMs > 6000 && wan.settleMs > 20_000);
  // The same seed draws the same plan; the settings change the run.
  const lan = explore(8);
  const slow = explore(8, { config: profileConfig("wan"), settingsFlags: "--profile wan" });
  assert.deepEqual(slow.plan, lan.plan);
  assert.notEqual(slow.eventHash, lan.eventHash);
  assert.deepEqual(slow.record.bounds, wan);
  // A break is reported with the command that replays it under the same settings.
  const injected: RunRecord = {
    ...slow.record,
    logged: [...slow.record.logged, {
      kind: "FAIL",
      atMs: slow.simulatedMs,
      observer: 0,
      observerId: "10.0.0.1:3000#1",
      member: "10.0.0.2:3000#2",
      subject: 1,
      running: true,
    }],
    impaired: new Map(),
    blocked: new Map(),
  };
  const [broken] = checkRecord(injected).violations;
  assert.match(broken.message, /\(seed 8: member sim --explore --seed 8 --profile wan\)$/);
});

async function member(args: string[], cwd?: string) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...binaryFlags(), `${root}main.ts`, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("member sim --explore: a summary, a replayed seed's events for member viz, usage", async () => {
  const many = await member(["sim", "--explore", "--seeds", "2", "--seed", "11", "--json"]);
  assert.equal(many.code, 0, many.stderr);
  const summary = JSON.parse(many.stdout.trim().split("\n").at(-1)!);
  assert.equal(summary.seeds, 2);
  assert.equal(summary.firstSeed, 11);
  assert.deepEqual(summary.failed, []);
  assert(summary.nodeSeconds > 0 && summary.wallMs > 0 && summary.nodeSecondsPerSecond > 0);

  const dir = await Deno.makeTempDir();
  try {
    const one = await member(["sim", "--explore", "--seed", "8", "--events", "seed-8.log"], dir);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /^member sim --explore --seed 8:/);
    assert.match(one.stdout, /passed: P1/);
    const lines = (await Deno.readTextFile(`${dir}/seed-8.log`)).trim().split("\n");
    assert(lines.length > 100 && lines.every((line) => / member=\S+ node=\S+ via=/.test(line)));
    const viz = await member(["viz", "seed-8.log", "-o", "seed-8.html"], dir);
    assert.equal(viz.code, 0, viz.stderr);
    assert.match(await Deno.readTextFile(`${dir}/seed-8.html`), /<html/i);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }

  const wan = await member(["sim", "--explore", "--seed", "8", "--profile", "wan", "--json"]);
  assert.equal(wan.code, 0, wan.stderr);
  const run = JSON.parse(wan.stdout.trim().split("\n").at(-1)!);
  assert.equal(run.passed, true);
  assert.match(run.replay, /^member sim --explore --seed 8 --profile wan --events /);
  const wrong = await member(["sim", "--explore", "--seed", "8", "--profile", "fast"]);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /--profile fast: no such profile/);

  const usage = await member(["sim", "--seeds", "2"]);
  assert.equal(usage.code, 2);
  assert.equal(usage.stderr, "error: --seeds and --minutes run the explorer: add --explore\n");
  const scenario = await member(["sim", "--explore", "--nodes", "5"]);
  assert.equal(scenario.code, 2);
  assert.match(scenario.stderr, /^error: --explore draws the cluster from each seed/);
});
