// The page's globals (window.__replay, the DOM) are untyped in the browser callbacks below.
// deno-lint-ignore-file no-explicit-any
/**
 * `member viz`: the log reader, the timeline model and the replay engine, then the page itself in
 * a real browser (Debian's chromium driven by playwright-core), built from a simulated run, and
 * from a live cluster's logs fetched through a node.
 */
import assert from "node:assert/strict";
import { formatEventLine } from "../mod/log/event_line.ts";
import { readEventLogs } from "../mod/log/reader.ts";
import { Simulation, simulationEpochMs } from "../mod/sim/simulation.ts";
import { buildModel } from "../mod/viz/model.ts";
import { Replay } from "../mod/viz/replay.ts";
import { statusColors } from "../mod/viz/page.ts";
import { launchBrowser } from "./_browser.ts";
import { Cluster, member, waitFor } from "./_cluster.ts";

const a = "10.0.0.1:3000#1000";
const b = "10.0.0.2:3000#2000";
const c = "10.0.0.3:3000#3000";
const line = (iso: string, kind: string, who: string, by: string, via = "gossip") =>
  `2026-01-01T00:00:${iso}Z ${kind} member=${who} node=${by} via=${via} incarnation=0`;

Deno.test("the reader skips bad lines with file and line, and a file that is not a log at once", () => {
  const good = [
    line("00.000", "JOIN", a, a, "self"),
    "2026-01-01T00:00:01.000Z FAIL member=oops node=x via=timeout incarnation=0",
    "",
    line("02.000", "JOIN", b, a, "join"),
    line("02.500", "JOIN", "[::1]:3000#4000", a, "join"),
    // Markup for an address: the page shows ids, so they must be addresses and nothing else.
    line("02.600", "JOIN", "<img/src/onerror>:3000#5000", a, "join"),
    "2026-01-01T00:00:03.000Z JOI", // cut mid-write
  ].join("\n");
  // 100 bad lines are reported each with its line, the rest summed up, but a cut last line too.
  const many = [line("00.000", "JOIN", a, a, "self"), ...Array(103).fill("junk"), "2026-01"]
    .join("\n");
  const { records, problems, skippedLines, used, rejected, empty } = readEventLogs([
    { source: "a.log", text: good },
    { source: "notes.txt", text: "hello\nworld\n" },
    { source: "empty.log", text: "" },
    { source: "many.log", text: many },
    // A terminal escape sequence in a name and in a line: shown, never sent to the terminal.
    {
      source: "esc\x1b[2J.log",
      text: `${line("00.000", "JOIN", a, a, "self")}\n\x1b[31mred a b c d\n`,
    },
  ]);
  assert.equal(records.length, 5);
  assert.deepEqual(problems.map((p) => `${p.source}:${p.line}`), [
    "a.log:2",
    "a.log:6",
    "a.log:7",
    "notes.txt:0",
    ...Array.from({ length: 100 }, (_, i) => `many.log:${i + 2}`),
    "many.log:0",
    "many.log:105",
    "esc\\u001b[2J.log:2",
  ]);
  assert.match(problems[0].error, /member=/);
  assert.match(problems[1].error, /member=/);
  assert.match(problems[2].error, /truncated last line/);
  assert.match(problems[3].error, /not an event log: none of its 2 lines/);
  assert.match(problems[104].error, /^3 more lines skipped/);
  assert.match(problems[105].error, /truncated last line/);
  assert.equal(
    problems[106].error,
    "not a time as the event log writes it (2026-01-01T00:00:05.123Z): '\\u001b[31mred'",
  );
  // deno-lint-ignore no-control-regex
  assert(problems.every((p) => !/[\x00-\x1f]/.test(p.source + p.error)));
  // Every skipped line counted, once, and each file in one place.
  assert.equal(skippedLines, 3 + 2 + 104 + 1);
  assert.deepEqual(used, ["a.log", "many.log", "esc\x1b[2J.log"]);
  assert.deepEqual(rejected, ["notes.txt"]);
  assert.deepEqual(empty, ["empty.log"]);
});

