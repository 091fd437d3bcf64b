import assert from "node:assert/strict";
import { defaultConfig } from "./config.ts";
import { Core, epochNewer, probeAsked } from "./core.ts";
import { ringHash } from "./ring.ts";
import { Random } from "./random.ts";
import {
  type Entry,
  type Gossip,
  type MemberEvent,
  type OutgoingProbe,
  type Probe,
  type ProbeRelay,
  Status,
  type SyncResponse,
} from "./types.ts";
import { uint32Max, versionMax } from "./wire_size.ts";
import { decodeDatagram, encodeMessage } from "../wire/codec.ts";

const v0 = 1767225600000;
const settings = { epoch: 0, suspicion: true };

function core(address = "10.0.0.1:3000", nowMs = 0, config = {}): Core {
  return new Core({ address, version: v0, nowMs, random: new Random(7), config });
}

function entry(address: string, fields: Partial<Entry> = {}): Entry {
  return {
    address,
    version: v0 + 1,
    incarnation: 0,
    heartbeat: 1,
    status: Status.Alive,
    ...fields,
  };
}

function gossip(...entries: Entry[]): Gossip {
  return { kind: "gossip", settings, members: entries.length, entries };
}

function kinds(events: readonly MemberEvent[], address?: string): string[] {
  return events.filter((e) => address === undefined || e.address === address).map((e) => e.kind);
}

/**
 * A probe answered as a driver answers it; a request for an indirect probe, without the probe it
 * asks for (whose answer would only add a copy of the member).
 */
function answerProbe(c: Core | undefined, nowMs: number, message: Probe | ProbeRelay) {
  if (message.kind === "probe") return c?.acceptProbe(nowMs, message);
  c?.relayProbe(nowMs, message);
  return c?.answerRelay(nowMs, message);
}

/** A core that knows `others` as alive members, events already taken. */
function withMembers(others: string[], config = {}): Core {
  const c = core("10.0.0.1:3000", 0, config);
  c.applyJoinResponse(
    0,
    {
      kind: "join-response",
      accepted: true,
      settings,
      entries: others.map((address) => entry(address)),
    },
    others[0],
  );
  c.takeEvents();
  c.takeDatagrams();
  return c;
}

Deno.test("a new core lists only itself and logs its own JOIN", () => {
  const c = core();
  assert.equal(c.liveCount, 1);
  assert.deepEqual(c.members(), []);
  assert.deepEqual(kinds(c.takeEvents()), ["JOIN"]);
});

Deno.test("join: the contact adds the joiner and answers with the whole list", () => {
  const introducer = core("10.0.0.1:3000");
  const joiner = new Core({
    address: "10.0.0.2:3000",
    version: v0 + 5,
    nowMs: 10,
    random: new Random(1),
  });
  const response = introducer.acceptJoin(10, joiner.joinRequest());
  assert(response.accepted);
  assert.deepEqual(response.entries.map((e) => e.address), ["10.0.0.1:3000", "10.0.0.2:3000"]);
  assert.deepEqual(kinds(introducer.takeEvents(), "10.0.0.2:3000"), ["JOIN"]);
  joiner.applyJoinResponse(12, response, "10.0.0.1:3000");
  assert.equal(joiner.liveCount, 2);
  assert.deepEqual(kinds(joiner.takeEvents(), "10.0.0.1:3000"), ["JOIN"]);
  // An older version is refused: a version is used once (a retry of the same one is answered,
  // see below).
  const older = new Core({
    address: "10.0.0.2:3000",
    version: v0 + 1,
    nowMs: 20,
    random: new Random(3),
  });
  assert.equal(introducer.acceptJoin(20, older.joinRequest()).accepted, false);
  // A newer version of the same address replaces the old member.
  const restarted = new Core({
    address: "10.0.0.2:3000",
    version: v0 + 99,
    nowMs: 30,
    random: new Random(2),
  });
  const newer = introducer.acceptJoin(30, restarted.joinRequest());
  assert(newer.accepted);
  const events = introducer.takeEvents();
  assert.deepEqual(events.map((e) => [e.kind, e.version, e.via]), [
    ["REMOVE", v0 + 5, "superseded"],
    ["JOIN", v0 + 99, "join"],
  ]);
});

Deno.test("merge: heartbeat, incarnation and status precedence", () => {
  const a = "10.0.0.2:3000";
  const c = withMembers([a]);
  c.receive(100, gossip(entry(a, { heartbeat: 5 })));
  assert.equal(c.lookup(a)!.heartbeat, 5);
  assert.equal(c.lookup(a)!.heardMs, 100);
  c.receive(150, gossip(entry(a, { heartbeat: 3 })));
  assert.equal(c.lookup(a)!.heartbeat, 5, "a lower heartbeat changes nothing");
  assert.equal(c.lookup(a)!.heardMs, 100);
  // Suspect at the same incarnation overrides alive.
  c.receive(200, gossip(entry(a, { heartbeat: 5, status: Status.Suspect })));
  assert.equal(c.lookup(a)!.status, Status.Suspect);
  // Alive at the same incarnation does not clear it; a higher incarnation does.
  c.receive(210, gossip(entry(a, { heartbeat: 6 })));
  assert.equal(c.lookup(a)!.status, Status.Suspect);
  c.receive(220, gossip(entry(a, { heartbeat: 6, incarnation: 1 })));
  assert.equal(c.lookup(a)!.status, Status.Alive);
  assert.deepEqual(kinds(c.takeEvents(), a), ["SUSPECT", "REFUTE"]);
  // Suspect at an older incarnation is stale.
  c.receive(230, gossip(entry(a, { status: Status.Suspect, incarnation: 0 })));
  assert.equal(c.lookup(a)!.status, Status.Alive);
  // Failed is final for the version, whatever comes after.
  c.receive(240, gossip(entry(a, { status: Status.Failed })));
  c.receive(250, gossip(entry(a, { incarnation: 9, heartbeat: 99 })));
  assert.equal(c.lookup(a)!.status, Status.Failed);
  assert.deepEqual(kinds(c.takeEvents(), a), ["FAIL"]);
  // An older version is ignored; a newer one is a new member.
  c.receive(260, gossip(entry(a, { version: v0 })));
  assert.equal(c.lookup(a)!.version, v0 + 1);
  c.receive(270, gossip(entry(a, { version: v0 + 2 })));
  assert.equal(c.lookup(a)!.version, v0 + 2);
  assert.equal(c.lookup(a)!.status, Status.Alive);
  assert.deepEqual(
    kinds(c.takeEvents(), a),
    ["REMOVE", "JOIN"],
    "the failed one goes, the new joins",
  );
});

Deno.test("a left member is LEAVE, never FAIL, and stays left", () => {
  const a = "10.0.0.2:3000";
  const c = withMembers([a]);
  c.receive(10, gossip(entry(a, { status: Status.Left })));
  c.receive(20, gossip(entry(a, { status: Status.Failed })));
  assert.equal(c.lookup(a)!.status, Status.Left);
  assert.deepEqual(kinds(c.takeEvents(), a), ["LEAVE"]);
});

/**
 * Ticks `c` at every wake-up before `untilMs` while `talker` keeps gossiping (so that `c` is not
 * isolated and may conclude from silence); probes go unanswered, as to a machine that is gone.
 */
function tickWhileTalking(c: Core, talker: string, untilMs: number, beat = { n: 1 }): void {
  while (c.nextWakeMs() < untilMs) {
    const at = c.nextWakeMs();
    c.receive(at, gossip(entry(talker, { heartbeat: ++beat.n })));
    c.tick(at);
    c.takeDatagrams();
    c.takeProbes();
  }
}

Deno.test("silence: suspect after suspectAfterMs, failed after suspectTimeoutMs more", () => {
  const a = "10.0.0.2:3000";
  const b = "10.0.0.3:3000";
  const c = withMembers([a, b]);
  const { suspectAfterMs, suspectTimeoutMs } = defaultConfig;
  assert.equal(c.nextWakeMs(), 0, "the first round is due at once");
  c.tick(0);
  c.takeDatagrams();
  // Ticks at every wake-up until the suspicion is due; nothing happens to `a` before it. Its
  // machine is gone: the probe is not answered; `b` keeps talking.
  const beat = { n: 1 };
  tickWhileTalking(c, b, suspectAfterMs, beat);
  assert.deepEqual(kinds(c.takeEvents(), a), []);
  assert(c.nextWakeMs() >= suspectAfterMs, "the core wakes exactly when the timeout runs out");
  assert.equal(
    Math.min(c.nextWakeMs(), suspectAfterMs),
    suspectAfterMs,
    "no wake-up is skipped",
  );
  c.tick(suspectAfterMs - 1);
  assert.equal(c.lookup(a)!.status, Status.Alive, "an early tick does nothing");
  c.tick(suspectAfterMs);
  assert.equal(c.lookup(a)!.status, Status.Suspect);
  // The suspect is told directly, with its own entry, so that it can refute.
  const toA = c.takeDatagrams().filter((d) => d.to === a);
  c.tick(suspectAfterMs + 200);
  toA.push(...c.takeDatagrams().filter((d) => d.to === a));
  assert(
    toA.some((d) => d.message.entries.some((e) => e.address === a && e.status === Status.Suspect)),
  );
  tickWhileTalking(c, b, suspectAfterMs + suspectTimeoutMs, beat);
  assert.equal(c.nextWakeMs(), suspectAfterMs + suspectTimeoutMs);
  c.receive(suspectAfterMs + suspectTimeoutMs, gossip(entry(b, { heartbeat: ++beat.n })));
  c.tick(suspectAfterMs + suspectTimeoutMs);
  assert.equal(c.lookup(a)!.status, Status.Failed);
  const events = c.takeEvents().filter((e) => e.address === a);
  assert.deepEqual(events.map((e) => [e.kind, e.via]), [["SUSPECT", "timeout"], [
    "FAIL",
    "timeout",
  ]]);
});

