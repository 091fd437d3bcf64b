/**
 * Cluster names and addresses, with real processes as operators run them (the bundle, under the
 * binary's flags): two named clusters on one machine stay apart, a join to the other is refused in
 * one line, a node remembering an address the other cluster now holds does not merge, a node bound
 * to every address advertises the one given, `--join` takes several contacts, `--retry-join`
 * waits for a contact to come up, and a cluster runs on IPv6 loopback.
 */
import assert from "node:assert/strict";
import { Cluster, freePort, member, MemberProcess, waitFor } from "./_cluster.ts";

/** The members `of` lists as alive, by address. */
async function aliveOf(of: MemberProcess): Promise<string[]> {
  const stats = await of.stats();
  return stats.members.filter((m) => m.status === "alive").map((m) => m.address).sort();
}

/** How many inputs `of` dropped as being of another cluster. */
async function otherClusterDrops(of: MemberProcess): Promise<number> {
  const malformed = (await of.stats()).dropped.malformed as Record<string, number>;
  return malformed["other-cluster"] ?? 0;
}

Deno.test("two named clusters on one machine stay apart; a join to the other is one line", async () => {
  const a = new Cluster("ports", 3);
  const b = new Cluster("ports", 3);
  const metricsPort = freePort();
  try {
    await a.start(2, ["--cluster", "a"]);
    const introducerA = a.members[0];
    await b.start(2, ["--cluster", "b"]);
    // The same machine, the same loopback: only the name keeps them apart.
    for (const [cluster, other] of [[a, b], [b, a]]) {
      for (const m of cluster.members) {
        assert.deepEqual(
          await aliveOf(m),
          cluster.members.filter((x) => x !== m).map((x) => x.address).sort(),
        );
        for (const o of other.members) assert.ok(!(await aliveOf(m)).includes(o.address));
      }
    }
    const before = await otherClusterDrops(introducerA);
    const dir = Deno.makeTempDirSync({ prefix: "member-test-" });
    try {
      const joined = await member([
        "serve",
        "--join",
        introducerA.address,
        "--cluster",
        "b",
        "--host",
        "127.0.0.1",
        "--port",
        `${freePort()}`,
        "--data-dir",
        dir,
      ]);
      assert.equal(joined.code, 1, joined.stderr);
      assert.equal(
        joined.stderr.trim().split("\n").at(-1),
        `error: cannot join via ${introducerA.address}: it belongs to cluster "a", this node to "b"`,
      );
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
    assert.ok((await otherClusterDrops(introducerA)) > before);
    assert.deepEqual(await aliveOf(introducerA), [a.members[1].address]);
    // A client needs no name: stats, as above, and grep reach a named cluster's members.
    assert.equal((await introducerA.stats()).node.cluster, "a");
    const grep = await member(["grep", "-c", "JOIN", "--node", introducerA.address]);
    assert.equal(grep.code, 0, grep.stderr);
    // The metrics count the drops by the same reason.
    const withMetrics = a.add([
      "--join",
      introducerA.address,
      "--cluster",
      "a",
      "--metrics",
      `127.0.0.1:${metricsPort}`,
    ]);
    await a.waitForAgreement(20_000);
    const refused = await member([
      "serve",
      "--join",
      withMetrics.address,
      "--host",
      "127.0.0.1",
      "--port",
      `${freePort()}`,
      "--data-dir",
      `${a.dir}/unnamed`,
    ]);
    assert.equal(
      refused.stderr.trim().split("\n").at(-1),
      `error: cannot join via ${withMetrics.address}: it belongs to cluster "a", this node to ` +
        "none (no --cluster)",
    );
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const line = text.split("\n").find((l) =>
      l.startsWith('member_dropped_total{reason="other-cluster"}')
    );
    assert.ok(line !== undefined && Number(line.split(" ").at(-1)) >= 1, text);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

Deno.test("a node remembering an address the other cluster now holds does not merge", async () => {
  const a = new Cluster("ports", 2);
  let b: MemberProcess | undefined;
  try {
    await a.start(2, ["--cluster", "a"]);
    const [introducer, remembering] = a.members;
    // Its data dir remembers the introducer's address (written within a second).
    await waitFor(
      "the members file",
      () => Deno.readTextFileSync(`${remembering.dataDir}/members`).includes(introducer.address),
      10_000,
    );
    // Crashed, not stopped: a leave would make the other forget it in its members file.
    for (const m of [remembering, introducer]) {
      m.signal("SIGKILL");
      await m.status;
    }
    // The address is taken over by a member of cluster "b" (a reused pod or VM address).
    b = new MemberProcess(introducer.host, introducer.port, `${a.dir}/b`, [
      "--introducer",
      "--cluster",
      "b",
    ]);
    await waitFor("cluster b", () => b!.stats(), 15_000);
    const restarted = a.add(["--introducer", "--cluster", "a"], 1);
    await waitFor("the restarted node", () => restarted.stats(), 15_000);
    await waitFor(
      "the refusal in its log",
      () =>
        restarted.stderr().includes(
          `not joining ${introducer.address}, remembered in ${restarted.dataDir}/members: ` +
            `it belongs to cluster "b", this node to "a"`,
        ),
      10_000,
    );
    assert.ok((await otherClusterDrops(b)) >= 1);
    // A second or two of gossip later, neither lists the other.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.deepEqual(await aliveOf(restarted), []);
    assert.deepEqual(await aliveOf(b), []);
  } finally {
    await b?.stop();
    await a.stop();
  }
});

Deno.test("a node bound to 0.0.0.0 that advertises 127.0.0.7 joins and is reached", async () => {
  const cluster = new Cluster("ports", 2);
  try {
    await cluster.start(2);
    const [introducer, other] = cluster.members;
    // Bound to every address: its port must be free on all of them.
    const port = freePort(["0.0.0.0", "127.0.0.7"]);
    const behind = new MemberProcess("127.0.0.7", port, `${cluster.dir}/behind`, [
      "--join",
      introducer.address,
      "--bind",
      "0.0.0.0",
      "--advertise",
      "127.0.0.7",
    ]);
    cluster.members.push(behind);
    await cluster.waitForAgreement(20_000);
    for (const m of [introducer, other]) {
      const entry = (await m.stats()).members.find((e) => e.address === `127.0.0.7:${port}`);
      assert.equal(entry?.status, "alive");
    }
    assert.equal((await behind.stats()).self.address, `127.0.0.7:${port}`);
  } finally {
    await cluster.stop();
  }
});

Deno.test("--join with a dead first contact joins through the second at once", async () => {
  const cluster = new Cluster("ports", 2);
  try {
    await cluster.start(1);
    const [introducer] = cluster.members;
    const joiner = cluster.add(["--join", `127.0.0.1:${freePort()}`, "--join", introducer.address]);
    await cluster.waitForAgreement(15_000);
    // In its first round: the dead contact cost no retry.
    assert.ok(!/retrying/.test(joiner.stderr()), joiner.stderr());
  } finally {
    await cluster.stop();
  }
});

Deno.test("--retry-join waits for a contact that comes up late, then joins", async () => {
  const cluster = new Cluster("ports", 2);
  try {
    const { host, port } = cluster.addressOf(0);
    const waiting = cluster.add(["--join", `${host}:${port}`, "--retry-join"], 1);
    // Past the attempts that would have ended it without --retry-join.
    await waitFor(
      "the node to keep trying",
      () => waiting.stderr().includes("--retry-join: trying again until one answers"),
      20_000,
    );
    assert.equal(waiting.exited, false);
    cluster.add(["--introducer"], 0);
    await cluster.waitForAgreement(30_000);
  } finally {
    await cluster.stop();
  }
});

Deno.test("a cluster of 3 on IPv6 loopback joins and detects a kill -9", async () => {
  const cluster = new Cluster("ports", 1);
  try {
    const port = freePort(["::1"], 3);
    const introducer = new MemberProcess("[::1]", port, `${cluster.dir}/v6-0`, ["--introducer"]);
    cluster.members.push(introducer);
    await waitFor("the introducer", () => introducer.stats(), 15_000);
    for (const i of [1, 2]) {
      cluster.members.push(
        new MemberProcess("[::1]", port + i, `${cluster.dir}/v6-${i}`, [
          "--join",
          introducer.address,
        ]),
      );
    }
    await cluster.waitForAgreement(20_000);
    assert.deepEqual(await aliveOf(introducer), [`[::1]:${port + 1}`, `[::1]:${port + 2}`]);
    const victim = cluster.members[2];
    const id = (await victim.stats()).self.id;
    victim.signal("SIGKILL");
    await victim.status;
    for (const survivor of cluster.members.slice(0, 2)) {
      await waitFor(
        `${survivor.address} to log the FAIL`,
        () => survivor.events().some((e) => e.kind === "FAIL" && e.member === id),
        10_000,
      );
    }
  } finally {
    await cluster.stop();
  }
});