Deno.test("the model: failures with who detected them and when, and a false positive marked", () => {
  const text = [
    line("00.000", "JOIN", a, a, "self"),
    line("00.100", "JOIN", b, b, "self"),
    line("00.110", "JOIN", b, a, "join"),
    line("00.120", "JOIN", a, b),
    line("00.200", "JOIN", c, c, "self"),
    line("00.210", "JOIN", c, a, "join"),
    line("00.300", "JOIN", c, b),
    line("00.310", "JOIN", b, c),
    line("00.320", "JOIN", a, c),
    // c crashes; a and b fail it.
    line("05.000", "SUSPECT", c, a, "timeout"),
    line("06.000", "FAIL", c, a, "timeout"),
    line("06.050", "FAIL", c, b),
    // a wrongly fails b, which goes on logging.
    line("07.000", "FAIL", b, a, "timeout"),
    line("09.000", "REMOVE", c, b, "cleanup"),
  ].join("\n") + "\n";
  const { records } = readEventLogs([{ source: "run.log", text }]);
  const model = buildModel(records);
  assert.deepEqual(model.corrections, []);
  assert.equal(model.failures.length, 2);
  const [crash, wrong] = model.failures;
  assert.equal(crash.member, c);
  assert.equal(crash.suspectedMs, 5000);
  assert.equal(crash.firstMs, 6000);
  assert.equal(crash.firstBy, a);
  assert.equal(crash.allMs - crash.firstMs, 50);
  assert.equal(crash.detectedBy, 2);
  assert.equal(crash.falsePositive, false);
  assert.equal(wrong.member, b);
  assert.equal(wrong.falsePositive, true, "b logged REMOVE 2 s after it was failed");
});

Deno.test("the model: who was running at a detection, and false positives that rejoined at once", () => {
  const d = "10.0.0.4:3000#4000";
  const e = "10.0.0.5:3000#5000";
  const f = "10.0.0.6:3000#6000";
  const f2 = "10.0.0.6:3000#6001";
  const text = [
    line("00.000", "JOIN", a, a, "self"),
    line("00.100", "JOIN", b, a, "join"),
    line("00.200", "JOIN", c, a, "join"),
    line("00.300", "JOIN", d, a, "join"),
    line("00.400", "JOIN", f, a, "join"),
    line("00.390", "JOIN", f, f, "self"),
    // d leaves: as its own log and a's say.
    line("03.000", "LEAVE", d, d, "self"),
    line("03.010", "LEAVE", d, a),
    // c crashes; a and b fail it; f, running, logs nothing more of its own for a while.
    line("06.000", "FAIL", c, a, "timeout"),
    line("06.050", "FAIL", c, b),
    // e joins after the detection and learns of c's failure with its list: not a detector.
    line("08.000", "JOIN", e, a, "join"),
    line("08.500", "FAIL", c, e, "list"),
    // a wrongly fails b, which logs again 200 ms later: it was running.
    line("09.000", "FAIL", b, a, "timeout"),
    line("09.200", "REFUTE", b, b, "self"),
    // a wrongly fails f, which learns it and comes back as a new version at once.
    line("10.000", "FAIL", f, a, "timeout"),
    line("10.100", "REMOVE", f, f2, "gossip"),
    line("10.100", "JOIN", f2, f2, "self"),
  ].join("\n") + "\n";
  const model = buildModel(readEventLogs([{ source: "run.log", text }]).records);
  const [crash, wrongB, wrongF] = model.failures;
  assert.equal(crash.member, c);
  // Running at 06.000: a, b, and f (silent, but neither left nor failed for real); not d (left),
  // not e (not yet joined).
  assert.equal(crash.observers, 3);
  assert.equal(crash.detectedBy, 2);
  assert.equal(crash.allMs, 6050, "e's later record is not a detection");
  assert.equal(crash.falsePositive, false);
  assert.equal(crash.lastOwnLineMs, null, "c logged nothing here");
  assert.equal(wrongB.member, b);
  assert.equal(wrongB.falsePositive, true, "b logged 200 ms after it was failed");
  assert.equal(wrongF.member, f);
  assert.equal(wrongF.falsePositive, true, "f came back as a new version: it was running");
  assert.equal(wrongF.lastOwnLineMs, 390);
  for (const failure of model.failures) assert(failure.detectedBy <= failure.observers);
});

/**
 * A scripted run of 20 members, one log file per member: one leaves, one crashes, one is paused
 * (and failed, and comes back), one cannot send for 6 s (and fails the others), and the crashed
 * one restarts.
 */