Deno.test("silence with suspicion off: failed after failAfterMs, never suspected", () => {
  const a = "10.0.0.2:3000";
  const c = withMembers([a]);
  c.setSuspicion(0, false);
  for (let t = 0; t <= defaultConfig.failAfterMs; t += 100) {
    c.tick(t);
    for (const probe of c.takeProbes()) c.applyProbeRefused(t, probe.to);
  }
  assert.equal(c.lookup(a)!.status, Status.Failed);
  assert.deepEqual(kinds(c.takeEvents(), a), ["FAIL"]);
});

Deno.test("a refused probe fails the neighbour at once, suspicion on or off", () => {
  for (const suspicion of [true, false]) {
    const a = "10.0.0.2:3000";
    const c = withMembers([a]);
    c.setSuspicion(0, suspicion);
    let refusedAt = -1;
    for (let t = 0; t < defaultConfig.probeAfterMs + 200 && refusedAt < 0; t += 100) {
      c.tick(t);
      for (const probe of c.takeProbes()) {
        c.applyProbeRefused(t + 1, probe.to);
        refusedAt = t + 1;
      }
    }
    assert.equal(refusedAt, defaultConfig.probeAfterMs + 1, "probed once silent long enough");
    assert.equal(c.lookup(a)!.status, Status.Failed);
    const events = c.takeEvents().filter((e) => e.address === a);
    assert.deepEqual(events.map((e) => [e.kind, e.via, e.atMs]), [["FAIL", "refused", refusedAt]]);
  }
});

Deno.test("a silent neighbour is probed once per silence; no answer changes no timeout", () => {
  const a = "10.0.0.2:3000";
  const b = "10.0.0.3:3000";
  const c = withMembers([a, b], { suspectAfterMs: 1200 });
  const { probeAfterMs, suspectTimeoutMs } = defaultConfig;
  const probes: { at: number; to: string; from: string }[] = [];
  let beat = 1;
  const run = (untilMs: number) => {
    while (c.nextWakeMs() <= untilMs) {
      const at = c.nextWakeMs();
      c.receive(at, gossip(entry(b, { heartbeat: ++beat })));
      c.tick(at);
      c.takeDatagrams();
      for (const p of c.takeProbes()) {
        probes.push({ at, to: p.to, from: p.message.entries[0].address });
      }
    }
  };
  run(probeAfterMs - 1);
  assert.deepEqual(probes, []);
  run(1200 + suspectTimeoutMs);
  assert.deepEqual(probes, [{ at: probeAfterMs, to: a, from: c.address }], "one probe, on time");
  assert.equal(c.lookup(a)!.status, Status.Failed, "failed on time all the same");
  assert.deepEqual(kinds(c.takeEvents(), a), ["SUSPECT", "FAIL"]);
  assert.equal(c.counters.probesSent, 1);
});

Deno.test("a neighbour heard after a probe is probed again on time, between rounds too", () => {
  const a = "10.0.0.2:3000";
  const c = withMembers([a], { gossipIntervalMs: 1000 });
  c.setSuspicion(0, false);
  for (const at of [0, 800, 1000]) {
    c.tick(at);
    c.nextWakeMs(); // as a shell asks after every input
  }
  assert.equal(c.takeProbes().length, 1, "probed 800 ms into its silence");
  c.receive(1050, gossip(entry(a, { heartbeat: 5 })));
  // Its next silence starts at 1050; the round after next is at 2000.
  assert.equal(c.nextWakeMs(), 1850);
  c.tick(1850);
  assert.equal(c.takeProbes().length, 1);
});

Deno.test("indirect probes: helpers are asked about a silent neighbour, and one's word ends the silence", () => {
  for (const word of [false, true]) {
    const others = Array.from({ length: 9 }, (_, i) => `10.0.2.${i + 2}:3000`);
    const c = withMembers(others, { indirectProbes: 2 });
    const neighbours = c.neighbors();
    const talker = others.find((a) => !neighbours.includes(a))!;
    // A member that is not a neighbour keeps talking, so that this node is not isolated.
    const tickTo = (to: number, from: number) => {
      for (let t = from; t <= to; t += 100) {
        c.receive(t, gossip(entry(talker, { heartbeat: 10 + t })));
        c.tick(t);
      }
    };
    tickTo(defaultConfig.probeAfterMs, 0);
    const relays = c.takeProbes().filter((p) => p.message.kind === "probe-relay");
    // Every neighbour is silent: two helpers are asked about each.
    assert.equal(relays.length, 2 * neighbours.length);
    for (const relay of relays) {
      const [prober, about] = relay.message.entries;
      assert.equal(prober.address, c.address);
      assert(neighbours.includes(about.address));
      assert.notEqual(relay.to, about.address, "a helper is not asked about itself");
      assert.equal(relay.message.entries.length, 2);
    }
    // A helper answers with a newer copy of the member second: its word that it heard the member
    // a moment ago, as good as hearing it here, though this is a neighbour never heard from
    // directly. A copy no newer than this node's is no word: the member may have stopped there.
    const asked = relays[0];
    const about = asked.message.entries[1];
    c.applyProbeAck(defaultConfig.probeAfterMs + 50, {
      kind: "probe-ack",
      settings,
      members: 10,
      entries: [
        entry(asked.to, { heartbeat: 3 }),
        { ...about, heartbeat: about.heartbeat + (word ? 5 : 0) },
      ],
    }, probeAsked(asked.message));
    assert.equal(c.counters.indirectProbesAnswered, 1);
    c.takeEvents();
    tickTo(defaultConfig.suspectAfterMs + 100, defaultConfig.probeAfterMs + 100);
    const suspected = c.takeEvents().filter((e) => e.kind === "SUSPECT").map((e) => e.address);
    assert.equal(suspected.includes(about.address), !word, `word ${word}: ${suspected}`);
    assert.equal(suspected.length, neighbours.length - (word ? 1 : 0));
  }
});

Deno.test("helperQuorum: a silent neighbour is failed once more than half of those asked answered", () => {
  const others = Array.from({ length: 9 }, (_, i) => `10.0.4.${i + 2}:3000`);
  const c = withMembers(others, { helperQuorum: 1, ringNeighbors: 1 });
  c.setSuspicion(0, false);
  const [x, y] = c.neighbors();
  const talker = others.find((a) => a !== x && a !== y)!;
  const asked = new Map<string, OutgoingProbe[]>([[x, []], [y, []]]);
  let t = 0;
  // A member that is not a neighbour keeps talking, so that this node is not isolated.
  const tickTo = (to: number) => {
    for (; t <= to; t += 100) {
      c.receive(t, gossip(entry(talker, { heartbeat: 10 + t })));
      c.tick(t);
      for (const p of c.takeProbes()) {
        const about = p.message.entries.find((e) => e.address === x || e.address === y);
        // The probes of the neighbours themselves go unanswered.
        if (p.to === x || p.to === y || about === undefined) continue;
        asked.get(about.address)!.push(p);
      }
    }
  };
  const failed = () => c.takeEvents().filter((e) => e.kind === "FAIL").map((e) => e.address);
  const { failAfterMs, probeAfterMs } = defaultConfig;
  tickTo(failAfterMs + 2 * probeAfterMs);
  assert.deepEqual(failed(), [], "nobody asked answered: this node may be the one cut off");
  // Asked at the probe and again when the failure was due: the witness of each neighbour twice.
  assert.equal(c.counters.witnessProbesSent, 4);
  // Every member asked answers "no" (no newer copy of the neighbour): an answer is word that the
  // one who gave it is reachable, whatever it was asked about. Both are failed at the next check.
  for (const p of [...asked.get(x)!, ...asked.get(y)!]) {
    c.applyProbeAck(t, {
      kind: "probe-ack",
      settings,
      members: 10,
      entries: [entry(p.to, { heartbeat: 50 }), ...p.message.entries.slice(1, 2)],
    }, probeAsked(p.message));
  }
  tickTo(t + probeAfterMs);
  assert.deepEqual(failed().sort(), [x, y].sort());
});

Deno.test("indirect probes: a helper probes the member, and vouches with a newer copy only", () => {
  const [prober, member] = ["10.0.3.2:3000", "10.0.3.3:3000"];
  const helper = withMembers([prober, member]);
  const request = (heartbeat: number): ProbeRelay => ({
    kind: "probe-relay",
    settings,
    members: 3,
    entries: [entry(prober, { heartbeat: 9 }), entry(member, { heartbeat })],
  });
  // Heard from nobody since the join: it probes the member, and takes the answer in.
  const t = 5000;
  const probe = helper.relayProbe(t, request(1));
  assert(probe !== undefined);
  assert.equal(probe.to, member);
  assert.equal(probe.message.kind, "probe");
  helper.applyProbeAck(t + 5, {
    kind: "probe-ack",
    settings,
    members: 3,
    entries: [entry(member, { heartbeat: 40 })],
  }, { relayed: true });
  assert.equal(helper.counters.probesAnswered, 0, "counted by the prober, not here");
  // Its answer to the prober carries the fresh copy second, and nowhere else.
  const ack = helper.answerRelay(t + 6, request(1))!;
  assert.equal(ack.entries[1].address, member);
  assert.equal(ack.entries[1].heartbeat, 40);
  assert.equal(ack.entries.filter((e) => e.address === member).length, 1);
  // A prober whose copy is as new gets no word: the member may have stopped at that heartbeat.
  const same = helper.answerRelay(t + 7, request(40))!;
  assert(!same.entries.some((e) => e.address === member));
  // Nor one that asks after the helper's copy went stale.
  const late = helper.answerRelay(t + 5 + defaultConfig.probeAfterMs + 1, request(1))!;
  assert.notEqual(late.entries[1]?.address, member);
});

