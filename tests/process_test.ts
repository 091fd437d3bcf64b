/**
 * Real processes on loopback, both ways: ten members on distinct 127.0.0.x addresses sharing one
 * port, and ten on one address with ten ports. Default timings throughout.
 */
import assert from "node:assert/strict";
import type { EventRecord } from "../mod/log/event_line.ts";
import { bundle, Cluster, freePort, member, MemberProcess, waitFor } from "./_cluster.ts";
import { binaryFlags } from "../tasks/flags.ts";
import { type Entry, type ProbeRelay, Status } from "../mod/core/types.ts";
import type { EntryJson } from "../mod/node/stats.ts";
import { request } from "../mod/net/client.ts";

function addressOf(id: string): string {
  return id.slice(0, id.lastIndexOf("#"));
}

/** FAIL events about `address`, by observer address. */
function failTimes(members: MemberProcess[], address: string): Map<string, number> {
  const times = new Map<string, number>();
  for (const m of members) {
    const fail = m.events().find((e) => e.kind === "FAIL" && addressOf(e.member) === address);
    if (fail !== undefined) times.set(m.address, fail.timeMs);
  }
  return times;
}

/** Kills members at once and checks when the survivors list them as failed. */
async function killAndCheck(cluster: Cluster, victims: MemberProcess[]): Promise<void> {
  const killedAt = Date.now();
  for (const victim of victims) victim.signal("SIGKILL");
  await Promise.all(victims.map((v) => v.status));
  const survivors = cluster.running();
  await waitFor(
    "every survivor to list the victims as failed",
    () => victims.every((v) => failTimes(survivors, v.address).size === survivors.length),
    15_000,
  );
  for (const victim of victims) {
    const times = [...failTimes(survivors, victim.address).values()].map((t) => t - killedAt);
    const first = Math.min(...times);
    const last = Math.max(...times);
    assert(first <= 3000, `${victim.address}: first detection after ${first} ms`);
    assert(last <= 6000, `${victim.address}: last detection after ${last} ms`);
  }
  // Nobody else was failed.
  const victimAddresses = new Set(victims.map((v) => v.address));
  for (const m of survivors) {
    const wrong = m.events().filter((e: EventRecord) =>
      e.kind === "FAIL" && !victimAddresses.has(addressOf(e.member)) &&
      cluster.running().some((r) => r.address === addressOf(e.member))
    );
    assert.deepEqual(wrong, [], `${m.address} failed a live member`);
    // The members asked about the victim (the far-side watcher, the helpers of indirect probes)
    // answer over TCP: that says nothing of UDP being lost, and the log does not claim it does.
    assert.doesNotMatch(m.stderr(), /yet none of its datagrams came/, m.address);
  }
}

