/**
 * Security and bad input, on real processes: a keyed cluster refuses anyone without its key and
 * rotates keys without downtime; junk datagrams and frames are dropped and every drop is counted;
 * a flood of joins is refused, not absorbed; idle and trickling connections are closed; a deleted event log is
 * written afresh. Nobody live is ever marked failed meanwhile.
 */
import assert from "node:assert/strict";
import { Random } from "../mod/core/random.ts";
import { Status } from "../mod/core/types.ts";
import {
  datagramLimits,
  decodeDatagram,
  encodeMessage,
  type FrameMessage,
} from "../mod/wire/codec.ts";
import { generateKey, Keyring } from "../mod/wire/seal.ts";
import { FrameReader, writeFrame } from "../mod/net/frames.ts";
import { Cluster, member, type MemberProcess, waitFor } from "./_cluster.ts";
import { request } from "../mod/net/client.ts";

type Dropped = Record<string, number>;

async function dropped(m: MemberProcess): Promise<Dropped> {
  const stats = await m.stats();
  return (stats.dropped as { malformed: Dropped }).malformed;
}

function failsOf(cluster: Cluster, among: MemberProcess[]): string[] {
  const live = new Set(among.map((m) => m.address));
  return cluster.members.flatMap((m) =>
    m.events().filter((e) =>
      e.kind === "FAIL" && live.has(e.member.slice(0, e.member.lastIndexOf("#")))
    )
      .map((e) => `${m.address} failed ${e.member}`)
  );
}