Deno.test("a probe's answer is hearing from the member: never suspected, told the news", () => {
  // `a` hears no datagram; the others hear it and each other. Probes are answered by their
  // targets. At 10 s `d` joins through `b`: only an answer can tell `a`.
  const a = core("10.0.0.1:3000");
  const make = (address: string, version: number, seed: number) =>
    new Core({ address, version, nowMs: 0, random: new Random(seed) });
  const b = make("10.0.0.2:3000", v0 + 1, 2);
  const join = a.acceptJoin(0, b.joinRequest());
  assert(join.accepted);
  b.applyJoinResponse(0, join, a.address);
  a.takeEvents();
  const cores = new Map([[a.address, a], [b.address, b]]);
  for (
    let now = 0;
    now <= 20_000;
    now = Math.min(...[...cores.values()].map((c) => c.nextWakeMs()))
  ) {
    if (now >= 10_000 && !cores.has("10.0.0.4:3000")) {
      const d = make("10.0.0.4:3000", v0 + 2, 4);
      const joined = b.acceptJoin(now, d.joinRequest());
      assert(joined.accepted);
      d.applyJoinResponse(now, joined, b.address);
      cores.set(d.address, d);
    }
    for (const c of cores.values()) c.tick(now);
    for (const c of cores.values()) {
      for (const d of c.takeDatagrams()) {
        if (d.to !== a.address) cores.get(d.to)?.receive(now, d.message);
      }
      for (const probe of c.takeProbes()) {
        const ack = answerProbe(cores.get(probe.to), now + 1, probe.message);
        if (ack !== undefined) c.applyProbeAck(now + 2, ack, probeAsked(probe.message));
      }
    }
  }
  const events = a.takeEvents();
  assert.deepEqual(events.filter((e) => e.kind !== "JOIN"), [], "nobody suspected or failed");
  const joinOfD = events.find((e) => e.address === "10.0.0.4:3000");
  assert.equal(joinOfD?.from, b.address, "the join came with an answer from b");
  assert.equal(a.lookup("10.0.0.4:3000")?.status, Status.Alive);
  assert.equal(a.lookup(b.address)?.status, Status.Alive);
  assert(a.counters.probesAnswered >= 20, `${a.counters.probesAnswered} answers`);
});

Deno.test("a probe from a member held as failed or ended is answered so: it comes back anew", () => {
  const a = "10.0.0.2:3000";
  const c = withMembers([a]);
  c.receive(0, gossip(entry(a, { status: Status.Failed })));
  const probe: Probe = {
    kind: "probe",
    settings,
    members: 2,
    entries: [entry(a, { heartbeat: 9 })],
  };
  const ack = c.acceptProbe(10, probe);
  assert(ack?.entries.some((e) => e.address === a && e.status === Status.Failed));
  // Forgotten since, its version still ended: the answer says so all the same.
  c.tick(defaultConfig.cleanupAfterMs);
  c.tick(defaultConfig.cleanupAfterMs + defaultConfig.tombstoneMs + 10);
  assert.equal(c.lookup(a), undefined);
  const later = c.acceptProbe(defaultConfig.cleanupAfterMs + defaultConfig.tombstoneMs + 20, probe);
  assert.deepEqual(later?.entries.slice(1), [{
    address: a,
    version: v0 + 1,
    incarnation: 0,
    heartbeat: 0,
    status: Status.Failed,
  }]);
});

Deno.test("a suspect that keeps its heartbeat growing is not failed", () => {
  const a = "10.0.0.2:3000";
  const c = withMembers([a]);
  c.receive(0, gossip(entry(a, { status: Status.Suspect })));
  for (let t = 0; t < 10_000; t += 100) {
    c.receive(t, gossip(entry(a, { status: Status.Suspect, heartbeat: 2 + t })));
    c.tick(t);
  }
  assert.equal(c.lookup(a)!.status, Status.Suspect);
});

Deno.test("a new neighbour's heartbeat passed on by a member not watching it leaves it silent", () => {
  // One neighbour a side, so that the members passing heartbeats on do not watch x too.
  const others = Array.from({ length: 6 }, (_, i) => `10.0.0.${i + 2}:3000`);
  const c = withMembers(others, { ringNeighbors: 1 });
  const self = ringHash(c.address, v0);
  const after = (address: string) => (ringHash(address, v0 + 1) - self) >>> 0;
  const nearest = Math.min(...others.map(after));
  // An address that lands nearer after this node than any member: it becomes a neighbour.
  const x = Array.from({ length: 250 }, (_, i) => `10.0.1.${i}:3000`)
    .find((a) => after(a) < nearest)!;
  // Others pass on x's heartbeat, higher each time: their copies may be ones held since long
  // before (when many crash at once, x with its own watchers), so x is failed on time all the same.
  for (let t = 200, n = 2; t <= 3000; t += 200, n++) {
    for (const a of others) {
      c.receive(t, gossip(entry(a, { heartbeat: n }), entry(x, { heartbeat: n })));
    }
    c.tick(t);
  }
  const events = c.takeEvents().filter((e) => e.address === x);
  assert.deepEqual(events.map((e) => [e.kind, e.atMs]), [
    ["JOIN", 200],
    ["SUSPECT", 200 + defaultConfig.suspectAfterMs],
    ["FAIL", 200 + defaultConfig.suspectAfterMs + defaultConfig.suspectTimeoutMs],
  ]);
});

Deno.test("a fellow watcher's relay keeps a new neighbour alive; a node relays only whom it heard", () => {
  const b = "10.0.0.2:3000";
  const x = "10.0.0.3:3000";
  const c = withMembers([b]);
  // x first heard of from b: not heard itself yet, so not relayed to b.
  c.receive(100, gossip(entry(b, { heartbeat: 2 }), entry(x, { heartbeat: 1 })));
  c.tick(200);
  const toB = c.takeDatagrams().filter((d) => d.to === b);
  assert(toB.length > 0);
  for (const d of toB) assert(!d.message.entries.some((e) => e.address === x), "x not relayed");
  // b watches x too (in a cluster this small every neighbour is shared): its relays keep x alive,
  // as when the link between this node and x drops everything.
  for (let t = 200, n = 2; t <= 10_000; t += 200, n++) {
    c.receive(t, gossip(entry(b, { heartbeat: n + 2 }), entry(x, { heartbeat: n })));
    c.tick(t);
  }
  assert.deepEqual(kinds(c.takeEvents(), x), ["JOIN"]);
  assert(
    c.takeDatagrams().some((d) => d.to === b && d.message.entries.some((e) => e.address === x)),
  );
  // A probe's answer ends the silence even when others passed on its heartbeat first.
  const z = "10.0.0.5:3000";
  c.takeProbes();
  c.receive(10_000, gossip(entry(b, { heartbeat: 100 }), entry(z, { heartbeat: 7 })));
  for (let t = 10_000; t <= 10_000 + defaultConfig.probeAfterMs; t += 200) c.tick(t);
  assert(c.takeProbes().some((p) => p.to === z), "the silent new neighbour is probed");
  c.applyProbeAck(10_900, {
    kind: "probe-ack",
    settings,
    members: 4,
    entries: [entry(z, { heartbeat: 7 })],
  });
  for (let t = 11_000, n = 101; t <= 10_900 + defaultConfig.suspectAfterMs - 100; t += 200, n++) {
    c.receive(t, gossip(entry(b, { heartbeat: n }), entry(x, { heartbeat: n })));
    c.tick(t);
  }
  assert.deepEqual(kinds(c.takeEvents(), z), ["JOIN"]);
});

Deno.test("a sender that gossips as live a member this node holds as failed is told, once a round", () => {
  const b = "10.0.0.2:3000";
  const x = "10.0.0.3:3000";
  const c = withMembers([b, x]);
  c.receive(10, gossip(entry(b, { heartbeat: 2 }), entry(x, { status: Status.Failed })));
  c.takeDatagrams();
  c.receive(20, gossip(entry(b, { heartbeat: 3 }), entry(x, { heartbeat: 5 })));
  const told = c.takeDatagrams();
  assert.deepEqual(told.map((d) => d.to), [b]);
  const about = told[0].message.entries.find((e) => e.address === x);
  assert.equal(about?.status, Status.Failed);
  c.receive(30, gossip(entry(b, { heartbeat: 4 }), entry(x, { heartbeat: 6 })));
  assert.deepEqual(c.takeDatagrams(), [], "at most once a round");
  c.receive(30 + defaultConfig.gossipIntervalMs, gossip(entry(b, { heartbeat: 5 }), entry(x)));
  assert.deepEqual(c.takeDatagrams().map((d) => d.to), [b]);
  assert.equal(c.counters.behindTold, 2);
});

Deno.test("refutation: a node told it is suspect raises its incarnation and answers the sender", () => {
  const a = "10.0.0.2:3000";
  const c = withMembers([a]);
  const self = c.selfEntry;
  c.receive(10, gossip(entry(a), { ...self, status: Status.Suspect }));
  assert.equal(c.selfEntry.incarnation, 1);
  const events = c.takeEvents();
  assert.deepEqual(events.map((e) => [e.kind, e.address, e.incarnation]), [
    ["REFUTE", self.address, 1],
  ]);
  const replies = c.takeDatagrams();
  assert.deepEqual(replies.map((d) => d.to), [a]);
  assert.equal(replies[0].message.entries[0].incarnation, 1);
});