for (const layout of ["addresses", "ports"] as const) {
  Deno.test(`real processes (${layout}): join, crashes, leave and rejoin, introducer restart, after a leave too`, async (t) => {
    const cluster = new Cluster(layout);
    try {
      await t.step("10 members join; each logs a JOIN for each of the 9 others", async () => {
        await cluster.start(10);
        for (const m of cluster.members) {
          const others = new Set(
            m.events().filter((e) => e.kind === "JOIN").map((e) => addressOf(e.member)),
          );
          others.delete(m.address);
          assert.equal(others.size, 9, `${m.address} logged ${others.size} joins`);
        }
      });

      await t.step("kill -9 one: first detection within 3 s, all within 6 s", async () => {
        await killAndCheck(cluster, [cluster.members[4]]);
      });

      await t.step("kill -9 three at once", async () => {
        await killAndCheck(cluster, [cluster.members[2], cluster.members[6], cluster.members[9]]);
      });

      await t.step(
        "leave is LEAVE everywhere, never FAIL; join comes back as a new member",
        async () => {
          const leaver = cluster.members[3];
          const before = (await leaver.stats()).self.id;
          const left = await member(["leave", "--node", leaver.address]);
          assert.equal(left.code, 0, left.stderr);
          assert.match(left.stdout, /left the group/);
          const others = cluster.running().filter((m) => m !== leaver);
          await waitFor(
            "everyone to log the LEAVE",
            () =>
              others.every((m) =>
                m.events().some((e) => e.kind === "LEAVE" && e.member === before)
              ),
            10_000,
          );
          // Its own stats say its list stopped when it left.
          const shown = await member(["stats", "--node", leaver.address]);
          assert.match(shown.stdout, /This node has left the group/);
          // Wait past the fail timeout: a leave must never turn into a failure.
          await new Promise((resolve) => setTimeout(resolve, 3000));
          for (const m of others) {
            assert(!m.events().some((e) => e.kind === "FAIL" && e.member === before), m.address);
          }
          const joined = await member(["join", "--node", leaver.address, "--json"]);
          assert.equal(joined.code, 0, joined.stderr);
          const after = (await leaver.stats()).self.id;
          assert.notEqual(after, before);
          const answer = JSON.parse(joined.stdout);
          assert.equal(answer.ok, true);
          assert.equal(answer.self.id, after, "--json names the new member");
          await cluster.waitForAgreement(15_000);
          for (const m of others) {
            const view = (await m.stats()).members.find((e) => e.address === leaver.address);
            assert.equal(view?.id, after, `${m.address} lists the new version`);
          }
        },
      );

      await t.step(
        "the introducer crashes: failures are still detected; it restarts with the list",
        async () => {
          const introducer = cluster.members[0];
          introducer.signal("SIGKILL");
          await introducer.status;
          await killAndCheck(cluster, [cluster.members[5]]);
          const restarted = cluster.add(["--introducer"], 0);
          const expected = cluster.running().length - 1;
          await waitFor("the restarted introducer to list every member again", async () => {
            const stats = await restarted.stats();
            return stats.members.filter((e) => e.status === "alive").length === expected;
          }, 10_000);
          // New joins work through it.
          cluster.add(["--join", restarted.address], 10);
          await cluster.waitForAgreement(15_000);
        },
      );

      await t.step(
        "the introducer leaves and is started again: it finds its cluster, it founds no other",
        async () => {
          // Nobody seeks out a member that left: the restart must find the others itself,
          // through the members its data dir remembers.
          const introducer = cluster.members[0];
          const left = await member(["leave", "--node", introducer.address]);
          assert.equal(left.code, 0, left.stderr);
          introducer.signal("SIGTERM");
          assert.equal((await introducer.status).code, 0);
          const restarted = cluster.add(["--introducer"], 0);
          await cluster.waitForAgreement(15_000);
          cluster.add(["--join", restarted.address], 11);
          await cluster.waitForAgreement(15_000);
          const listed = (await cluster.members[1].stats()).members.map((e) => e.address);
          assert(listed.includes(cluster.members[11].address), "a join through it reaches all");
        },
      );
    } finally {
      await cluster.stop();
    }
  });
}

Deno.test("real processes: 10% receive-side drop, one crash, no false positive", async () => {
  const cluster = new Cluster("addresses");
  try {
    await cluster.start(10, ["--drop-rate", "0.1"]);
    // Let loss work on the cluster for a while before the crash.
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    await killAndCheck(cluster, [cluster.members[7]]);
    const dropped = await Promise.all(
      cluster.running().map(async (m) => (await m.stats()).dropped),
    );
    assert(
      dropped.every((d) => Number(d.onPurpose) > 0),
      "every node dropped datagrams on purpose",
    );
  } finally {
    await cluster.stop();
  }
});

Deno.test("real processes: the drop rate and the suspicion switch change at run time", async () => {
  const cluster = new Cluster("ports");
  try {
    await cluster.start(3);
    const [a, b, c] = cluster.members;
    const set = await member([
      "set",
      "--node",
      b.address,
      "--drop-rate",
      "0.25",
      "--suspicion",
      "off",
      "--json",
    ]);
    assert.equal(set.code, 0, set.stderr);
    assert.equal((await b.stats()).node.dropRate, 0.25);
    const answer = JSON.parse(set.stdout);
    assert.deepEqual([answer.ok, answer.dropRate, answer.suspicion], [true, 0.25, false]);
    assert.equal(answer.self.id, (await b.stats()).self.id);
    await waitFor("suspicion off everywhere", async () => {
      for (const m of [a, b, c]) if ((await m.stats()).node.suspicion !== false) return false;
      return true;
    }, 5000);
    const noop = await member(["set", "--node", b.address]);
    assert.equal(noop.code, 2);
  } finally {
    await cluster.stop();
  }
});