function scriptedRun(): {
  logs: Map<number, string[]>;
  crashed: string;
  paused: string;
  cutOff: string;
} {
  const logs = new Map<number, string[]>();
  const sim = new Simulation({
    seed: 42,
    suspicion: true,
    onEvent: (node, event) => {
      const lines = logs.get(node.index) ?? logs.set(node.index, []).get(node.index)!;
      lines.push(formatEventLine(simulationEpochMs + event.atMs, node.id!, event));
    },
  });
  const n = 20;
  sim.addNodes(n);
  sim.start(0);
  for (let i = 1; i < n; i++) sim.at(i * 20, () => sim.start(i, 0));
  sim.runFor(5000);
  sim.leave(3);
  sim.runFor(3000);
  const crashed = sim.node(5).id!;
  sim.crash(5);
  sim.runFor(3000);
  const paused = sim.node(7).id!;
  sim.pause(7);
  sim.runFor(8000);
  sim.resume(7);
  sim.runFor(3000);
  const cutOff = sim.node(9).id!;
  sim.partition([[9], [...Array(n).keys()].filter((i) => i !== 9)]);
  sim.runFor(6000);
  sim.heal();
  sim.start(5, 0);
  sim.runFor(20000);
  return { logs, crashed, paused, cutOff };
}

/** The run's logs with the clocks of some members off: `skews` maps a member to its skew. */
function skewed(logs: Map<number, string[]>, skews: Map<number, number>) {
  return [...logs].map(([i, lines]) => ({
    source: `node${i}.log`,
    text: lines.map((l) => {
      const skewMs = skews.get(i) ?? 0;
      const at = l.indexOf(" ");
      return new Date(Date.parse(l.slice(0, at)) + skewMs).toISOString() + l.slice(at);
    }).join("\n") + "\n",
  }));
}

Deno.test("the model on a scripted run: skewed clocks are the only ones moved, failures judged right", () => {
  const { logs, crashed, paused, cutOff } = scriptedRun();
  const truth = buildModel(readEventLogs(skewed(logs, new Map())).records);
  assert.deepEqual(truth.corrections, [], "one virtual clock: nothing to correct");
  // Only the crash was real: the paused member and the one cut off were running, and came back
  // as new versions once they could tell.
  assert.deepEqual(truth.failures.filter((f) => !f.falsePositive).map((f) => f.member), [crashed]);
  assert(truth.failures.some((f) => f.member === paused && f.falsePositive));
  assert(truth.failures.some((f) => f.member === cutOff && f.falsePositive));
  // The one cut off concluded nothing while it heard from nobody: nobody else was failed.
  assert.deepEqual(truth.failures.map((f) => f.member).sort(), [crashed, paused, cutOff].sort());
  for (const failure of truth.failures) {
    assert(failure.detectedBy <= failure.observers, JSON.stringify(failure));
    assert(failure.detectedBy > 0);
  }
  const crash = truth.failures.find((f) => f.member === crashed)!;
  // 20 members, less the one that left and the crashed one itself.
  assert.equal(crash.observers, 18);
  assert.equal(crash.detectedBy, 18);

  const cases: [number, number, string][][] = [
    [[12, -4000, "10.0.0.13"]], // a joiner 4 s behind
    [[12, 3000, "10.0.0.13"]], // a joiner 3 s ahead
    [[0, 2000, "10.0.0.1"]], // the contact of every join 2 s ahead
    [[12, 3000, "10.0.0.13"], [16, -2000, "10.0.0.17"]], // two joiners, one ahead, one behind
  ];
  for (const skews of cases) {
    const model = buildModel(
      readEventLogs(skewed(logs, new Map(skews.map(([index, skewMs]) => [index, skewMs])))).records,
    );
    assert.deepEqual(
      model.corrections.map((c) => c.host),
      skews.map(([, , host]) => host),
      JSON.stringify(skews),
    );
    for (const [i, correction] of model.corrections.entries()) {
      const skewMs = skews[i][1];
      // Moved by the least that puts its joins in order: within the joins' few ms of the skew.
      assert(Math.abs(correction.shiftMs - skewMs) <= 5, JSON.stringify(correction));
      assert.match(correction.evidence, skewMs > 0 ? /^ahead by at least/ : /^behind by at least/);
    }
    // The same failures, at the same moments, as with true clocks.
    assert.deepEqual(
      model.failures.map((f) => [f.member, f.falsePositive, f.detectedBy, f.observers]),
      truth.failures.map((f) => [f.member, f.falsePositive, f.detectedBy, f.observers]),
    );
    for (const [i, f] of model.failures.entries()) {
      assert(Math.abs(f.firstMs - truth.failures[i].firstMs) <= 5);
    }
  }
});

