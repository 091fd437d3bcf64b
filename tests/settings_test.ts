/**
 * Settings as an operator chooses them: `--profile`, `--config FILE` (TOML) and `--setting`, the
 * same on `serve` and `sim`. A config wrong in each way gets its one line naming the field and
 * exit 2, run as users run the tool (the bundle); the lean profile meets the course's bounds in
 * the simulator and on a real cluster; `member stats --json` shows the settings in force.
 */
import assert from "node:assert/strict";
import { parseConfigText, parseSetting, resolveSettings } from "../cmd/_settings.ts";
import { configProblem, defaultConfig } from "../mod/core/config.ts";
import { profileConfig, profileNames } from "../mod/core/profiles.ts";
import { runScenario } from "../mod/sim/scenario.ts";
import { Cluster, member, type MemberProcess, waitFor } from "./_cluster.ts";

function addressOf(id: string): string {
  return id.slice(0, id.lastIndexOf("#"));
}

Deno.test("profiles: lan is the defaults, and every profile passes the core's checks", () => {
  assert.deepEqual(profileConfig("lan"), defaultConfig);
  for (const name of profileNames) {
    assert.equal(configProblem(profileConfig(name)), undefined, name);
  }
  const wan = profileConfig("wan");
  assert(wan.suspectAfterMs >= 3 * defaultConfig.suspectAfterMs, "wan waits longer");
  const lean = profileConfig("lean");
  assert(lean.gossipIntervalMs > defaultConfig.gossipIntervalMs, "lean sends less often");
});

Deno.test("config text: fields, profile, and one line naming the field for each mistake", () => {
  assert.deepEqual(parseConfigText('profile = "wan"\nsuspectAfterMs = 5000\ngossipFanout = 2\n'), {
    profile: "wan",
    fields: { suspectAfterMs: 5000, gossipFanout: 2 },
  });
  const cases: [string, RegExp][] = [
    [
      'suspectAfterMs = "fast"',
      /^suspectAfterMs must be a positive number of milliseconds, got "fast"$/,
    ],
    ["suspectAfterMs = -5", /^suspectAfterMs must be a positive number of milliseconds, got -5$/],
    [
      "selfDoubtMs = -1",
      /^selfDoubtMs must be 0 \(off\) or a positive number of milliseconds, got -1$/,
    ],
    ["suspectAfter = 1500", /^unknown field 'suspectAfter': did you mean suspectAfterMs\?$/],
    ["gosipIntervalMs = 200", /did you mean gossipIntervalMs\?/],
    ["ringNeighbors = 1.5", /^ringNeighbors must be a whole number from 1 to 32, got 1.5$/],
    ["ringNeighbors = 99", /^ringNeighbors must be from 1 to 32, got 99$/],
    ["cleanupAfterMs = 9999999999", /^cleanupAfterMs must be at most \d+ ms/],
    ['profile = "fast"', /^profile must be one of lan, wan, lean, got "fast"$/],
    ["[gossip]\nfanout = 2", /^unknown field 'gossip'/],
    ["suspectAfterMs = ", /^line 1, column \d+: /],
  ];
  for (const [text, expected] of cases) {
    const parsed = parseConfigText(text);
    assert("error" in parsed, text);
    assert.match(parsed.error, expected);
  }
  assert.deepEqual(parseConfigText("selfDoubtMs = 0"), {
    profile: undefined,
    fields: { selfDoubtMs: 0 },
  });
  assert.deepEqual(parseSetting("suspectAfterMs=1_500"), { field: "suspectAfterMs", value: 1500 });
  assert.match((parseSetting("nope") as { error: string }).error, /FIELD=VALUE/);
});