Deno.test("real processes: a node that hears no datagram fails nobody; it is told over TCP", async () => {
  // As when a firewall drops one machine's inbound UDP. Without suspicion, the strictest case: a
  // silence of `failAfterMs` would be a failure, and the failed members would come back anew.
  const cluster = new Cluster("addresses");
  try {
    await cluster.start(4, ["--no-suspicion"]);
    const ids = await Promise.all(cluster.members.map(async (m) => (await m.stats()).self.id));
    const deaf = cluster.members[2];
    const set = await member(["set", "--node", deaf.address, "--drop-rate", "1"]);
    assert.equal(set.code, 0, set.stderr);
    // Each of its three neighbours is probed once per 800 ms of silence: 20 answers take over
    // five seconds, more than twice the fail timeout.
    await waitFor(
      "20 probes answered",
      async () => (await deaf.stats()).detections.probesAnswered >= 20,
      20_000,
    );
    for (const m of cluster.members) {
      assert.deepEqual(m.events().filter((e) => e.kind === "FAIL"), [], `${m.address} failed`);
    }
    const now = await Promise.all(cluster.members.map(async (m) => (await m.stats()).self.id));
    assert.deepEqual(now, ids, "nobody came back as a new version");
    assert.match(deaf.stderr(), /answered over TCP, yet none of its datagrams came/);
    const text = await member(["stats", "--node", deaf.address]);
    assert.match(text.stdout, /probes: \d+ silent neighbours probed over TCP, \d+ answered/);
  } finally {
    await cluster.stop();
  }
});

Deno.test("real processes: a member asked for an indirect probe probes the member and vouches for it", async () => {
  // As a member whose own link to a silent neighbour is down asks another: the request carries
  // the asker's stale copy of the neighbour; the answer carries the helper's fresh one, second.
  const cluster = new Cluster("addresses");
  try {
    await cluster.start(3);
    const [asker, helper, neighbour] = cluster.members;
    const entryOf = (e: EntryJson, heartbeat = e.heartbeat): Entry => ({
      address: e.address,
      version: e.version,
      incarnation: e.incarnation,
      heartbeat,
      status: Status.Alive,
    });
    // A copy older than the neighbour's own: it counts a heartbeat a round from 1.
    await waitFor("the neighbour's heartbeat to pass 3", async () => {
      return (await neighbour.stats()).self.heartbeat > 3;
    }, 5000);
    const stale = entryOf((await neighbour.stats()).self, 1);
    const relay: ProbeRelay = {
      kind: "probe-relay",
      settings: { epoch: 0, suspicion: true },
      members: 3,
      entries: [entryOf((await asker.stats()).self), stale],
    };
    const reply = await request(helper.address, relay, 3000, undefined, undefined, "");
    assert.equal(reply.kind, "probe-ack");
    if (reply.kind !== "probe-ack") return;
    assert.equal(reply.entries[0].address, helper.address);
    assert.equal(reply.entries[1]?.address, neighbour.address, "the word is second");
    assert(reply.entries[1].heartbeat > stale.heartbeat, `${reply.entries[1].heartbeat}`);
    assert.equal((await helper.stats()).detections.indirectProbesRelayed, 1);
  } finally {
    await cluster.stop();
  }
});

/** Runs `member serve` to its end, as a user at a shell would, on the address and data dir given. */
function serve(args: string[], dataDir: string, host = "127.0.0.1", port = freePort()) {
  return member(["serve", ...args, "--host", host, "--port", `${port}`, "--data-dir", dataDir]);
}

Deno.test("bad flags exit 2 with one clear line", async () => {
  const cases = [
    ["serve", "--introducer", "--port", "abc"],
    ["serve", "--introducer", "--drop-rate", "2"],
    ["serve"],
    ["serve", "--introducer", "--join", "127.0.0.1:1"],
    ["serve", "--join", "nohost:99999"],
    ["serve", "--join", "127.0.0.1:3999", "--host", "127.0.0.1", "--port", "3999"],
    ["serve", "--introducer", "--grep", Deno.cwd()],
    ["serve", "--introducer", "--host", "0.0.0.0"],
    ["stats", "--bogus"],
    ["stats", "--node", "127.0.0.1:x"],
    ["sim", "--nodes", "1"],
    ["sim", "--nodes", "20000"],
    ["sim", "--nodes", "2", "--fail", "2"],
    ["grep", "--max-output", "300000000", "x"],
    ["serve", "--introducer", "--data-dir", ""],
    ["serve", "--introducer", "--grep", ""],
    ["set", "--drop-rate", "0x1"],
    ["set", "--suspicion", "maybe"],
    ["viz", "-o", "", "member.log"],
    ["nosuchcommand"],
    ["nosuchcommand", "--help"],
    ["help", "nosuchcommand"],
  ];
  for (const args of cases) {
    const result = await member(args);
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    const lines = result.stderr.trim().split("\n");
    assert.equal(lines.length, 1, `${args.join(" ")}: ${result.stderr}`);
    assert.match(lines[0], /^error: /, args.join(" "));
  }
});