function udpSocket(): Deno.DatagramConn {
  return Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("a keyed cluster: no key or a wrong key cannot join or gossip; keys rotate live", async (t) => {
  const cluster = new Cluster("addresses");
  const keyA = generateKey();
  const keyB = generateKey();
  const keyFile = (i: number) => `${cluster.dir}/keys-${i}`;
  try {
    // The introducer's key file is left readable by all (as a umask of 022 makes it): it warns.
    for (let i = 0; i < 3; i++) Deno.writeTextFileSync(keyFile(i), keyA + "\n", { mode: 0o600 });
    Deno.chmodSync(keyFile(0), 0o644);
    const introducer = cluster.add(["--introducer", "--key-file", keyFile(0)]);
    await waitFor("the introducer", () => introducer.stats(), 15_000);
    assert.match(introducer.stderr(), /may be read by other users \(mode 644\): chmod 600 it/);
    for (let i = 1; i < 3; i++) {
      cluster.add(["--join", introducer.address, "--key-file", keyFile(i)]);
    }
    await cluster.waitForAgreement(30_000);
    const keyed = [...cluster.members];

    await t.step("a node without the key is refused with a clear reason", async () => {
      const stranger = cluster.add(["--join", introducer.address], 5);
      const status = await stranger.status;
      assert.equal(status.code, 1);
      assert.match(
        stranger.stderr(),
        /seals its traffic: start the joiner with the cluster's --key-file/,
      );
    });

    await t.step("a node with another key cannot join", async () => {
      Deno.writeTextFileSync(`${cluster.dir}/wrong`, generateKey() + "\n", { mode: 0o600 });
      const before = await dropped(introducer);
      const stranger = cluster.add([
        "--join",
        introducer.address,
        "--key-file",
        `${cluster.dir}/wrong`,
      ], 6);
      const status = await stranger.status;
      assert.equal(status.code, 1);
      // At once, in one line: no retry can change a key refusal.
      assert.match(
        stranger.stderr(),
        /^error: cannot join via \S+: this node cannot open the request: --key-file does not hold the cluster's key\n$/,
      );
      // A client with that key is told the same, in one line.
      const stats = await member([
        "stats",
        "--node",
        introducer.address,
        "--key-file",
        `${cluster.dir}/wrong`,
      ]);
      assert.equal(stats.code, 1);
      assert.match(stats.stderr, /^error: .*does not hold the cluster's key\n$/);
      const after = await dropped(introducer);
      assert((after.unauthenticated ?? 0) > (before.unauthenticated ?? 0), JSON.stringify(after));
    });

    await t.step("plain datagrams, even well-formed ones, are dropped and counted", async () => {
      const socket = udpSocket();
      try {
        const before = await dropped(introducer);
        const fake = encodeMessage({
          kind: "gossip",
          settings: { epoch: 99, suspicion: false },
          members: 2,
          entries: [{
            address: "127.0.0.99:1",
            version: 1,
            incarnation: 0,
            heartbeat: 1,
            status: Status.Alive,
          }],
        });
        const [host, port] = [introducer.host, introducer.port];
        for (let i = 0; i < 100; i++) {
          await socket.send(fake, { transport: "udp", hostname: host, port });
        }
        await waitFor("the drops to be counted", async () => {
          const after = await dropped(introducer);
          return (after["not-sealed"] ?? 0) - (before["not-sealed"] ?? 0) === 100;
        }, 5000);
        const stats = await introducer.stats();
        assert(!JSON.stringify(stats.members).includes("127.0.0.99"));
        assert.equal(stats.node.suspicion, true, "a forged settings change was not taken");
      } finally {
        socket.close();
      }
    });

    await t.step(
      "a plain probe, even from this machine, gets no answer and is counted",
      async () => {
        const before = await dropped(introducer);
        const probe = {
          kind: "probe",
          settings: { epoch: 99, suspicion: false },
          members: 2,
          entries: [{
            address: "127.0.0.98:1",
            version: 1,
            incarnation: 0,
            heartbeat: 1,
            status: Status.Alive,
          }],
        } as const;
        await assert.rejects(request(introducer.address, probe, 2000), /closed without an answer/);
        const after = await dropped(introducer);
        assert.equal((after["plain-refused"] ?? 0) - (before["plain-refused"] ?? 0), 1);
        assert(!JSON.stringify((await introducer.stats()).members).includes("127.0.0.98"));
      },
    );

    await t.step("probes between keyed members are sealed and answered", async () => {
      const deaf = keyed[2];
      const set = async (rate: string, ...more: string[]) => {
        const result = await member(["set", "--node", deaf.address, "--drop-rate", rate, ...more]);
        assert.equal(result.code, 0, result.stderr);
      };
      await set("1");
      try {
        await waitFor(
          "probes answered",
          async () => (await deaf.stats()).detections.probesAnswered >= 3,
          10_000,
        );
      } finally {
        // Control needs no key, and takes one given all the same (sealed).
        await set("0", "--key-file", keyFile(2));
      }
      assert.equal((await deaf.stats()).node.dropRate, 0);
      assert.deepEqual(failsOf(cluster, keyed), []);
    });

    await t.step("the local CLI and a keyed remote client both get answers", async () => {
      const plain = await member(["stats", "--node", introducer.address, "--json"]);
      assert.equal(plain.code, 0, plain.stderr);
      const sealed = await member([
        "stats",
        "--node",
        introducer.address,
        "--json",
        "--key-file",
        keyFile(1),
      ]);
      assert.equal(sealed.code, 0, sealed.stderr);
      const grep = await member([
        "grep",
        "--node",
        introducer.address,
        "--key-file",
        keyFile(1),
        "-c",
        "JOIN",
      ]);
      assert.equal(grep.code, 0, grep.stderr);
      assert.match(grep.stdout, /member\.log:\d+/);
    });

    await t.step(
      "rotation without downtime: add B, seal with B, drop A (SIGHUP reloads)",
      async () => {
        const stages = [`${keyA}\n${keyB}\n`, `${keyB}\n${keyA}\n`, `${keyB}\n`];
        for (const stage of stages) {
          for (let i = 0; i < 3; i++) {
            Deno.writeTextFileSync(keyFile(i), stage);
            keyed[i].signal("SIGHUP");
            await sleep(300);
          }
          await waitFor(
            "the reload to be logged",
            () => keyed.every((m) => m.stderr().includes("reloaded")),
            5000,
          );
          await sleep(1500);
          await cluster.waitForAgreement(10_000, () => keyed);
        }
        // A node holding only the old key is now a stranger; one with the new key joins.
        Deno.writeTextFileSync(`${cluster.dir}/old`, keyA + "\n");
        const old = cluster.add(
          ["--join", introducer.address, "--key-file", `${cluster.dir}/old`],
          7,
        );
        assert.equal((await old.status).code, 1);
        Deno.writeTextFileSync(`${cluster.dir}/new`, keyB + "\n");
        const fresh = cluster.add([
          "--join",
          introducer.address,
          "--key-file",
          `${cluster.dir}/new`,
        ], 8);
        await cluster.waitForAgreement(15_000, () => [...keyed, fresh]);
        assert.deepEqual(failsOf(cluster, [...keyed, fresh]), []);
      },
    );
  } finally {
    await cluster.stop();
  }
});

Deno.test("junk datagrams and frames are dropped, every one counted, and nothing else changes", async () => {
  const cluster = new Cluster("addresses");
  try {
    await cluster.start(3);
    const target = cluster.members[0];
    const before = await dropped(target);
    const random = new Random(77);
    const valid = encodeMessage({
      kind: "gossip",
      settings: { epoch: 0, suspicion: true },
      members: 3,
      entries: cluster.members.map((m) => ({
        address: m.address,
        version: 1,
        incarnation: 0,
        heartbeat: 1,
        status: Status.Alive,
      })),
    });
    // Random, mutated and cut datagrams; only those that do not decode are sent, so that each
    // must show up as exactly one drop, under the reason the decoder gives here.
    const expected: Dropped = {};
    const socket = udpSocket();
    let sent = 0;
    try {
      while (sent < 5000) {
        let bytes: Uint8Array;
        const kind = random.below(3);
        if (kind === 0) {
          bytes = new Uint8Array(random.below(1400));
          for (let i = 0; i < bytes.length; i++) bytes[i] = random.below(256);
        } else if (kind === 1) {
          bytes = valid.slice();
          for (let f = 1 + random.below(4); f > 0; f--) {
            bytes[random.below(bytes.length)] = random.below(256);
          }
        } else {
          bytes = valid.slice(0, random.below(valid.length));
        }
        const decoded = decodeDatagram(bytes, datagramLimits);
        if (decoded.ok) continue;
        expected[decoded.reason] = (expected[decoded.reason] ?? 0) + 1;
        await socket.send(bytes, { transport: "udp", hostname: target.host, port: target.port });
        sent++;
        // Paced so that the kernel's receive buffer never overflows, however loaded the machine:
        // every 50, wait until the node has read and counted them all.
        if (sent % 50 === 0) {
          await waitFor(
            `the node to count ${sent} junk datagrams`,
            async () => {
              const now = await dropped(target);
              let counted = 0;
              for (const reason of Object.keys(now)) counted += now[reason] - (before[reason] ?? 0);
              return counted >= sent;
            },
            10_000,
            20,
          );
        }
      }
    } finally {
      socket.close();
    }
    // Junk on TCP: garbage, a length past the limit, a frame cut short.
    const frames: [Uint8Array, string][] = [
      [new Uint8Array([0, 0, 0, 3, 1, 2, 3]), "msgpack"],
      [new Uint8Array([0xff, 0xff, 0xff, 0xff]), "frame-too-large"],
      [new Uint8Array([0, 0, 1, 0, 1, 2]), "truncated-frame"],
    ];
    for (const [bytes, reason] of frames) {
      for (let i = 0; i < 10; i++) {
        const conn = await Deno.connect({ hostname: target.host, port: target.port });
        await conn.write(bytes);
        conn.closeWrite();
        await conn.read(new Uint8Array(16)).catch(() => null);
        conn.close();
        expected[reason] = (expected[reason] ?? 0) + 10 / 10;
      }
    }
    // Wait until the counts settle, then compare them reason by reason.
    let last = "";
    await waitFor(
      "the drop counts to settle",
      async () => {
        const now = JSON.stringify(await dropped(target));
        const settled = now === last;
        last = now;
        return settled;
      },
      15_000,
      1000,
    );
    const after = await dropped(target);
    const counted = Object.fromEntries(
      Object.keys(expected).map((reason) => [reason, (after[reason] ?? 0) - (before[reason] ?? 0)]),
    );
    assert.deepEqual(counted, expected, `all drops: ${JSON.stringify(after)}`);
    await sleep(3000);
    await cluster.waitForAgreement(5000);
    assert.deepEqual(failsOf(cluster, cluster.running()), []);
  } finally {
    await cluster.stop();
  }
});

Deno.test("a join flood is refused past the limit; idle connections are closed; nobody fails", async () => {
  const cluster = new Cluster("addresses");
  try {
    await cluster.start(3);
    const target = cluster.members[0];
    // Joins from made-up members as fast as they go, 30 at a time, until some are refused (at
    // most 3,000): the first burst is taken, the rest told to come back later; the node answers
    // stats all along. On a slow machine the first 600 may come no faster than the bucket fills.
    const { request } = await import("../mod/net/client.ts");
    let accepted = 0;
    let busy = 0;
    const started = Date.now();
    for (let batch = 0; batch < 100 && busy === 0; batch++) {
      const replies = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          request(target.address, {
            kind: "join-request",
            entry: {
              address: `127.1.${batch}.${i + 1}:9`,
              version: Date.now(),
              incarnation: 0,
              heartbeat: 0,
              status: Status.Alive,
            },
          }, 5000)),
      );
      for (const reply of replies) {
        assert.equal(reply.kind, "join-response");
        if (reply.kind === "join-response" && reply.accepted) accepted++;
        else if (reply.kind === "join-response") {
          assert.match(reply.reason, /busy/);
          busy++;
        }
      }
    }
    const seconds = (Date.now() - started) / 1000;
    assert(accepted <= 400 + 200 * seconds + 1, `${accepted} accepted in ${seconds} s`);
    assert(busy > 0, "the flood was refused past the limit");
    assert(((await dropped(target))["join-flood"] ?? 0) === busy);
    // Idle connections: opened, never written to or sent one byte of a request and no more,
    // closed by the node after its 5 s timeout, or at once to make room once they fill every
    // slot; stats and joins are answered all along.
    const idle = await Promise.all(
      Array.from({ length: 80 }, async (_, i) => {
        const conn = await Deno.connect({ hostname: target.host, port: target.port });
        if (i % 2 === 1) await conn.write(new Uint8Array([0]));
        return conn;
      }),
    );
    const closedAt = Promise.all(idle.map(async (conn) => {
      const buffer = new Uint8Array(1);
      const result = await conn.read(buffer).catch(() => null);
      conn.close();
      return result;
    }));
    await target.stats(); // still answering, though 80 idle connections were opened against 64 slots
    const results = await Promise.race([closedAt, sleep(8000).then(() => "still open")]);
    assert.notEqual(results, "still open");
    const drops = await dropped(target);
    assert((drops["evicted"] ?? 0) >= 17, JSON.stringify(drops));
    assert(
      (drops["idle-timeout"] ?? 0) + (drops["truncated-frame"] ?? 0) + (drops["evicted"] ?? 0) >=
        80,
      JSON.stringify(drops),
    );
    assert.equal(drops["too-many-connections"] ?? 0, 0);
    // The made-up members never heartbeat, so they fail in turn; the real ones keep listing each
    // other (alive, or suspected for a moment while the ring settles), and none is ever failed.
    for (let i = 0; i < 8; i++) {
      await sleep(1000);
      for (const m of cluster.running()) {
        const alive = new Set(
          (await m.stats()).members.filter((e) => e.status === "alive" || e.status === "suspect")
            .map((e) => e.address),
        );
        for (const other of cluster.running()) {
          if (other !== m) assert(alive.has(other.address), `${m.address} lost ${other.address}`);
        }
      }
    }
    assert.deepEqual(failsOf(cluster, cluster.running()), []);
  } finally {
    await cluster.stop();
  }
});