Deno.test("settings: a flag beats the file, the file beats the profile", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const file = `${dir}/member.toml`;
    Deno.writeTextFileSync(
      file,
      'profile = "wan"\nsuspectTimeoutMs = 4000\ncleanupAfterMs = 60000\n',
    );
    const fromFile = resolveSettings({ config: file });
    assert.equal(fromFile.profile, "wan");
    assert.equal(fromFile.config.suspectAfterMs, profileConfig("wan").suspectAfterMs);
    assert.equal(fromFile.config.suspectTimeoutMs, 4000);
    const flags = resolveSettings({
      config: file,
      profile: "lean",
      setting: ["cleanupAfterMs=45000"],
    });
    assert.equal(flags.profile, "lean");
    assert.equal(flags.config.gossipIntervalMs, profileConfig("lean").gossipIntervalMs);
    assert.equal(flags.config.suspectTimeoutMs, 4000);
    assert.equal(flags.config.cleanupAfterMs, 45_000);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a --config wrong in each way: one line naming the field, exit 2, on serve and sim", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const cases: [string, string][] = [
      [
        'suspectAfterMs = "fast"',
        'suspectAfterMs must be a positive number of milliseconds, got "fast"',
      ],
      ["suspectAfter = 1500", "unknown field 'suspectAfter': did you mean suspectAfterMs?"],
      ["ringNeighbors = 0", "ringNeighbors must be from 1 to 32, got 0"],
      ["probeAfterMs = 5000", "probeAfterMs must be shorter than suspectAfterMs and failAfterMs"],
      ['profile = "fast"', 'profile must be one of lan, wan, lean, got "fast"'],
      ["suspectAfterMs = = 3", "line 1, column"],
    ];
    for (const [i, [text, message]] of cases.entries()) {
      const file = `${dir}/bad-${i}.toml`;
      Deno.writeTextFileSync(file, text + "\n");
      for (const command of [["serve", "--introducer", "--port", "1"], ["sim"]]) {
        const run = await member([...command, "--config", file]);
        assert.equal(run.code, 2, `${command[0]} ${text}: ${run.stderr}`);
        const lines = run.stderr.trimEnd().split("\n");
        assert.equal(lines.length, 1, run.stderr);
        assert(lines[0].startsWith(`error: --config ${file}: ${message}`), lines[0]);
      }
    }
    const missing = await member(["sim", "--config", `${dir}/none.toml`]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^error: --config \S+none.toml: cannot read it: no such file/);
    const profile = await member(["sim", "--profile", "fast"]);
    assert.equal(profile.code, 2);
    assert.equal(profile.stderr, "error: --profile fast: no such profile; choose lan, wan, lean\n");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("sim --profile lean: within the course's bounds at 30% loss, and few bytes", async () => {
  // The CLI as a user runs it, then more seeds through the same API it calls.
  const run = await member([
    "sim",
    "--profile",
    "lean",
    "--nodes",
    "10",
    "--loss",
    "0.3",
    "--json",
  ]);
  assert.equal(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout.trim().split("\n").at(-1)!);
  assert.equal(report.settings.profile, "lean");
  assert.equal(report.settings.gossipIntervalMs, profileConfig("lean").gossipIntervalMs);
  const reports = [report];
  for (const nodes of [10, 30]) {
    for (let seed = 1; seed <= 5; seed++) {
      reports.push(runScenario({
        nodes,
        seed,
        lossRate: 0.3,
        fail: 1,
        durationMs: 60_000,
        suspicion: true,
        config: profileConfig("lean"),
      }));
    }
  }
  for (const r of reports) {
    const failure = r.failures[0];
    const where = `N=${r.nodes} seed ${r.seed}`;
    assert(failure.firstDetectedMs !== null && failure.firstDetectedMs <= 3000, where);
    assert(failure.allDetectedMs !== null && failure.allDetectedMs <= 6000, where);
    assert.equal(failure.detectedBy, failure.observers, where);
    assert.equal(r.falsePositives, 0, where);
    // With a crash, the news and the reconnect gossip to the failed address come on top.
    assert(r.bytesPerNodePerSecond.mean <= 150, `${where}: ${r.bytesPerNodePerSecond.mean} B/s`);
  }
  // At rest, at most 100 B/s a node, whatever the loss: two heartbeats a round, and a full
  // gossip every other round. Counted from convergence over a minute, as the news of the joins
  // dies down.
  for (const nodes of [10, 30]) {
    for (let seed = 1; seed <= 5; seed++) {
      const r = runScenario({
        nodes,
        seed,
        lossRate: 0.3,
        fail: 0,
        durationMs: 60_000,
        suspicion: true,
        config: profileConfig("lean"),
      });
      const where = `at rest, N=${nodes} seed ${seed}`;
      assert.equal(r.falsePositives, 0, where);
      assert(r.bytesPerNodePerSecond.mean <= 100, `${where}: ${r.bytesPerNodePerSecond.mean} B/s`);
    }
  }
});

