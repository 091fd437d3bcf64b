// The page's globals (window.__replay, the DOM) are untyped in the browser callbacks below.
// deno-lint-ignore-file no-explicit-any
/**
 * `member viz`: the log reader, the timeline model and the replay engine, then the page itself in
 * a real browser (Debian's chromium driven by playwright-core), built from a simulated run, and
 * from a live cluster's logs fetched through a node.
 */
import assert from "node:assert/strict";
import { readEventLogs } from "../mod/log/reader.ts";
import { buildModel } from "../mod/viz/model.ts";
import { Replay } from "../mod/viz/replay.ts";
import { statusColors } from "../mod/viz/page.ts";
import { launchBrowser } from "./_browser.ts";
import { Cluster, member } from "./_cluster.ts";

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
  const { records, problems } = readEventLogs([
    { source: "a.log", text: good },
    { source: "notes.txt", text: "hello\nworld\n" },
    { source: "empty.log", text: "" },
  ]);
  assert.equal(records.length, 3);
  assert.deepEqual(problems.map((p) => `${p.source}:${p.line}`), [
    "a.log:2",
    "a.log:6",
    "a.log:7",
    "notes.txt:0",
  ]);
  assert.match(problems[0].error, /member=/);
  assert.match(problems[1].error, /member=/);
  assert.match(problems[2].error, /truncated last line/);
  assert.match(problems[3].error, /not an event log: none of its 2 lines/);
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
    const built = await member(["viz", `${dir}/run.log`, "-o", `${dir}/replay.html`]);
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
    assert.match((await page.textContent("#input"))!, /1 line\(s\) skipped/);
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
    await cluster.start(3);
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
    const summary = JSON.parse(result.stdout);
    assert.equal(summary.members, 3);
    assert(summary.events >= 9, `${summary.events} events`);
    // One machine, one clock: each joiner's own JOIN is stamped when it happened, before its
    // contact accepted it, so no clock looks ahead.
    assert.deepEqual(summary.corrections, []);
    const html = await Deno.readTextFile(output);
    for (const m of cluster.members) assert(html.includes(`${m.address} member.log`));
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