Deno.test("an event log deleted or rotated away, or its data dir, is written afresh", async () => {
  const cluster = new Cluster("addresses");
  try {
    await cluster.start(3);
    const watcher = cluster.members[0];
    const log = `${watcher.dataDir}/member.log`;
    const logged = (kind: string, what: string) =>
      waitFor(what, () => {
        try {
          return Deno.readTextFileSync(log).includes(` ${kind} `);
        } catch {
          return false;
        }
      }, 10_000);
    Deno.renameSync(log, `${log}.1`);
    // In a quiet cluster too: the log is back within about a second, before any event.
    await waitFor("a fresh log before any event", () => {
      try {
        return Deno.statSync(log).isFile;
      } catch {
        return false;
      }
    }, 3000);
    cluster.members[2].signal("SIGKILL");
    await logged("FAIL", "a FAIL in the fresh log");
    assert.match(Deno.readTextFileSync(`${log}.1`), / JOIN /);
    Deno.removeSync(log);
    await sleep(1500);
    await member(["leave", "--node", cluster.members[1].address]);
    await logged("LEAVE", "a LEAVE in the log written afresh");
    // The whole data dir gone: it is made again.
    Deno.removeSync(watcher.dataDir, { recursive: true });
    await sleep(1500);
    const joined = await member(["join", "--node", cluster.members[1].address]);
    assert.equal(joined.code, 0, joined.stderr);
    await logged("JOIN", "a JOIN in a log in a data dir made again");
  } finally {
    await cluster.stop();
  }
});