Deno.test("a node told it failed comes back as a new version; the old one is not revived", () => {
  const a = "10.0.0.2:3000";
  const c = withMembers([a]);
  const old = c.version;
  // The shell hands in fractional milliseconds; the new version is still a whole number.
  c.receive(5000.123, gossip(entry(a), { ...c.selfEntry, status: Status.Failed }));
  assert(c.version > old);
  assert(Number.isSafeInteger(c.version), `version ${c.version}`);
  assert.equal(c.selfEntry.status, Status.Alive);
  const events = c.takeEvents();
  assert.deepEqual(events.map((e) => [e.kind, e.version]), [["REMOVE", old], ["JOIN", c.version]]);
  assert(!events.some((e) => e.kind === "FAIL"), "a node never lists itself as failed");
});

/** A gossip from `teller`, counting `members` live, that says `c` failed. */
function accusation(c: Core, teller: string, members: number): Gossip {
  return {
    ...gossip(entry(teller, { heartbeat: 9 }), { ...c.selfEntry, status: Status.Failed }),
    members,
  };
}

Deno.test("a member held failed in turn, listing one member fewer, is not believed that this node failed", () => {
  const t = "10.0.0.2:3000";
  const others = ["10.0.0.3:3000", "10.0.0.4:3000", "10.0.0.5:3000"];
  const c = withMembers([t, ...others]);
  c.receive(10, gossip(entry(others[0], { heartbeat: 2 }), entry(t, { status: Status.Failed })));
  c.takeEvents();
  const old = c.version;
  // Each side lists itself and not the other: 4 here (itself and three), 3 there is the smaller.
  c.receive(20, accusation(c, t, 3));
  assert.equal(c.version, old);
  assert.equal(c.counters.accusationsRefused, 1);
  c.receive(30, accusation(c, t, 4));
  assert(c.version > old, "an equal side is believed");
});

Deno.test("the count a node sends and compares leaves out the members it suspects", () => {
  const t = "10.0.0.2:3000";
  const others = ["10.0.0.3:3000", "10.0.0.4:3000", "10.0.0.5:3000", "10.0.0.6:3000"];
  const c = withMembers([t, ...others]);
  c.receive(10, gossip(entry(others[0], { heartbeat: 2 }), entry(t, { status: Status.Failed })));
  // Two of the four left are suspected, by word of a member: each side of a cut suspects the
  // other's members well before it fails them, and the count says how many it still vouches for.
  c.receive(
    20,
    gossip(
      entry(others[0], { heartbeat: 3 }),
      entry(others[2], { status: Status.Suspect }),
      entry(others[3], { status: Status.Suspect }),
    ),
  );
  c.takeEvents();
  assert.equal(c.liveCount, 5);
  c.tick(defaultConfig.gossipIntervalMs);
  const sent = c.takeDatagrams();
  assert(sent.length > 0);
  for (const datagram of sent) assert.equal(datagram.message.members, 3);
  // A teller of the other side vouching for as many as this node (3) is believed; 2 is not.
  const old = c.version;
  c.receive(210, accusation(c, t, 2));
  assert.equal(c.version, old);
  c.receive(220, accusation(c, t, 3));
  assert(c.version > old, "an equal side is believed");
});

Deno.test("a teller listing fewer than half as many members is not believed, and told it ended", () => {
  const t = "10.0.0.2:3000";
  const c = withMembers([t, "10.0.0.3:3000", "10.0.0.4:3000", "10.0.0.5:3000", "10.0.0.6:3000"]);
  const old = c.version;
  // Six listed here, two there: a view of the smaller side (a process that joined through it).
  c.receive(10, accusation(c, t, 2));
  assert.equal(c.version, old);
  assert.equal(c.counters.accusationsRefused, 1);
  const told = c.takeDatagrams().filter((d) => d.to === t);
  assert.equal(told.length, 1);
  assert.deepEqual(
    told[0].message.entries.slice(1).map((e) => [e.address, e.version, e.status]),
    [[t, v0 + 1, Status.Failed]],
  );
  c.receive(20, accusation(c, t, 3));
  assert(c.version > old, "a teller listing half as many is believed");
});

Deno.test("news of a failure decided on older word of the member than this node holds is refused", () => {
  const b = "10.0.0.2:3000";
  const x = "10.0.0.3:3000";
  const { suspectAfterMs, gossipIntervalMs } = defaultConfig;
  const margin = Math.ceil(suspectAfterMs / gossipIntervalMs);
  const c = withMembers([b, x]);
  c.receive(10, gossip(entry(b, { heartbeat: 2 }), entry(x, { heartbeat: 20 })));
  c.takeEvents();
  // Its decider last heard x at heartbeat 13; this node heard it beat on to 20 a moment ago.
  const failedAt = (heartbeat: number, incarnation = 0) =>
    entry(x, { heartbeat, incarnation, status: Status.Failed });
  c.receive(100, gossip(entry(b, { heartbeat: 3 }), failedAt(20 - margin - 1)));
  assert.deepEqual(kinds(c.takeEvents()), []);
  assert.equal(c.counters.failuresRefusedStale, 1);
  assert(c.listsLive(x, v0 + 1));
  // Within the margin a crash's last heartbeats may not have reached the decider: taken.
  c.receive(200, gossip(entry(b, { heartbeat: 4 }), failedAt(20 - margin)));
  assert.deepEqual(kinds(c.takeEvents(), x), ["FAIL"]);

  // A newer incarnation held here, heard a moment ago, refuses a failure decided on the older.
  const d = withMembers([b, x]);
  d.receive(10, gossip(entry(b, { heartbeat: 2 }), entry(x, { incarnation: 1, heartbeat: 1 })));
  d.takeEvents();
  d.receive(100, gossip(entry(b, { heartbeat: 3 }), failedAt(30, 0)));
  assert.deepEqual(kinds(d.takeEvents(), x), []);
  // Once x's heartbeat has not grown here for suspectAfterMs, the same news is taken.
  d.receive(10 + suspectAfterMs + 1, gossip(entry(b, { heartbeat: 4 }), failedAt(1, 0)));
  assert.deepEqual(kinds(d.takeEvents(), x), ["FAIL"]);
});

Deno.test("a view started afresh takes from its teller's list only the live, for a list interval", () => {
  const [teller, accused, other] = ["10.0.0.2:3000", "10.0.0.3:3000", "10.0.0.4:3000"];
  const c = withMembers([teller, accused, other]);
  // Told that it failed, it starts afresh through the teller, who may be of a healed cut's
  // smaller side and hold members of the larger one as failed.
  c.receive(
    100,
    gossip(entry(teller, { heartbeat: 3 }), { ...c.selfEntry, status: Status.Failed }),
  );
  assert.deepEqual(kinds(c.takeEvents()), ["REMOVE", "JOIN", "JOIN"]);
  const fromTeller: SyncResponse = {
    kind: "sync-response",
    settings,
    entries: [
      entry(teller, { heartbeat: 4 }),
      entry(accused, { status: Status.Failed }),
      entry(other),
    ],
  };
  c.applySync(110, fromTeller, teller, 100);
  assert.deepEqual(kinds(c.takeEvents()), ["JOIN"], "the live member is taken");
  assert.equal(c.lookup(accused), undefined, "the failure is not");
  // The accused, speaking for itself, is a member like any other, not told that it ended.
  c.receive(120, gossip(entry(accused, { heartbeat: 5 })));
  assert.deepEqual(kinds(c.takeEvents(), accused), ["JOIN"]);
  assert.equal(c.lookup(accused)?.status, Status.Alive);
  // A list interval on, a failure in a list is taken as from anyone.
  const later = 100 + defaultConfig.syncIntervalMs;
  const failed = entry(accused, { status: Status.Failed, heartbeat: 6 });
  c.applySync(
    later,
    { ...fromTeller, entries: [entry(teller, { heartbeat: 9 }), failed] },
    teller,
    later,
  );
  assert.deepEqual(kinds(c.takeEvents(), accused), ["FAIL"]);
});

Deno.test("a view started afresh holds no silence against a neighbour for a list interval", () => {
  const [teller, silent] = ["10.0.0.2:3000", "10.0.0.3:3000"];
  const c = withMembers([teller, silent]);
  c.receive(
    100,
    gossip(entry(teller, { heartbeat: 3 }), { ...c.selfEntry, status: Status.Failed }),
  );
  const list = [entry(teller, { heartbeat: 4 }), entry(silent, { heartbeat: 4 })];
  c.applySync(100, { kind: "sync-response", settings, entries: list }, teller, 100);
  c.takeEvents();
  // The silent neighbour may not have heard of this new version yet: it is given the interval.
  const { syncIntervalMs, suspectAfterMs, suspectTimeoutMs } = defaultConfig;
  const beat = { n: 5 };
  tickWhileTalking(c, teller, 100 + syncIntervalMs, beat);
  assert.deepEqual(kinds(c.takeEvents(), silent), []);
  // Then its silence counts from the interval's end, as after a stall.
  tickWhileTalking(c, teller, 100 + syncIntervalMs + suspectAfterMs + suspectTimeoutMs + 1, beat);
  assert.deepEqual(kinds(c.takeEvents(), silent), ["SUSPECT", "FAIL"]);
});