Deno.test("a real cluster under --profile lean: stats shows it, a kill -9 is failed within bounds", async () => {
  const cluster = new Cluster("ports");
  try {
    await cluster.start(4, ["--profile", "lean"]);
    const shown = await member(["stats", "--json", "--node", cluster.members[1].address]);
    assert.equal(shown.code, 0, shown.stderr);
    const settings = JSON.parse(shown.stdout).settings;
    assert.deepEqual(settings, { profile: "lean", ...profileConfig("lean") });
    const text = await member(["stats", "--node", cluster.members[1].address]);
    assert.match(text.stdout, /^settings: profile lean$/m);
    assert.match(text.stdout, / gossipIntervalMs 1400 /);

    const victim: MemberProcess = cluster.members[2];
    const killedAt = Date.now();
    victim.signal("SIGKILL");
    await victim.status;
    const survivors = cluster.running();
    const failedAt = (m: MemberProcess) =>
      m.events().find((e) => e.kind === "FAIL" && addressOf(e.member) === victim.address)?.timeMs;
    await waitFor(
      "every survivor to list the victim as failed",
      () => survivors.every((m) => failedAt(m) !== undefined),
      15_000,
    );
    const times = survivors.map((m) => failedAt(m)! - killedAt);
    assert(Math.min(...times) <= 3000, `first detection after ${Math.min(...times)} ms`);
    assert(Math.max(...times) <= 6000, `last detection after ${Math.max(...times)} ms`);
    for (const m of survivors) {
      const wrong = m.events().filter((e) =>
        e.kind === "FAIL" && addressOf(e.member) !== victim.address
      );
      assert.deepEqual(wrong, [], `${m.address} failed a live member`);
    }
  } finally {
    await cluster.stop();
  }
});

Deno.test("a member whose timing differs from the cluster's is warned of in both logs", async () => {
  const cluster = new Cluster("ports");
  try {
    await cluster.start(2);
    // The same profile: no warning on either side.
    for (const m of cluster.members) assert.doesNotMatch(m.stderr(), /timing/);
    const odd = cluster.add(["--join", cluster.members[0].address, "--profile", "wan"]);
    await cluster.waitForAgreement(30_000);
    await waitFor("the warnings", () => /timing/.test(cluster.members[0].stderr()), 5000);
    assert.match(
      odd.stderr(),
      new RegExp(
        `WRN.*this member's timing differs from that of "?${cluster.members[0].address}"? \\(` +
          `gossipIntervalMs 600 here, 200 there, probeAfterMs 2400 here, 800 there, .*\\): .*` +
          `run every member with the same settings`,
      ),
    );
    assert.match(
      cluster.members[0].stderr(),
      new RegExp(
        `WRN.*"?${odd.address}"? joined with a timing unlike this one's \\(gossipIntervalMs 200 ` +
          `here, 600 there, .*\\)`,
      ),
    );
    // A member that joined with the same timing is not named.
    const warnings = cluster.members[0].stderr().split("\n").filter((l) => /timing/.test(l));
    assert(!warnings.some((l) => l.includes(cluster.members[1].address)), warnings.join("\n"));
  } finally {
    await cluster.stop();
  }
});