Deno.test("a client with the key takes no plain answer, but for a plain refusal", async () => {
  // Whoever answers on a member's port without the key (a spoofer in the path) cannot feed a
  // keyed client, nor a member's probe or list exchange, made-up answers.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(`${dir}/keys`, generateKey() + "\n");
  let answer: FrameMessage = { kind: "stats-response", json: "{}" };
  const serving = (async () => {
    for await (const conn of listener) {
      try {
        await new FrameReader(conn).next(2000);
        await writeFrame(conn, answer, 2000);
      } catch {
        // The client went away.
      } finally {
        conn.close();
      }
    }
  })();
  try {
    const node = `127.0.0.1:${listener.addr.port}`;
    const ask = () => member(["stats", "--json", "--node", node, "--key-file", `${dir}/keys`]);
    const forged = await ask();
    assert.equal(forged.code, 1);
    assert.match(forged.stderr, /^error: cannot reach \S+: the answer was not sealed/);
    const keyring = await Keyring.load(`${dir}/keys`);
    const probe = {
      kind: "probe",
      settings: { epoch: 0, suspicion: true },
      members: 1,
      entries: [{ address: "127.0.0.1:1", version: 1, incarnation: 0, heartbeat: 1, status: 1 }],
    } as const;
    answer = { ...probe, kind: "probe-ack" };
    await assert.rejects(request(node, probe, 2000, keyring), /not sealed/);
    answer = { kind: "control-response", ok: false, message: "no such key here" };
    const refused = await ask();
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /no such key here/);
  } finally {
    listener.close();
    await serving.catch(() => {});
    Deno.removeSync(dir, { recursive: true });
  }
});