Deno.test("a failed member whose next version joins before cleanup is logged as removed", () => {
  const a = "10.0.0.2:3000";
  const c = withMembers([a]);
  c.receive(0, gossip(entry(a, { status: Status.Failed })));
  c.receive(100, gossip(entry(a, { version: entry(a).version + 1, heartbeat: 1 })));
  assert.deepEqual(c.takeEvents().filter((e) => e.address === a).map((e) => [e.kind, e.via]), [
    ["FAIL", "gossip"],
    ["REMOVE", "superseded"],
    ["JOIN", "gossip"],
  ]);
  assert.equal(c.members().length, 1);
  // Its cleanup, come due, removes nothing more.
  c.tick(defaultConfig.cleanupAfterMs + 100);
  assert.deepEqual(kinds(c.takeEvents(), a), []);
});

Deno.test("cleanup removes a failed member; its tombstone keeps stale gossip out, then expires", () => {
  const a = "10.0.0.2:3000";
  const c = withMembers([a]);
  c.receive(0, gossip(entry(a, { status: Status.Failed })));
  c.tick(defaultConfig.cleanupAfterMs - 1);
  assert.equal(c.members().length, 1);
  c.tick(defaultConfig.cleanupAfterMs);
  assert.equal(c.members().length, 0, "removed from the list");
  assert.deepEqual(kinds(c.takeEvents(), a), ["FAIL", "REMOVE"]);
  c.receive(defaultConfig.cleanupAfterMs + 10, gossip(entry(a, { heartbeat: 50 })));
  assert.equal(c.members().length, 0, "stale gossip of the removed version is ignored");
  assert.deepEqual(kinds(c.takeEvents(), a), []);
  const expiry = defaultConfig.cleanupAfterMs + defaultConfig.tombstoneMs;
  c.tick(expiry);
  assert.equal(c.lookup(a), undefined, "the tombstone expired");
  // Forgotten, but not the version: gossip of it is still refused, and its sender told it failed.
  c.takeDatagrams();
  c.receive(expiry + 500, gossip(entry(a, { heartbeat: 60 })));
  assert.equal(c.lookup(a), undefined, "the ended version is still refused");
  const told = c.takeDatagrams().filter((d) => d.to === a);
  assert.equal(told.length, 1);
  assert.deepEqual(
    told[0]!.message.entries.slice(1).map((e) => [e.address, e.status]),
    [[a, Status.Failed]],
  );
  // A reconnect goes to its address now and then, until the day is out; a new version is welcome.
  const reconnects = (from: number) => {
    let sent = 0;
    for (let t = from; t < from + 5000; t += 200) {
      c.tick(t);
      sent += c.takeDatagrams().filter((d) => d.to === a).length;
    }
    return sent;
  };
  assert(reconnects(expiry + 1000) > 0);
  assert.equal(reconnects(expiry + defaultConfig.endedKeptMs + 1000), 0, "forgotten after a day");
  c.receive(expiry + defaultConfig.endedKeptMs + 7000, gossip(entry(a, { version: v0 + 2 })));
  assert.equal(c.lookup(a)?.status, Status.Alive, "a newer version joins");
});

Deno.test("a datagram stays within 1,400 bytes however large the list", () => {
  const others = Array.from({ length: 3000 }, (_, i) => `host-${i}.cluster.example.internal:3000`);
  // Without a cap on the slice, the full gossip is filled up to the limit and not past it.
  const c = withMembers(others, { sliceEntriesMax: 10_000 });
  for (let t = 0; t < 2000; t += 200) {
    c.tick(t);
    const datagrams = c.takeDatagrams();
    assert(datagrams.length > 0);
    for (const d of datagrams) assert(d.bytes <= 1400, `${d.bytes} bytes`);
    const full = datagrams.filter((d) => d.bytes > 1300);
    assert(full.length > 0, "the full gossip is filled up to the limit");
  }
  // With the default cap, the slice holds at most that many entries besides the sender's own.
  const capped = withMembers(others);
  for (let t = 0; t < 2000; t += 200) {
    capped.tick(t);
    for (const d of capped.takeDatagrams()) {
      assert(d.bytes <= 1400, `${d.bytes} bytes`);
      assert(
        d.message.entries.length <=
          1 + defaultConfig.sliceEntriesMax + defaultConfig.heartbeatNewsMax + 6,
      );
    }
  }
});

Deno.test("at rest the full gossip goes every quietGossipIntervalMs; news sends it every round", () => {
  const others = Array.from({ length: 30 }, (_, i) => `10.0.1.${i}:3000`);
  const quietGossipIntervalMs = 1000;
  const c = withMembers(others, { quietGossipIntervalMs });
  // A full gossip carries a slice of the list; a heartbeat, this node's entry and a few relays.
  const fullGossips = (from: number, to: number): number => {
    let count = 0;
    for (let t = from; t < to; t += 200) {
      c.tick(t);
      count += c.takeDatagrams().filter((d) => d.message.entries.length > 12).length;
    }
    return count;
  };
  // The join's news is spread first, a round at a time.
  fullGossips(0, 10_000);
  assert.equal(fullGossips(10_000, 14_000), 4000 / quietGossipIntervalMs);
  // A member gossiped as failed is news: it goes out every round while it waits (until it has
  // been sent its retransmit limit), to `newsFanout` members.
  c.receive(14_000, gossip(entry(others[20], { status: Status.Failed, heartbeat: 5 })));
  assert.deepEqual(kinds(c.takeEvents()), ["FAIL"]);
  assert.equal(fullGossips(14_000, 14_200), defaultConfig.newsFanout);
  assert.equal(fullGossips(14_200, 14_400), defaultConfig.newsFanout);
  // The news spent, the node is at rest again, until a member counts otherwise: the lists
  // differ, and the repair goes every round for an interval.
  fullGossips(14_400, 20_000);
  assert.equal(fullGossips(20_000, 21_000), 1);
  const counted = { ...gossip(entry(others[3], { heartbeat: 50 })), members: 99 };
  c.receive(21_000, counted);
  assert.equal(fullGossips(21_000, 22_000), quietGossipIntervalMs / 200);
  assert.equal(fullGossips(22_000, 23_000), 1);
});

Deno.test("a node that was stalled does not fail everyone at once when it runs again", () => {
  const others = ["10.0.0.2:3000", "10.0.0.3:3000", "10.0.0.4:3000"];
  const c = withMembers(others);
  c.tick(0);
  // The process was stopped for 1.5 s (short of the fail timeout): it heard nothing, through no
  // fault of the others.
  c.tick(1500);
  assert.deepEqual(kinds(c.takeEvents()), []);
  // Having heard from nobody in that time, it restarts its clocks when it first hears again.
  c.receive(1510, gossip(entry(others[0], { heartbeat: 9 })));
  for (let t = 1600; t <= 1600 + defaultConfig.suspectAfterMs; t += 100) {
    c.receive(t, gossip(entry(others[0], { heartbeat: t })));
    c.tick(t);
  }
  const suspected = kinds(c.takeEvents()).filter((k) => k === "SUSPECT");
  assert.equal(suspected.length, 2, "only those still silent a full timeout after it resumed");
});

Deno.test("a node stalled past the fail timeout comes back as a new version and checks its list", () => {
  const [alive, forgotten] = ["10.0.0.2:3000", "10.0.0.3:3000"];
  const c = withMembers([alive, forgotten]);
  c.tick(0);
  c.takeDatagrams();
  const old = c.version;
  // Stopped for 20 minutes: the others failed it, and forgot the member that died meanwhile.
  c.receive(1_200_000, gossip(entry(alive, { heartbeat: 2 }), entry(forgotten, { heartbeat: 2 })));
  assert(c.version > old, "a new version: the old one was failed by the others");
  const events = c.takeEvents();
  assert.deepEqual(kinds(events, "10.0.0.1:3000"), ["REMOVE", "JOIN"]);
  assert.deepEqual(kinds(events, forgotten), [], "nothing is concluded from gossip read late");
  // Until a whole list confirms them, its rows of others are not passed on: the gossip it read
  // first had been queued while it was stopped.
  assert.deepEqual(c.takeSyncs().length, 1, "it asks a member for a whole list at once");
  assert.deepEqual(c.syncRequest().entries.map((e) => e.address), ["10.0.0.1:3000"]);
  c.tick(1_200_200);
  for (const datagram of c.takeDatagrams()) {
    assert(datagram.message.kind === "gossip");
    assert.deepEqual(datagram.message.entries.map((e) => e.address), ["10.0.0.1:3000"]);
  }
  // A live member's list holds one of them and not the other.
  c.applySync(
    1_200_300,
    {
      kind: "sync-response",
      settings,
      entries: [entry(alive, { heartbeat: 5000 })],
    },
    alive,
    1_200_000,
  );
  // The list may be behind: the member it lacks is asked directly before it is ended.
  assert.deepEqual(kinds(c.takeEvents(), forgotten), []);
  assert.deepEqual(c.takeProbes().map((p) => p.to), [forgotten]);
  assert.deepEqual(c.syncRequest().entries.map((e) => e.address), ["10.0.0.1:3000", alive]);
  for (let t = 1_200_400; t <= 1_200_300 + defaultConfig.suspectAfterMs; t += 100) {
    c.receive(t, gossip(entry(alive, { heartbeat: t })));
    c.tick(t);
  }
  assert.deepEqual(kinds(c.takeEvents(), forgotten).at(-1), "REMOVE", "no answer: it is ended");
  assert.deepEqual(c.members().map((m) => m.address), [alive]);
  assert.equal(c.lookup(forgotten)?.status, Status.Failed, "kept as a failed tombstone");
  assert.deepEqual(c.syncRequest().entries.map((e) => e.address), ["10.0.0.1:3000", alive]);
});