Deno.test("the model moves a machine whose clock is visibly ahead back into causal order", () => {
  // c's clock is 3 s ahead: its own JOIN at 03.200 though a accepted it at 00.210.
  const text = [
    line("00.000", "JOIN", a, a, "self"),
    line("00.210", "JOIN", c, a, "join"),
    line("03.200", "JOIN", c, c, "self"),
    line("03.300", "JOIN", a, c),
    line("01.000", "SUSPECT", a, a, "self"),
  ].join("\n");
  const model = buildModel(readEventLogs([{ source: "x", text }]).records);
  assert.deepEqual(model.corrections.map((c) => [c.host, c.shiftMs]), [["10.0.0.3", 2990]]);
  const order = Array.from(model.data.t);
  assert.deepEqual(order, [...order].sort((x, y) => x - y));
  // c's record of a now falls between a's acceptance of c and a's later line.
  const replay = new Replay(model.data);
  replay.seek(400);
  assert.equal(replay.viewOf(1, 0), 1, "c (index 1) lists a as alive 0.4 s in");
});

Deno.test("the replay engine: any moment, forwards or backwards, gives the same lists", () => {
  const text = [
    line("00.000", "JOIN", a, a, "self"),
    line("00.100", "JOIN", b, a, "join"),
    line("01.000", "SUSPECT", b, a, "timeout"),
    line("01.500", "REFUTE", b, a),
    line("03.000", "SUSPECT", b, a, "timeout"),
    line("04.000", "FAIL", b, a, "timeout"),
    line("09.000", "REMOVE", b, a, "cleanup"),
  ].join("\n");
  const replay = new Replay(buildModel(readEventLogs([{ source: "x", text }]).records).data);
  const at = (ms: number) => {
    replay.seek(ms);
    return Replay.statuses[replay.statusOf(1)];
  };
  const moments: [number, string][] = [
    [50, "unknown"],
    [100, "alive"],
    [1200, "suspect"],
    [2000, "alive"],
    [3999, "suspect"],
    [4000, "failed"],
    [8999, "failed"],
    [9000, "removed"],
  ];
  for (const [ms, status] of moments) assert.equal(at(ms), status, `at ${ms} ms, forwards`);
  for (const [ms, status] of [...moments].reverse()) {
    assert.equal(at(ms), status, `at ${ms} ms, backwards`);
  }
  replay.seek(1200);
  assert.deepEqual(replay.listOf(0), [[1, 2]]);
  assert.deepEqual(replay.recent(300).map((i) => Replay.kinds[replay.data.kind[i]]), ["SUSPECT"]);
});

Deno.test("the replay engine: what stopped nodes still list does not count, nor a member's own line", () => {
  // b and c crash at once, each still listing the other (and itself) as alive; a fails and then
  // removes both. b and c end there: removed, not alive, and no detection still under way.
  const text = [
    line("00.000", "JOIN", a, a, "self"),
    line("00.100", "JOIN", b, a, "join"),
    line("00.100", "JOIN", b, b, "self"),
    line("00.150", "JOIN", a, b, "list"),
    line("00.200", "JOIN", c, a, "join"),
    line("00.200", "JOIN", c, c, "self"),
    line("00.250", "JOIN", a, c, "list"),
    line("00.250", "JOIN", b, c, "list"),
    line("00.300", "JOIN", c, b),
    line("02.200", "SUSPECT", b, a, "timeout"),
    line("02.200", "SUSPECT", c, a, "timeout"),
    line("03.200", "FAIL", b, a, "timeout"),
    line("03.300", "FAIL", c, a, "timeout"),
    line("33.200", "REMOVE", b, a, "cleanup"),
    line("33.300", "REMOVE", c, a, "cleanup"),
  ].join("\n");
  const replay = new Replay(buildModel(readEventLogs([{ source: "x", text }]).records).data);
  const status = (ms: number, m: number) => {
    replay.seek(ms);
    return Replay.statuses[replay.statusOf(m)];
  };
  assert.equal(status(2000, 1), "alive");
  assert.equal(replay.countByOthers(1, 1), 2, "a and c list b; b's own line is not counted");
  assert.equal(status(3200, 1), "failed");
  assert.equal(replay.hasEnded(1), true);
  assert.equal(replay.countByOthers(1, 1), 1, "c, not yet failed itself, still counts");
  assert.equal(status(3300, 1), "failed");
  assert.equal(replay.countByOthers(1, 1) + replay.countByOthers(1, 2), 0, "detection is over");
  assert.deepEqual(replay.listOf(1), [[0, 1], [2, 1]], "b's list as it stopped");
  for (const ms of [33_300, 33_200]) {
    assert.equal(status(ms, 1), "removed", `b at ${ms} ms`);
  }
  assert.equal(status(33_300, 2), "removed");

  // One failed by mistake logs on: its list still counts.
  const fp = [
    line("00.000", "JOIN", a, a, "self"),
    line("00.100", "JOIN", b, a, "join"),
    line("00.100", "JOIN", b, b, "self"),
    line("00.150", "JOIN", a, b, "list"),
    line("03.000", "FAIL", b, a, "timeout"),
    line("03.500", "SUSPECT", a, b, "timeout"),
  ].join("\n");
  const alive = new Replay(buildModel(readEventLogs([{ source: "y", text: fp }]).records).data);
  alive.seek(3200);
  assert.equal(alive.hasEnded(1), false);
  assert.equal(alive.countByOthers(0, 1), 1, "b still lists a");
  alive.seek(3600);
  assert.equal(Replay.statuses[alive.statusOf(0)], "suspect");
});

