/**
 * A million inputs against the decoder and a million against the core: no exception escapes, and
 * whatever the input the core keeps its invariants. Seeded, so a failure replays.
 */
import assert from "node:assert/strict";
import { Core } from "../mod/core/core.ts";
import { Random } from "../mod/core/random.ts";
import { type Entry, type Gossip, Status } from "../mod/core/types.ts";
import {
  decodeDatagram,
  decodeFrame,
  encodeMessage,
  type FrameMessage,
} from "../mod/wire/codec.ts";
import { frameLimits } from "../mod/net/frames.ts";

const datagramLimits = { bytesMax: 65_535, entriesMax: 2000 };

Deno.test("a million random and mutated inputs never make the decoders throw", () => {
  const random = new Random(1001);
  const valid: Uint8Array[] = [];
  const entry = (): Entry => ({
    address: `10.0.${random.below(4)}.${random.below(256)}:${3000 + random.below(3)}`,
    version: 1 + random.below(2 ** 31),
    incarnation: random.below(5),
    heartbeat: random.below(1000),
    status: (1 + random.below(4)) as Status,
  });
  for (let i = 0; i < 40; i++) {
    valid.push(encodeMessage({
      kind: "gossip",
      settings: { epoch: random.below(3), suspicion: random.chance(0.5) },
      members: random.below(100),
      entries: Array.from({ length: 1 + random.below(20) }, entry),
    }));
  }
  const frames: FrameMessage[] = [
    { kind: "join-request", entry: entry() },
    { kind: "stats-request" },
    { kind: "control-request", action: "set", dropRate: 0.5 },
    { kind: "sync-request", settings: { epoch: 1, suspicion: true }, entries: [entry(), entry()] },
    { kind: "events-request", bytesMax: 1000 },
    { kind: "probe", settings: { epoch: 0, suspicion: true }, members: 3, entries: [entry()] },
  ];
  for (const frame of frames) valid.push(encodeMessage(frame));
  let accepted = 0;
  for (let i = 0; i < 1_000_000; i++) {
    let bytes: Uint8Array;
    const kind = i % 4;
    if (kind === 0) {
      bytes = new Uint8Array(random.below(48));
      for (let j = 0; j < bytes.length; j++) bytes[j] = random.below(256);
      if (bytes.length > 0 && random.chance(0.7)) bytes[0] = 1;
    } else if (kind === 1) {
      bytes = valid[random.below(valid.length)].slice();
      for (let f = 1 + random.below(3); f > 0; f--) {
        bytes[random.below(bytes.length)] = random.below(256);
      }
    } else if (kind === 2) {
      const source = valid[random.below(valid.length)];
      bytes = source.subarray(0, random.below(source.length + 1));
    } else {
      const source = valid[random.below(valid.length)];
      const at = random.below(source.length);
      bytes = new Uint8Array(source.length + 1);
      bytes.set(source.subarray(0, at));
      bytes[at] = random.below(256);
      bytes.set(source.subarray(at), at + 1);
    }
    const datagram = decodeDatagram(bytes, datagramLimits);
    const frame = decodeFrame(bytes, frameLimits);
    if (datagram.ok || frame.ok) accepted++;
    else assert.equal(typeof (datagram.ok ? "" : datagram.reason), "string");
  }
  assert(
    accepted > 1000,
    `mutations that still decode exercise the checks after decoding (${accepted})`,
  );
});

Deno.test("a million random messages never break the core", () => {
  const random = new Random(2002);
  const self = "10.0.0.1:3000";
  const addresses = [self, ...Array.from({ length: 40 }, (_, i) => `10.0.1.${i}:3000`)];
  const core = new Core({ address: self, version: 1000, nowMs: 0, random: new Random(3) });
  const pick = <T>(values: readonly T[]) => values[random.below(values.length)];
  const entry = (): Entry => ({
    address: pick(addresses),
    version: random.chance(0.3) ? core.version : 990 + random.below(30),
    incarnation: random.below(4),
    heartbeat: random.below(200),
    status: (1 + random.below(4)) as Status,
  });
  let now = 0;
  for (let i = 0; i < 1_000_000; i++) {
    now += random.below(30);
    const roll = random.below(100);
    if (roll < 85) {
      const gossip: Gossip = {
        kind: "gossip",
        settings: { epoch: random.below(4), suspicion: random.chance(0.6) },
        members: random.below(60),
        entries: Array.from({ length: 1 + random.below(6) }, entry),
      };
      // The same shape comes over TCP as a probe, or as the answer to one.
      const form = random.below(10);
      if (form === 0) {
        const ack = core.acceptProbe(now, { ...gossip, kind: "probe" });
        assert.equal(ack?.entries[0].address, self);
      } else if (form === 1) core.applyProbeAck(now, { ...gossip, kind: "probe-ack" });
      else core.receive(now, gossip);
    } else if (roll < 93) {
      core.tick(now);
      // Once ticked, the core never asks to be woken in the past: everything due is done.
      assert(core.nextWakeMs() > now, `at input ${i}: wake ${core.nextWakeMs()} <= ${now}`);
    } else if (roll < 96) {
      core.acceptJoin(now, { kind: "join-request", entry: entry() });
    } else if (roll < 98) {
      core.applySync(
        now,
        {
          kind: "sync-response",
          settings: { epoch: random.below(4), suspicion: true },
          entries: Array.from({ length: random.below(10) }, entry),
        },
        pick(addresses),
        now - random.below(3000),
      );
    } else {
      core.setSuspicion(now, random.chance(0.5));
    }
    for (const datagram of core.takeDatagrams()) {
      assert(datagram.bytes <= 1400);
      assert.equal(datagram.message.entries[0].address, self);
    }
    for (const event of core.takeEvents()) {
      if (event.address === self) {
        assert(event.kind !== "FAIL" && event.kind !== "SUSPECT", `at input ${i}: ${event.kind}`);
      }
    }
    core.takeSyncs();
    for (const probe of core.takeProbes()) assert.equal(probe.message.entries[0].address, self);
    assert.equal(core.selfEntry.status, Status.Alive);
  }
  assert(core.counters.rejoins > 0, "the run made the core come back as a new version");
  assert(core.counters.refutations > 0, "and refute suspicions");
});