/** A core stalled past the fail timeout that has read one late gossip of `others`. */
function stalledWith(others: string[], nowMs: number): Core {
  const c = withMembers(others);
  c.tick(0);
  c.receive(nowMs, gossip(...others.map((address) => entry(address, { heartbeat: 2 }))));
  c.takeEvents();
  c.takeSyncs();
  c.takeDatagrams();
  return c;
}

Deno.test("after a stall, FAIL news by gossip waits for the list; a member's own leave does not", () => {
  const [teller, accused, leaver] = ["10.0.0.2:3000", "10.0.0.3:3000", "10.0.0.4:3000"];
  const c = stalledWith([teller, accused, leaver], 5000);
  // The teller may be of the smaller side of a cut that healed while this node was stopped.
  c.receive(
    5010,
    gossip(entry(teller, { heartbeat: 3 }), entry(accused, { status: Status.Failed })),
  );
  assert.deepEqual(kinds(c.takeEvents()), []);
  assert.equal(c.lookup(accused)?.status, Status.Alive);
  // A member saying it leaves speaks for itself.
  c.receive(5020, gossip(entry(leaver, { status: Status.Left, heartbeat: 3 })));
  assert.deepEqual(kinds(c.takeEvents()), ["LEAVE"]);
  // The list that settles the doubts brings the failure, if it is true.
  c.applySync(
    5030,
    {
      kind: "sync-response",
      settings,
      entries: [entry(teller, { heartbeat: 4 }), entry(accused, { status: Status.Failed })],
    },
    teller,
    5000,
  );
  assert.deepEqual(kinds(c.takeEvents(), accused), ["FAIL"]);
});

Deno.test("after a stall, a member a list lacks but that answers its probe stays", () => {
  const [alive, joiner] = ["10.0.0.2:3000", "10.0.0.3:3000"];
  const c = stalledWith([alive, joiner], 5000);
  // The answering member has not heard of the joiner yet.
  c.applySync(5010, { kind: "sync-response", settings, entries: [entry(alive)] }, alive, 5000);
  const [probe] = c.takeProbes();
  assert.equal(probe.to, joiner);
  const member = new Core({ address: joiner, version: v0 + 1, nowMs: 5000, random: new Random(3) });
  c.applyProbeAck(5012, answerProbe(member, 5011, probe.message)!);
  for (let t = 5100; t <= 5010 + 2 * defaultConfig.suspectAfterMs; t += 100) {
    c.receive(t, gossip(entry(alive, { heartbeat: t })));
    c.receive(t, gossip(entry(joiner, { heartbeat: t })));
    c.tick(t);
  }
  assert.deepEqual(kinds(c.takeEvents(), joiner), [], "never ended");
  assert.deepEqual(c.syncRequest().entries.map((e) => e.address).sort(), [
    "10.0.0.1:3000",
    alive,
    joiner,
  ]);
});

Deno.test("after a stall, a list holding a member at an older incarnation still confirms it", () => {
  const [x, r] = ["10.0.0.2:3000", "10.0.0.3:3000"];
  const c = withMembers([x, r]);
  c.tick(0);
  // The first datagram read after the stall says X refuted a suspicion (incarnation 1).
  c.receive(5000, gossip(entry(x, { heartbeat: 30, incarnation: 1 })));
  // R's list has not heard of the refutation yet.
  c.applySync(
    5005,
    {
      kind: "sync-response",
      settings,
      entries: [entry(r, { heartbeat: 40 }), entry(x, { heartbeat: 25, status: Status.Suspect })],
    },
    r,
    5001,
  );
  assert.deepEqual(kinds(c.takeEvents(), x), []);
  assert.deepEqual(c.takeProbes(), [], "nobody to ask: the list held everyone");
  assert.equal(c.lookup(x)?.status, Status.Alive);
  assert.deepEqual(c.syncRequest().entries.map((e) => e.address).sort(), ["10.0.0.1:3000", x, r]);
});

Deno.test("a list asked for before a stall, read after it, settles none of its doubts", () => {
  const [r, dead] = ["10.0.0.2:3000", "10.0.0.3:3000"];
  const c = withMembers([r, dead]);
  c.tick(0);
  // Asked at 0, answered before the stall; read 20 minutes later.
  c.applySync(
    1_200_000,
    { kind: "sync-response", settings, entries: [entry(r), entry(dead)] },
    r,
    0,
  );
  assert.deepEqual(c.syncRequest().entries.map((e) => e.address), ["10.0.0.1:3000"]);
  // It asks again of the first member heard from after the stall: one picked from its doubted
  // list may have died meanwhile.
  assert.equal(c.takeSyncs().length, 0);
  c.receive(1_200_010, gossip(entry(r, { heartbeat: 99 })));
  assert.deepEqual(c.takeSyncs(), [r], "it asks again");
});

Deno.test("a sender speaking as an older version is told that version ended", () => {
  const x = "10.0.0.2:3000";
  const c = withMembers([x]);
  c.receive(10, gossip(entry(x, { version: v0 + 9 })));
  c.takeDatagrams();
  const ghost = new Core({ address: x, version: v0 + 1, nowMs: 0, random: new Random(1) });
  c.receive(50, gossip(ghost.selfEntry));
  const told = c.takeDatagrams().filter((d) => d.to === x);
  assert.equal(told.length, 1);
  ghost.receive(60, told[0].message);
  assert(ghost.version > v0 + 1, "the older version comes back as a new one");
});

Deno.test("a join at a version that ended and was forgotten is refused as not newer", () => {
  const x = "10.0.0.2:3000";
  const c = withMembers([x]);
  c.receive(10, gossip(entry(x, { version: v0 + 50, status: Status.Left })));
  const forgottenAt = defaultConfig.cleanupAfterMs + defaultConfig.tombstoneMs + 1000;
  for (let t = 1000; t <= forgottenAt; t += 1000) c.tick(t);
  assert.equal(c.lookup(x), undefined, "forgotten");
  const reply = c.acceptJoin(forgottenAt + 1, {
    kind: "join-request",
    entry: entry(x, { version: v0 + 40 }),
  });
  assert(!reply.accepted);
  assert.match(reply.reason, /not newer than/);
});

Deno.test("a tombstone heard second-hand is kept but not passed on; a witnessed one is", () => {
  const [witnessed, heard] = ["10.0.0.2:3000", "10.0.0.3:3000"];
  const c = withMembers([witnessed]);
  c.receive(10, gossip(entry(witnessed, { status: Status.Failed })));
  c.receive(20, gossip(entry(heard, { status: Status.Failed })));
  assert.deepEqual(kinds(c.takeEvents()), ["FAIL"], "a member never seen alive is not logged");
  assert.equal(c.lookup(heard)?.removed, true);
  c.receive(30, gossip(entry(heard, { heartbeat: 7 })));
  const listed = c.members().map((m) => m.address);
  assert.deepEqual(listed, [witnessed], "the tombstone keeps stale gossip of it out");
  const passed = c.syncRequest().entries.map((e) => e.address);
  assert.deepEqual(passed, ["10.0.0.1:3000", witnessed]);
});

Deno.test("the suspicion switch is cluster-wide: higher epoch wins, on wins a tie", () => {
  const a = "10.0.0.2:3000";
  const c = withMembers([a]);
  c.receive(1, { ...gossip(entry(a)), settings: { epoch: 3, suspicion: false } });
  assert.deepEqual(c.settings, { epoch: 3, suspicion: false });
  c.receive(2, { ...gossip(entry(a)), settings: { epoch: 2, suspicion: true } });
  assert.deepEqual(c.settings, { epoch: 3, suspicion: false });
  c.receive(3, { ...gossip(entry(a)), settings: { epoch: 3, suspicion: true } });
  assert.deepEqual(c.settings, { epoch: 3, suspicion: true });
  c.setSuspicion(4, false);
  assert.deepEqual(c.settings, { epoch: 4, suspicion: false });
  assert.deepEqual(kinds(c.takeEvents()), ["SETTINGS", "SETTINGS", "SETTINGS"]);
  // A later epoch with the same value is taken, but the log says nothing: the switch did not flip.
  c.receive(5, { ...gossip(entry(a)), settings: { epoch: 9, suspicion: false } });
  c.setSuspicion(6, false);
  assert.deepEqual(c.settings, { epoch: 10, suspicion: false });
  assert.deepEqual(kinds(c.takeEvents()), []);
});

Deno.test("settings epochs compare as serial numbers: later within half the range", () => {
  assert(epochNewer(1, 0));
  assert(!epochNewer(0, 1));
  assert(!epochNewer(5, 5));
  assert(epochNewer(0, uint32Max), "0 follows the widest");
  assert(!epochNewer(uint32Max, 0));
  assert(epochNewer(2 ** 31 - 1, 0));
  assert(!epochNewer(2 ** 31, 0), "half the range ahead is not later");
});

Deno.test("the same inputs and seed give the same datagrams, byte for byte", () => {
  const run = () => {
    const c = withMembers(Array.from({ length: 200 }, (_, i) => `10.0.1.${i}:3000`));
    const out: string[] = [];
    for (let t = 0; t < 5000; t += 100) {
      c.tick(t);
      for (const d of c.takeDatagrams()) out.push(JSON.stringify(d));
    }
    return out.join("\n");
  };
  assert.equal(run(), run());
});