function hex(color: string): number[] {
  return [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16));
}

Deno.test("member viz: a file named twice counts once, an unreadable one fails, -o - is stdout", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const log = `${dir}/a.log`;
    Deno.writeTextFileSync(
      log,
      [line("00.000", "JOIN", a, a, "self"), line("00.100", "JOIN", b, a, "join")].join("\n"),
    );
    const twice = await member(["viz", log, log, "--json", "-o", `${dir}/once.html`]);
    assert.equal(twice.code, 0, twice.stderr);
    assert.equal(JSON.parse(twice.stdout).events, 2);
    assert.match(twice.stderr, /: 2 members, 2 events over 0\.1 s, 0 failures\n$/);

    // As cat does: the page is written from what could be read, and the exit status says the
    // rest could not.
    const missing = await member(["viz", log, `${dir}/none.log`, "-o", `${dir}/part.html`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /none\.log: cannot read it .*; skipped/);
    assert(Deno.statSync(`${dir}/part.html`).size > 0);

    // A terminal escape sequence in a bad line is shown escaped, not played; an empty file is
    // named as such; every bad line is counted.
    Deno.writeTextFileSync(
      `${dir}/esc.log`,
      `${line("00.000", "JOIN", c, c, "self")}\n\x1b[2Jboom a b c d\n`,
    );
    Deno.writeTextFileSync(`${dir}/empty.log`, "");
    const odd = await member([
      "viz",
      log,
      `${dir}/esc.log`,
      `${dir}/empty.log`,
      "--json",
      "-o",
      `${dir}/odd.html`,
    ]);
    assert.equal(odd.code, 0, odd.stderr);
    assert(!odd.stderr.includes("\x1b"), odd.stderr);
    assert.match(
      odd.stderr,
      /esc\.log:2: not a time as the event log writes it \(2026-01-01T00:00:05\.123Z\): '\\u001b\[2Jboom'; skipped/,
    );
    assert.match(odd.stderr, /empty\.log: empty; skipped/);
    assert.match(odd.stderr, /, 1 bad line skipped\n$/);
    assert.equal(JSON.parse(odd.stdout).skippedLines, 1);

    const piped = await member(["viz", log, "-o", "-"]);
    assert.equal(piped.code, 0, piped.stderr);
    assert.match(piped.stdout, /^<!doctype html>/i);
    assert.throws(() => Deno.statSync("-"), "no file named '-'");
    const both = await member(["viz", log, "-o", "-", "--json"]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /^error: -o - writes the page to stdout/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("the page in a real browser: plays, scrubs, and shows a failure only once detected", async () => {
  const dir = await Deno.makeTempDir({ prefix: "member-viz-" });
  const browser = await launchBrowser();
  try {
    const sim = await member([
      "sim",
      "--nodes",
      "12",
      "--fail",
      "2",
      "--seed",
      "7",
      "--duration",
      "20",
      "--json",
      "--events",
      `${dir}/run.log`,
    ]);
    assert.equal(sim.code, 0, sim.stderr);
    const report = JSON.parse(sim.stdout.trim().split("\n").at(-1)!);
    // A crashed member restarted at the end, as a new version of its address.
    const crashed: string = report.failures[0].member;
    const lastTime = (await Deno.readTextFile(`${dir}/run.log`)).trim().split("\n").at(-1)!
      .split(" ")[0];
    const hash = crashed.lastIndexOf("#");
    const restarted = `${crashed.slice(0, hash)}#${Number(crashed.slice(hash + 1)) + 1}`;
    const restart = `${lastTime} JOIN member=${restarted} node=${restarted} via=self incarnation=0`;
    // A junk line among the events: reported, skipped, not fatal.
    await Deno.writeTextFile(`${dir}/run.log`, `${restart}\ngarbage line\n`, { append: true });
    // A file whose name is markup, with a junk line: its name is shown, never run.
    const markup = `<img src=x onerror="globalThis.__injected=1">.log`;
    await Deno.writeTextFile(`${dir}/${markup}`, "junk\n");
    const built = await member([
      "viz",
      `${dir}/run.log`,
      `${dir}/${markup}`,
      "-o",
      `${dir}/replay.html`,
    ]);
    assert.equal(built.code, 0, built.stderr);
    assert.match(built.stderr, /run\.log:\d+: .*skipped/);
    assert.match(built.stderr, /wrote .*replay\.html: 13 members/);
    const html = await Deno.readTextFile(`${dir}/replay.html`);
    assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=|https?:\/\//, "fetches nothing");

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(String(error)));
    const requests: string[] = [];
    page.on("request", (request) => requests.push(request.url()));
    await page.goto(`file://${dir}/replay.html`);
    assert.deepEqual(requests, [`file://${dir}/replay.html`]);

    // Play: time moves on by itself.
    await page.click("#play");
    await page.waitForFunction(() => (globalThis as any).__replay.replay.nowMs > 200);
    await page.click("#play");
    assert.equal(await page.evaluate(() => (globalThis as any).__replay.playing), false);

    const failures = await page.evaluate(() => (globalThis as any).__replay.failures);
    assert.equal(failures.length, 2);
    for (const [i, failure] of failures.entries()) {
      // The same spread from first to all detection as the simulator measured exactly.
      const measured = report.failures.find((f: { member: string }) => f.member === failure.member);
      assert.equal(
        failure.allMs - failure.firstMs,
        measured.allDetectedMs - measured.firstDetectedMs,
      );
      const drawn = async (ms: number) => {
        return await page.evaluate(([id, at]) => {
          const r = (globalThis as any).__replay;
          r.seek(at);
          const [x, y] = r.positionOf(id);
          const canvas = (globalThis as any).document.getElementById("view");
          const pixel =
            canvas.getContext("2d").getImageData(Math.round(x), Math.round(y), 1, 1).data;
          return { status: r.drawnStatusOf(id), pixel: [pixel[0], pixel[1], pixel[2]] };
        }, [failure.member, ms] as const);
      };
      const before = await drawn(failure.firstMs - 1);
      assert.notEqual(before.status, "failed", `${failure.member} just before its detection`);
      assert.notDeepEqual(before.pixel, hex(statusColors[3]));
      const after = await drawn(failure.firstMs);
      assert.equal(after.status, "failed", `${failure.member} at its detection`);
      assert.deepEqual(after.pixel, hex(statusColors[3]), "drawn in the failed colour");
      if (i === 0) {
        // Scrubbing back before it un-fails it again.
        const back = await drawn(Math.max(0, failure.firstMs - 500));
        assert.notEqual(back.status, "failed");
      }
    }
    // Selecting a member shows its own list at that moment.
    const last = failures[1];
    await page.evaluate(([id, at]) => {
      const r = (globalThis as any).__replay;
      r.seek(at);
      r.select(id);
    }, [last.firstBy, last.allMs] as const);
    const listText = await page.textContent("#list");
    assert(listText!.includes(last.member) && listText!.includes("failed"), listText!);
    const input = (await page.textContent("#input"))!;
    assert.match(input, /Built from 1 log\(s\): .*run\.log\./);
    assert(input.includes(`Not event logs, left out: ${dir}/${markup}.`), input);
    assert.match(input, /2 line\(s\) skipped/);
    assert.equal(await page.evaluate(() => (globalThis as any).__injected), undefined);
    assert.equal(await page.locator("#input img").count(), 0);
    // Not yet joined: an outline, nothing filled at its centre, and a legend entry.
    const unjoined = await page.evaluate((id) => {
      const r = (globalThis as any).__replay;
      r.seek(0);
      const [x, y] = r.positionOf(id);
      const canvas = (globalThis as any).document.getElementById("view");
      return {
        status: r.drawnStatusOf(id),
        alpha: canvas.getContext("2d").getImageData(Math.round(x), Math.round(y), 1, 1).data[3],
      };
    }, restarted);
    assert.deepEqual(unjoined, { status: "unknown", alpha: 0 });
    assert.match((await page.textContent("#legend"))!, /^not yet joined/);
    // A click on a failure selects the member and goes to its first detection.
    await page.click("#failures tr.seek >> nth=1");
    assert.deepEqual(
      await page.evaluate(() => {
        const r = (globalThis as any).__replay;
        return [r.selected, r.replay.nowMs];
      }),
      [last.member, last.firstMs],
    );
    assert.match((await page.textContent("#selected"))!, new RegExp(`^${last.member}: failed`));
    // Space plays and pauses with the slider focused; holding its thumb holds the replay.
    const playing = () => page.evaluate(() => (globalThis as any).__replay.playing);
    await page.evaluate(() => (globalThis as any).__replay.seek(0));
    await page.focus("#scrub");
    await page.keyboard.press(" ");
    assert.equal(await playing(), true);
    const box = (await page.locator("#scrub").boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    assert.equal(await playing(), false, "held");
    await page.mouse.up();
    assert.equal(await playing(), true, "let go");
    await page.keyboard.press(" ");
    assert.equal(await playing(), false);
    // Two versions of one address: the later is told apart by its rank.
    const labelOf = (id: string) =>
      page.evaluate((id) => (globalThis as any).__replay.labelOf(id), id);
    assert.equal(await labelOf(crashed), crashed.slice(0, hash));
    assert.equal(await labelOf(restarted), `${crashed.slice(0, hash)} (2)`);
    await page.screenshot({ path: `${dir}/replay.png`, fullPage: true });
    assert((await Deno.stat(`${dir}/replay.png`)).size > 10_000);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("member viz with no files fetches every live member's event log", async () => {
  const cluster = new Cluster("addresses");
  try {
    await cluster.start(5);
    // One leaves and keeps running, one crashes: the first's log is fetched, the second's is out
    // of reach as expected, and neither is an error.
    const [, asked, , leaver, victim] = cluster.members;
    assert.equal((await member(["leave", "--node", leaver.address])).code, 0);
    victim.signal("SIGKILL");
    await victim.status;
    await waitFor("the crash and the leave listed", async () => {
      const stats = await asked.stats();
      const status = (m: typeof victim) =>
        stats.members.find((e) => e.address === m.address)?.status;
      return status(victim) === "failed" && status(leaver) === "left";
    }, 10_000);
    const output = `${cluster.dir}/replay.html`;
    const result = await member([
      "viz",
      "--node",
      cluster.members[1].address,
      "-o",
      output,
      "--json",
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`not reached, as expected .*: ${victim.address} `));
    const summary = JSON.parse(result.stdout);
    assert.equal(summary.members, 5);
    assert(summary.events >= 25, `${summary.events} events`);
    // One machine, one clock: each joiner's own JOIN is stamped when it happened, before its
    // contact accepted it, so no clock looks ahead.
    assert.deepEqual(summary.corrections, []);
    const html = await Deno.readTextFile(output);
    for (const m of cluster.members) {
      assert.equal(html.includes(`${m.address} member.log`), m !== victim, m.address);
    }
    const both = await member(["viz", "--node", asked.address, `${cluster.dir}/x.txt`]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /give it or FILES, not both/);
    // Bad input is one clear line and exit 1.
    await Deno.writeTextFile(`${cluster.dir}/x.txt`, "not a log\n");
    const bad = await member(["viz", `${cluster.dir}/x.txt`, "-o", `${cluster.dir}/y.html`]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /not an event log/);
    assert.match(bad.stderr, /error: no event lines in the input/);
  } finally {
    await cluster.stop();
  }
});