Deno.test("a narrowed build refuses a path outside its own with the reason, in one line", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const paths = { dataDirs: [`${dir}/data`] };
    for (
      const args of [
        ["sim", "--nodes", "3", "--duration", "1", "--events", `${dir}/elsewhere.log`],
        ["stats", "--key-file", `${dir}/keys`],
      ]
    ) {
      const result = await member(args, { paths });
      assert.equal(result.code, 1, result.stderr);
      assert.match(
        result.stderr,
        /^error: cannot .*: this build of member may not use that path: its file access was limited/,
      );
      assert.doesNotMatch(result.stderr, /--allow-/, "no advice a binary cannot follow");
      assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("help is on stdout with exit 0, for the tool and every subcommand", async () => {
  const subcommands = [
    "serve",
    "join",
    "leave",
    "set",
    "stats",
    "grep",
    "viz",
    "sim",
    "keygen",
    "tags",
    "members",
  ];
  const cases = [["help"], ["--help"], ...subcommands.map((name) => [name, "--help"])];
  for (const args of cases) {
    const result = await member(args);
    assert.equal(result.code, 0, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stdout, /^Usage: member /, args.join(" "));
  }
  const bare = await member([]);
  assert.equal(bare.code, 2, "no subcommand is a usage error");
  assert.match(bare.stderr, /^Usage: member /);
});

Deno.test("a damaged version file or a data dir that is a file is one clear line and exit 1", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    for (const damage of ["garbage", "1e400", "99999999999999999"]) {
      Deno.writeTextFileSync(`${dir}/version`, `${damage}\n`);
      const result = await serve(["--introducer"], dir);
      assert.equal(result.code, 1, result.stderr);
      assert.equal(
        result.stderr.trim(),
        `error: cannot use data dir ${dir}: ${dir}/version holds '${damage}', not a version ` +
          "(milliseconds): fix or remove it",
      );
      assert.equal(Deno.readTextFileSync(`${dir}/version`), `${damage}\n`);
    }
    // The widest version the wire carries (only forged gossip gets there): no newer one exists.
    Deno.writeTextFileSync(`${dir}/version`, "281474976710655\n");
    const widest = await serve(["--introducer"], dir);
    assert.equal(widest.code, 1, widest.stderr);
    assert.match(widest.stderr.trim(), /^error: .*the widest version the wire carries/);
    // A data dir that is a file, or under one: said in words, not as a system call's error.
    const file = `${dir}/version`;
    for (
      const [dataDir, why] of [[file, "it exists and is not a directory"], [
        `${file}/x`,
        "a part of the path is not a directory",
      ]]
    ) {
      const result = await serve(["--introducer"], dataDir);
      assert.equal(result.code, 1, result.stderr);
      assert.equal(result.stderr.trim(), `error: cannot use data dir ${dataDir}: ${why}`);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("an unreachable introducer exits 1 with one clear line", async () => {
  const port = freePort();
  const dir = Deno.makeTempDirSync();
  try {
    const result = await serve(["--join", `127.0.0.1:${port}`], dir);
    assert.equal(result.code, 1, result.stderr);
    const last = result.stderr.trim().split("\n").at(-1)!;
    assert.equal(
      last,
      `error: cannot join via 127.0.0.1:${port}: connection refused after 5 attempts`,
    );
    // It never was a member: its event log holds no JOIN that nothing would end.
    let log = "";
    try {
      log = Deno.readTextFileSync(`${dir}/member.log`);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    assert.equal(log, "");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a restarted node whose join fails was never listed: gossip waits for the join", async () => {
  const cluster = new Cluster("ports");
  try {
    await cluster.start(3);
    const crashed = cluster.members[2];
    crashed.signal("SIGKILL");
    await crashed.status;
    // Restarted at once, while the others still send heartbeats to its old version, through a
    // contact that is down and with no members remembered to fall back on.
    try {
      Deno.removeSync(`${crashed.dataDir}/members`);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const result = await serve(
      ["--join", `127.0.0.1:${freePort()}`],
      crashed.dataDir,
      crashed.host,
      crashed.port,
    );
    assert.equal(result.code, 1, result.stderr);
    for (const survivor of cluster.members.slice(0, 2)) {
      const joins = Deno.readTextFileSync(`${survivor.dataDir}/member.log`).split("\n")
        .filter((line) => / JOIN /.test(line) && line.includes(`member=${crashed.address}#`));
      assert.equal(joins.length, 1, joins.join("\n"));
    }
  } finally {
    await cluster.stop();
  }
});

Deno.test("a join again with every contact gone fails in one line, and the node stays left", async () => {
  const cluster = new Cluster("ports");
  try {
    await cluster.start(2);
    const [introducer, leaver] = cluster.members;
    const left = await member(["leave", "--node", leaver.address]);
    assert.equal(left.code, 0, left.stderr);
    const before = await leaver.stats();
    introducer.signal("SIGKILL");
    await introducer.status;
    const joined = await member(["join", "--node", leaver.address]);
    assert.equal(joined.code, 1, joined.stderr);
    assert.equal(
      joined.stderr,
      `error: cannot join via ${introducer.address}: connection refused\n`,
    );
    // Not half-joined: the same left entry, and the list it had.
    const after = await leaver.stats();
    assert.equal(after.node.state, "left");
    assert.equal(after.self.id, before.self.id);
    assert.equal(after.self.status, "left");
    assert.deepEqual(after.members.map((m) => m.id), before.members.map((m) => m.id));
  } finally {
    await cluster.stop();
  }
});

Deno.test("a port in use, or a node that is not running, is one clear line and exit 1", async () => {
  const cluster = new Cluster("ports");
  try {
    const first = cluster.add(["--introducer"]);
    await waitFor("the node", () => first.stats(), 15_000);
    const dir = Deno.makeTempDirSync();
    const clash = await serve(["--introducer"], dir, first.host, first.port);
    Deno.removeSync(dir, { recursive: true });
    assert.equal(clash.code, 1);
    assert.match(clash.stderr.trim(), new RegExp(`^error: cannot listen on ${first.address}`));
    // Another port, the same data dir: two event logs would interleave.
    const shared = await serve(["--introducer"], first.dataDir, first.host);
    assert.equal(shared.code, 1);
    assert.equal(
      shared.stderr.trim(),
      `error: cannot use data dir ${first.dataDir}: another member process is using it`,
    );
    const absent = await member(["stats", "--node", `127.0.0.1:${freePort()}`]);
    assert.equal(absent.code, 1);
    assert.match(
      absent.stderr.trim(),
      /^error: cannot reach 127\.0\.0\.1:\d+: connection refused$/,
    );
    // Another kind of server on the port.
    const http = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const serving = (async () => {
      for await (const conn of http) {
        await conn.write(new TextEncoder().encode("HTTP/1.1 400 Bad Request\r\n\r\n"));
        conn.close();
      }
    })();
    const other = await member(["stats", "--node", `127.0.0.1:${http.addr.port}`]);
    http.close();
    await serving.catch(() => {});
    assert.equal(other.code, 1);
    assert.match(other.stderr.trim(), /^error: cannot reach .*: what answered is not a member/);
  } finally {
    await cluster.stop();
  }
});

const machineAddress = Deno.networkInterfaces().find((i) =>
  i.family === "IPv4" && !i.address.startsWith("127.")
)?.address;

Deno.test({
  name: "a member on the machine's own address answers local clients on 127.0.0.1 too",
  // Nothing is sent off the machine: the member is alone, and its clients are local.
  ignore: machineAddress === undefined,
  fn: async () => {
    const port = freePort();
    const node = new MemberProcess(machineAddress!, port, Deno.makeTempDirSync(), ["--introducer"]);
    try {
      const stats = await waitFor("the node", async () => {
        const result = await member(["stats", "--json", "--node", `127.0.0.1:${port}`]);
        return result.code === 0 ? JSON.parse(result.stdout) : undefined;
      }, 15_000);
      assert.equal(stats.self.address, `${machineAddress}:${port}`);
      // Control too: the connection comes from this machine.
      const left = await member(["leave", "--node", `127.0.0.1:${port}`]);
      assert.equal(left.code, 0, left.stderr);
    } finally {
      await node.stop();
      Deno.removeSync(node.dataDir, { recursive: true });
    }
  },
});

Deno.test("stats --watch keeps watching a node that is down, and shows it once it is up", async () => {
  const port = freePort();
  const watch = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...binaryFlags(),
      bundle,
      "stats",
      "--json",
      "--watch",
      "0.2",
      "--node",
      `127.0.0.1:${port}`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const text = { stdout: "", stderr: "" };
  const drain = async (stream: ReadableStream<Uint8Array>, into: "stdout" | "stderr") => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) text[into] += chunk;
  };
  const drained = Promise.all([drain(watch.stdout, "stdout"), drain(watch.stderr, "stderr")]);
  let node: MemberProcess | undefined;
  try {
    await waitFor("two failed attempts", () => text.stderr.split("\n").length > 2, 15_000);
    assert.match(text.stderr, /^error: cannot reach 127\.0\.0\.1:\d+: connection refused; trying/);
    node = new MemberProcess("127.0.0.1", port, Deno.makeTempDirSync(), ["--introducer"]);
    const shown = await waitFor("the node's statistics", () => {
      const line = text.stdout.split("\n").find((l) => l.startsWith("{"));
      return line === undefined ? undefined : JSON.parse(line);
    }, 15_000);
    assert.equal(shown.self.address, `127.0.0.1:${port}`);
  } finally {
    watch.kill();
    await watch.status;
    await drained;
    if (node !== undefined) {
      await node.stop();
      Deno.removeSync(node.dataDir, { recursive: true });
    }
  }
});

Deno.test("SIGHUP does not stop a node; SIGTERM while the join is retried exits 0", async () => {
  const dir = Deno.makeTempDirSync();
  const node = new MemberProcess("127.0.0.1", freePort(), `${dir}/a`, ["--introducer"]);
  const joiner = new MemberProcess("127.0.0.2", freePort(), `${dir}/b`, [
    "--join",
    `127.0.0.1:${freePort()}`,
  ]);
  try {
    await waitFor("the node", () => node.stats(), 15_000);
    node.signal("SIGHUP");
    await waitFor("the hangup noted", () => node.stderr().includes("nothing to reload"), 5000);
    assert.equal((await node.stats()).self.status, "alive");
    await waitFor("a join retried", () => joiner.stderr().includes("retrying"), 15_000);
    joiner.signal("SIGTERM");
    assert.equal((await joiner.status).code, 0, joiner.stderr());
  } finally {
    await node.stop();
    await joiner.stop();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("serve warns of a --grep path that names no file, or of a file it cannot name", async () => {
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(`${dir}/app.log`, "hello\n");
  Deno.mkdirSync(`${dir}/logs`);
  Deno.writeTextFileSync(`${dir}/logs/ok.log`, "hello\n");
  // A name that is not UTF-8 (byte 0xff), as only a program outside Deno can write it.
  const made = await new Deno.Command("sh", {
    args: ["-c", 'printf "hello\\n" > "$1/$(printf "a\\377b").log"', "sh", `${dir}/logs`],
  }).output();
  assert(made.success);
  const node = new MemberProcess("127.0.0.1", freePort(), `${dir}/node`, [
    "--introducer",
    "--grep",
    `${dir}/app.log`,
    "--grep",
    `${dir}/typo/*.log`,
    "--grep",
    `${dir}/logs/*.log`,
    "--no-grep-log",
  ]);
  try {
    await waitFor("the warnings", () => node.stderr().includes("names not UTF-8"), 15_000);
    const warnings = node.stderr().split("\n").filter((l) => l.includes("names no file"));
    assert.equal(warnings.length, 1, node.stderr());
    assert(warnings[0].includes(`--grep ${dir}/typo/*.log names no file yet`), warnings[0]);
    assert.match(node.stderr(), /not searched \(names not UTF-8\): .*\/logs\/a\uFFFDb\.log/);
    // A query searches the others and says which it could not.
    const found = await member(["grep", "-c", "--node", node.address, "hello"]);
    assert.equal(found.code, 0, found.stderr);
    assert.equal(found.stdout.trim().split("\n").length, 2, found.stdout);
    assert.match(found.stderr, /not searched \(names not UTF-8\)/);
  } finally {
    await node.stop();
    Deno.removeSync(dir, { recursive: true });
  }
});