Deno.test("leave: announced for leaveRounds rounds, then the core goes quiet", () => {
  const c = withMembers(["10.0.0.2:3000", "10.0.0.3:3000"]);
  c.leave(100);
  assert.deepEqual(kinds(c.takeEvents()), ["LEAVE"]);
  // Its own entry has been left since the leave, not since it started.
  assert.equal(c.lookup(c.address)?.status, Status.Left);
  assert.equal(c.lookup(c.address)?.sinceMs, 100);
  let rounds = 0;
  while (!c.done) {
    c.tick(c.nextWakeMs());
    const datagrams = c.takeDatagrams();
    assert(datagrams.every((d) => d.message.entries[0].status === Status.Left));
    rounds++;
  }
  assert.equal(rounds, defaultConfig.leaveRounds);
  assert.equal(c.nextWakeMs(), Infinity);
  c.receive(99_999, gossip(entry("10.0.0.2:3000")));
  assert.deepEqual(c.takeDatagrams(), []);
});

Deno.test("a node that keeps hearing of more members than it lists asks for a full list", () => {
  const a = "10.0.0.2:3000";
  const c = withMembers([a]);
  const message = (t: number) => ({ ...gossip(entry(a, { heartbeat: t })), members: 5 });
  c.receive(0, message(1));
  assert.deepEqual(c.takeSyncs(), []);
  c.receive(defaultConfig.syncAfterMs, message(2));
  assert.deepEqual(c.takeSyncs(), [a]);
  const request = c.syncRequest();
  const peer = core("10.0.0.2:3000");
  const response = peer.acceptSync(5, request, "10.0.0.1:3000");
  assert.equal(peer.lookup("10.0.0.1:3000")?.status, Status.Alive, "the push side merged");
  c.applySync(defaultConfig.syncAfterMs + 5, response!, a, defaultConfig.syncAfterMs);
});

Deno.test("a member table at its limit refuses joins and ignores strangers, and keeps working", () => {
  const others = Array.from({ length: 7 }, (_, i) => `10.0.0.${i + 2}:3000`);
  const c = withMembers(others, { memberTableMax: 8 });
  assert.equal(c.liveCount, 8);
  const refused = c.acceptJoin(100, { kind: "join-request", entry: entry("10.0.9.1:3000") });
  assert.equal(refused.accepted, false);
  assert.match(refused.accepted ? "" : refused.reason, /member table full/);
  // Gossip naming strangers is taken for what fits: nothing, without an error.
  const strangers = Array.from({ length: 50 }, (_, i) => entry(`10.0.8.${i}:3000`));
  c.receive(150, gossip(...strangers, ...others.map((a) => entry(a, { heartbeat: 2 }))));
  assert.equal(c.liveCount, 8);
  assert.deepEqual(c.members().map((m) => m.address).sort(), [...others].sort());
  // The members it holds are still watched: heartbeats keep them alive, nobody is failed.
  // Each member's own heartbeat datagram, as neighbours send them.
  const beat = (t: number, from: string[], heartbeat: number) => {
    for (const a of from) c.receive(t, gossip(entry(a, { heartbeat })));
    c.tick(t);
  };
  for (let t = 200, n = 3; t <= 10_000; t += 200, n++) beat(t, others, n);
  assert.deepEqual(kinds(c.takeEvents()).filter((k) => k === "FAIL" || k === "SUSPECT"), []);
  // A member that crashes is still detected, and its slot is free once its tombstone expires.
  const survivors = others.slice(1);
  let t = 10_000;
  for (let n = 100; t <= 20_000; t += 200, n++) beat(t, survivors, n);
  assert(kinds(c.takeEvents(), others[0]).includes("FAIL"));
  for (let n = 200; t <= 20_000 + 11 * 60_000; t += 1000, n++) beat(t, survivors, n);
  const later = c.acceptJoin(t, { kind: "join-request", entry: entry("10.0.9.1:3000") });
  assert(later.accepted, "a freed slot takes a new member");
});

Deno.test("listsLive answers for exactly one version, alive or suspect, never ended", () => {
  const a = "10.0.0.2:3000";
  const b = "10.0.0.3:3000";
  const c = withMembers([a, b]);
  assert.equal(c.listsLive(a, v0 + 1), true);
  assert.equal(c.listsLive(a, v0 + 2), false);
  assert.equal(c.listsLive("10.0.0.9:3000", v0 + 1), false);
  assert.equal(c.listsLive(c.address, v0), true);
  c.receive(1, gossip(entry(b, { heartbeat: 2 }), entry(a, { status: Status.Suspect })));
  assert.equal(c.listsLive(a, v0 + 1), true);
  c.receive(2, gossip(entry(b, { heartbeat: 3 }), entry(a, { status: Status.Failed })));
  assert.equal(c.lookup(a)?.status, Status.Failed);
  assert.equal(c.listsLive(a, v0 + 1), false);
  c.leave(3);
  assert.equal(c.listsLive(c.address, v0), false);
});

Deno.test("hasOutput says whether a take would return something", () => {
  const c = core();
  assert.equal(c.hasOutput, true); // its own JOIN
  c.takeEvents();
  assert.equal(c.hasOutput, false);
  c.tick(0); // a round with nobody to send to
  c.takeDatagrams();
  c.takeEvents();
  c.takeSyncs();
  assert.equal(c.hasOutput, false);
  c.receive(1, gossip(entry("10.0.0.2:3000")));
  assert.equal(c.hasOutput, true); // the JOIN of the sender
  c.takeDatagrams();
  assert.equal(c.hasOutput, true);
  assert.equal(c.takeEvents().length, 1);
  assert.equal(c.hasOutput, false);
  c.tick(200);
  assert.equal(c.hasOutput, true);
  assert(c.takeDatagrams().length > 0);
  assert.equal(c.hasOutput, c.takeEvents().length > 0);
});

Deno.test("neighbours with the longest entries the wire allows still fit one datagram", () => {
  // Six members with 255-character addresses and numbers at their widest, all ring neighbours.
  const long = (i: number) => `${"h".repeat(238)}${String(i).padStart(4, "0")}.example:3000`;
  const c = core();
  c.receive(
    1,
    gossip(...Array.from({ length: 6 }, (_, i) =>
      entry(long(i), {
        version: 2 ** 40,
        incarnation: 0xffff_ffff,
        heartbeat: 0xffff_ffff,
        status: Status.Suspect,
      }))),
  );
  for (let t = 1; t < 2000; t += 100) {
    c.tick(t);
    for (const d of c.takeDatagrams()) assert(d.bytes <= 1400, `${d.bytes} bytes`);
  }
});

Deno.test("a joiner asking again with the same version gets the list again; an ended one does not", () => {
  const introducer = core("10.0.0.1:3000");
  const joiner = core("10.0.0.2:3000");
  assert.equal(introducer.acceptJoin(10, joiner.joinRequest()).accepted, true);
  // The answer was lost: the joiner asks again, same version.
  const again = introducer.acceptJoin(5010, joiner.joinRequest());
  assert.equal(again.accepted, true);
  assert.deepEqual(kinds(introducer.takeEvents(), "10.0.0.2:3000"), ["JOIN"], "one JOIN, not two");
  introducer.receive(5020, gossip({ ...joiner.selfEntry, status: Status.Left }));
  assert.equal(introducer.acceptJoin(5030, joiner.joinRequest()).accepted, false);
});

Deno.test("a suspicion switch made here wins over an opposite one not yet heard of", () => {
  const a = "10.0.0.2:3000";
  const c = withMembers([a]);
  // Elsewhere suspicion went off at epoch 1; here it is switched on (already on) a moment later.
  c.setSuspicion(1, true);
  assert.deepEqual(c.settings, { epoch: 1, suspicion: true });
  c.receive(2, { ...gossip(entry(a)), settings: { epoch: 1, suspicion: false } });
  assert.deepEqual(c.settings, { epoch: 1, suspicion: true }, "on wins the tie: the later word");
});

Deno.test("a suspicion at the widest incarnation is answered by a new version, not an overflow", () => {
  const a = "10.0.0.2:3000";
  const c = withMembers([a]);
  const old = c.version;
  c.receive(
    10,
    gossip(entry(a), { ...c.selfEntry, status: Status.Suspect, incarnation: 0xffff_ffff }),
  );
  assert(c.selfEntry.incarnation <= 0xffff_ffff);
  assert(c.version > old, "came back as a new version");
  for (const d of c.takeDatagrams()) {
    for (const e of d.message.entries) assert(e.incarnation <= 0xffff_ffff);
  }
});

Deno.test("a join answer does not roll back settings that gossip brought later", () => {
  const a = "10.0.0.2:3000";
  const c = core();
  c.takeEvents();
  const answer = (epoch: number, suspicion: boolean) => ({
    kind: "join-response" as const,
    accepted: true as const,
    settings: { epoch, suspicion },
    entries: [entry(a)],
  });
  // A fresh node takes the cluster's settings, even at the same epoch.
  c.applyJoinResponse(1, answer(0, false), a);
  assert.deepEqual(c.settings, { epoch: 0, suspicion: false });
  c.receive(2, { ...gossip(entry(a)), settings: { epoch: 4, suspicion: true } });
  // The answer to a retried join, from a member that had not heard of epoch 4 yet.
  c.applyJoinResponse(3, answer(3, false), a);
  assert.deepEqual(c.settings, { epoch: 4, suspicion: true });
  assert.deepEqual(kinds(c.takeEvents()).filter((k) => k === "SETTINGS").length, 2);
});

Deno.test("a forged heartbeat, held everywhere, is undone by the one refutation it provokes", () => {
  const [x, forger] = ["10.0.0.2:3000", "10.0.0.9:3000"];
  const c = withMembers([x, forger]);
  c.receive(10, gossip(entry(forger), entry(x, { heartbeat: uint32Max })));
  c.receive(20, gossip(entry(x, { heartbeat: 12 })));
  assert.equal(c.lookup(x)?.heartbeat, uint32Max, "a lower count at the same incarnation is old");
  // X refutes: a new incarnation starts a new count.
  c.receive(30, gossip(entry(x, { heartbeat: 13, incarnation: 1 })));
  assert.equal(c.lookup(x)?.heartbeat, 13);
  assert.equal(c.lookup(x)?.heardMs, 30);

  // X itself, on hearing its entry ahead of anything it sent, refutes at once.
  const self = withMembers([forger]);
  const own = self.selfEntry;
  self.receive(40, gossip(entry(forger), { ...own, heartbeat: own.heartbeat + 1000 }));
  assert.deepEqual(kinds(self.takeEvents()), ["REFUTE"]);
  assert.equal(self.selfEntry.incarnation, own.incarnation + 1);
});

Deno.test("a forged far-future version or epoch leaves the node's datagrams readable", () => {
  const forger = "10.0.0.9:3000";
  const c = withMembers([forger]);
  const version = c.version;
  c.receive(10, {
    ...gossip(entry(forger), { ...c.selfEntry, version: versionMax }),
    settings: { epoch: 2 ** 31 - 1, suspicion: true },
  });
  assert.equal(c.version, version, "no version above the wire's widest");
  // Forged epochs, each as far ahead as counts, up to the widest: taken, but the epoch counts
  // round past the widest, so the operator's switch still wins, and stays.
  for (const epoch of [uint32Max - 1, uint32Max]) {
    c.receive(11, { ...gossip(entry(forger)), settings: { epoch, suspicion: true } });
  }
  assert.deepEqual(c.settings, { epoch: uint32Max, suspicion: true });
  c.setSuspicion(20, false);
  assert.deepEqual(c.settings, { epoch: 0, suspicion: false });
  c.receive(30, { ...gossip(entry(forger)), settings: { epoch: uint32Max, suspicion: true } });
  assert.deepEqual(c.settings, { epoch: 0, suspicion: false });
  c.tick(400);
  const datagrams = c.takeDatagrams();
  assert(datagrams.length > 0);
  for (const datagram of datagrams) {
    const bytes = encodeMessage(datagram.message);
    assert(decodeDatagram(bytes, { bytesMax: 1400, entriesMax: 1000 }).ok, "every one decodes");
  }
});

Deno.test("forged ends of ever-newer versions do not pile up deadlines", () => {
  const forger = "10.0.0.9:3000";
  const c = withMembers([forger]);
  for (let i = 0; i < 200_000; i++) {
    c.receive(
      10 + i / 1000,
      gossip(
        entry(forger),
        entry("10.0.0.8:3000", {
          version: v0 + 10 + i,
          status: Status.Failed,
        }),
      ),
    );
  }
  assert(c.deadlinesWaiting < 5000, `${c.deadlinesWaiting} deadlines wait`);
});

Deno.test("after a stall, a member a list lacks is confirmed by its own later heartbeat", () => {
  const [alive, joiner] = ["10.0.0.2:3000", "10.0.0.3:3000"];
  const c = stalledWith([alive, joiner], 5000);
  c.applySync(5010, { kind: "sync-response", settings, entries: [entry(alive)] }, alive, 5000);
  const [probe] = c.takeProbes();
  assert.equal(probe.confirm, true, "a confirming probe, not one of a silent neighbour");
  // The probe is lost; the member's own datagrams come on.
  for (let t = 5100; t <= 5010 + 2 * defaultConfig.suspectAfterMs; t += 100) {
    c.receive(t, gossip(entry(alive, { heartbeat: t })));
    c.receive(t, gossip(entry(joiner, { heartbeat: t })));
    c.tick(t);
  }
  assert.deepEqual(kinds(c.takeEvents(), joiner), [], "never ended");
  assert.equal(c.counters.confirmsEnded, 0);
  assert.equal(c.counters.probesSent, 0, "a confirming probe is not a silent neighbour's");
});

Deno.test("a node that hears from no member concludes nothing from silence, but a refused probe", () => {
  // Cut off (its link down), a node's neighbours all fall silent at once: from where it stands
  // that looks like everyone crashing. It waits; only a closed port proves a member gone.
  const [a, b] = ["10.0.0.2:3000", "10.0.0.3:3000"];
  const c = withMembers([a, b]);
  const { isolatedAfterMs, suspectAfterMs, suspectTimeoutMs } = defaultConfig;
  for (let t = 0; t <= 60_000; t += 100) c.tick(t);
  assert.deepEqual(kinds(c.takeEvents()), [], "nobody suspected in a minute");
  assert.equal(c.lookup(a)!.status, Status.Alive);
  assert(c.nextWakeMs() > 60_000, "no deadline of silence is pending");
  // `b` speaks: the silence clocks restart then, and `a` is failed a whole timeout later, as
  // `b` goes on speaking.
  const heardAt = 60_050;
  let t = heardAt;
  for (; t <= heardAt + suspectAfterMs + suspectTimeoutMs + 100; t += 100) {
    c.receive(t, gossip(entry(b, { heartbeat: t })));
    c.tick(t);
  }
  const events = c.takeEvents().filter((e) => e.address === a);
  assert.deepEqual(events.map((e) => e.kind), ["SUSPECT", "FAIL"]);
  assert(events[0].atMs >= heardAt + suspectAfterMs, `suspected at ${events[0].atMs}`);
  assert.equal(c.lookup(b)!.status, Status.Alive);
  // Isolated again, a refused probe is proof: `b` is failed on time.
  const quiet = t;
  let failedAt: number | undefined;
  for (t = quiet; t <= quiet + 5000 && failedAt === undefined; t += 50) {
    c.tick(t);
    for (const probe of c.takeProbes()) c.applyProbeRefused(t, probe.to);
    failedAt = c.takeEvents().find((e) => e.kind === "FAIL" && e.address === b)?.atMs;
  }
  assert(failedAt !== undefined, "failed on proof");
  assert(
    failedAt! - quiet <= suspectAfterMs + suspectTimeoutMs + 200,
    `after ${failedAt! - quiet}`,
  );
  assert(isolatedAfterMs < suspectAfterMs);
});

/**
 * Runs `c` from `fromMs` to `toMs` in steps of 100 ms, each member of `talking(t)` sending a
 * heartbeat that grows; returns the FAIL events by member address, with their times.
 */
function runTalking(
  c: Core,
  fromMs: number,
  toMs: number,
  talking: (t: number) => readonly string[],
): Map<string, number> {
  const failed = new Map<string, number>();
  for (let t = fromMs; t <= toMs; t += 100) {
    for (const address of talking(t)) c.receive(t, gossip(entry(address, { heartbeat: t })));
    c.tick(t);
    for (const e of c.takeEvents()) if (e.kind === "FAIL") failed.set(e.address, e.atMs);
    c.takeDatagrams();
    c.takeProbes();
  }
  return failed;
}

Deno.test("most neighbours silent at once: a node doubts itself, and fails them only later", () => {
  // Six members, all of them neighbours. Four fall silent together, as across a cut: the node
  // puts off failing them by selfDoubtMs. One alone falls silent: failed on time.
  const others = [2, 3, 4, 5, 6, 7].map((i) => `10.0.0.${i}:3000`);
  const { suspectAfterMs, suspectTimeoutMs, selfDoubtMs, probeAfterMs } = defaultConfig;
  const failAt = suspectAfterMs + suspectTimeoutMs;
  const cut = others.slice(0, 4);

  const doubting = withMembers(others);
  const late = runTalking(doubting, 100, 6000, () => others.slice(4));
  assert.deepEqual([...late.keys()].sort(), [...cut].sort());
  for (const [address, atMs] of late) {
    assert(atMs >= failAt + selfDoubtMs, `${address} failed at ${atMs}, before the doubt ran out`);
    assert(atMs <= failAt + selfDoubtMs + 300, `${address} failed at ${atMs}`);
  }
  assert.equal(doubting.counters.selfDoubts, 1);

  const sure = withMembers(others);
  const onTime = runTalking(sure, 100, 6000, () => others.slice(1));
  assert.deepEqual([...onTime.keys()], [others[0]]);
  assert(onTime.get(others[0])! <= failAt + 300, `failed at ${onTime.get(others[0])}`);
  assert.equal(sure.counters.selfDoubts, 0);

  // The cut heals at 2.5 s, past the time to fail: three of the four are heard at once, the last
  // a little later. None is failed, since the rest get a probe's delay after the doubt ends.
  const healing = withMembers(others);
  const healAt = 2500;
  const lastHeardAt = healAt + probeAfterMs - 200;
  const none = runTalking(healing, 100, 8000, (t) => [
    ...others.slice(4),
    ...(t >= healAt ? cut.slice(0, 3) : []),
    ...(t >= lastHeardAt ? [cut[3]] : []),
  ]);
  assert.deepEqual([...none.keys()], []);
  // With the doubt off, the same heal fails all four at the time to fail.
  const undoubting = withMembers(others, { selfDoubtMs: 0 });
  const all = runTalking(undoubting, 100, 8000, (t) => [
    ...others.slice(4),
    ...(t >= healAt ? cut.slice(0, 3) : []),
    ...(t >= lastHeardAt ? [cut[3]] : []),
  ]);
  assert.deepEqual([...all.keys()].sort(), [...cut].sort());
});
