import assert from "node:assert/strict";
import { encode } from "@msgpack/msgpack";
import { Core } from "../core/core.ts";
import { Random } from "../core/random.ts";
import { type Entry, type Gossip, Status } from "../core/types.ts";
import {
  decodeDatagram,
  decodeFrame,
  type DecodeLimits,
  encodeGrepChunk,
  encodeMessage,
  type FrameMessage,
} from "./codec.ts";
import { entryBytesOf, gossipFrameBytes, protocolVersion } from "../core/wire_size.ts";

const limits: DecodeLimits = { bytesMax: 1400, entriesMax: 200 };
const frameLimits: DecodeLimits = { bytesMax: 16 << 20, entriesMax: 100_000 };

function randomEntry(random: Random): Entry {
  const host = random.chance(0.5)
    ? `10.${random.below(256)}.${random.below(256)}.${random.below(256)}`
    : `node-${random.below(100_000)}.example.internal`;
  const pick = (values: number[]) => values[random.below(values.length)];
  return {
    address: `${host}:${1 + random.below(65535)}`,
    version: pick([1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 1767225600000]),
    incarnation: pick([0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1]),
    heartbeat: pick([0, 5, 127, 128, 300, 70_000, 2 ** 32 - 1]),
    status: (1 + random.below(4)) as Status,
    ...randomTags(random),
  };
}

/** Tags on a third of the entries, a tags version alone on another third: with UTF-8 values. */
function randomTags(random: Random): { tagsVersion?: number; tags?: Record<string, string> } {
  const roll = random.below(3);
  if (roll === 0) return {};
  const tagsVersion = [1, 127, 128, 70_000][random.below(4)];
  if (roll === 1) return { tagsVersion };
  const tags: Record<string, string> = {};
  const count = random.below(20);
  for (let i = 0; i < count; i++) {
    tags[`k${i}.${random.below(1000)}`] = ["", "web", "zone-ä", "日本", "x".repeat(40)][
      random.below(5)
    ];
  }
  return { tagsVersion, tags };
}

function randomGossip(random: Random): Gossip {
  const count = 1 + random.below(40);
  return {
    kind: "gossip",
    settings: {
      epoch: random.below(3) === 0 ? 300 : random.below(5),
      suspicion: random.chance(0.5),
    },
    members: random.below(3) === 0 ? 70_000 : random.below(200),
    entries: Array.from({ length: count }, () => randomEntry(random)),
  };
}

Deno.test("every message round-trips", () => {
  const random = new Random(1);
  for (let i = 0; i < 500; i++) {
    const gossip = randomGossip(random);
    const decoded = decodeDatagram(encodeMessage(gossip), { bytesMax: 1 << 20, entriesMax: 1000 });
    assert.deepEqual(decoded, { ok: true, message: gossip });
  }
  const frames: FrameMessage[] = [
    { kind: "join-request", entry: randomEntry(random) },
    {
      kind: "join-response",
      accepted: true,
      settings: { epoch: 2, suspicion: false },
      entries: [randomEntry(random), randomEntry(random)],
    },
    { kind: "join-response", accepted: false, reason: "member table full" },
    // A timing rides on both sides of a join, with or without the event clock before it.
    { kind: "join-request", entry: randomEntry(random), timing: [600, 3, 2400, 3600, 3000, 6600] },
    {
      kind: "join-response",
      accepted: true,
      settings: { epoch: 1, suspicion: true },
      entries: [randomEntry(random)],
      timing: [1400, 1, 1500, 1700, 600, 2300],
    },
    {
      kind: "join-response",
      accepted: true,
      settings: { epoch: 1, suspicion: true },
      entries: [randomEntry(random)],
      eventClock: 7,
      timing: [1400, 1, 1500, 1700, 600, 2300, 99],
    },
    { kind: "sync-request", settings: { epoch: 0, suspicion: true }, entries: [] },
    {
      kind: "sync-response",
      settings: { epoch: 9, suspicion: true },
      entries: [randomEntry(random)],
    },
    { ...randomGossip(random), kind: "probe" },
    { ...randomGossip(random), kind: "probe-ack" },
    { ...randomGossip(random), kind: "probe-relay" },
  ];
  for (const frame of frames) {
    assert.deepEqual(decodeFrame(encodeMessage(frame), frameLimits), { ok: true, message: frame });
  }
});

Deno.test("a grep chunk encoded on its own is what the general encoder writes", () => {
  // Each side of where msgpack's length field widens.
  for (const size of [0, 1, 255, 256, 65_535, 65_536, 300_000]) {
    const data = Uint8Array.from({ length: size }, (_, i) => (i * 7) & 255);
    const general = encodeMessage({ kind: "grep-chunk", data });
    assert.deepEqual(encodeGrepChunk([data]), general, `${size} bytes`);
    assert.deepEqual(encodeGrepChunk([data], 4).subarray(4), general, `${size} bytes after 4`);
    const parts = [data.subarray(0, size >> 1), new Uint8Array(0), data.subarray(size >> 1)];
    assert.deepEqual(encodeGrepChunk(parts), general, `${size} bytes in parts`);
  }
});

Deno.test("the size the core computes is the size the encoder writes", () => {
  const random = new Random(2);
  for (let i = 0; i < 2000; i++) {
    const gossip = randomGossip(random);
    const computed = gossip.entries.reduce(
      (sum, e) => sum + entryBytesOf(e),
      gossipFrameBytes(gossip.settings, gossip.members, gossip.entries.length),
    );
    assert.equal(encodeMessage(gossip).length, computed, JSON.stringify(gossip));
  }
});

Deno.test("a core's datagrams encode to exactly the bytes it counted, never above 1,400", () => {
  const random = new Random(3);
  const core = new Core({ address: "10.0.0.1:3000", version: 1767225600000, nowMs: 0, random });
  const entries: Entry[] = [];
  for (let i = 0; i < 5000; i++) {
    entries.push({
      address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:${3000 + (i % 7)}`,
      version: 1767225600000 + i,
      incarnation: i % 300,
      heartbeat: i * 37,
      status: Status.Alive,
    });
  }
  core.applyJoinResponse(
    0,
    { kind: "join-response", accepted: true, settings: { epoch: 0, suspicion: true }, entries },
    entries[0].address,
  );
  let checked = 0;
  for (let t = 0; t < 3000; t += 200) {
    core.tick(t);
    for (const datagram of core.takeDatagrams()) {
      const bytes = encodeMessage(datagram.message);
      assert.equal(bytes.length, datagram.bytes);
      assert(bytes.length <= 1400);
      const decoded = decodeDatagram(bytes, limits);
      assert(decoded.ok);
      checked++;
    }
  }
  assert(checked > 20);
});

Deno.test("malformed datagrams are dropped with a reason, never thrown", () => {
  const good = encodeMessage(randomGossip(new Random(4)));
  const body = (value: unknown) => {
    const packed = encode(value);
    const bytes = new Uint8Array(packed.length + 1);
    bytes[0] = protocolVersion;
    bytes.set(packed, 1);
    return bytes;
  };
  const entry = ["10.0.0.1:3000", 5, 0, 1, 1];
  const cases: [string, Uint8Array, string][] = [
    ["empty", new Uint8Array(0), "empty"],
    ["other protocol version", Uint8Array.of(2, ...good.subarray(1)), "protocol-version"],
    ["too large", new Uint8Array(1401).fill(1), "too-large"],
    ["not msgpack", Uint8Array.of(protocolVersion, 0xc1), "msgpack"],
    ["extra bytes after the body", Uint8Array.of(...good, 0), "msgpack"],
    ["a number, not an array", body(7), "shape"],
    ["empty array", body([]), "shape"],
    ["unknown tag", body([99, 0, 0, 0, [entry]]), "unknown-tag"],
    ["join request sent as a datagram", body([2, entry]), "unknown-tag"],
    ["probe sent as a datagram", body([16, 0, 1, 1, [entry]]), "unknown-tag"],
    ["indirect probe sent as a datagram", body([22, 0, 1, 1, [entry]]), "unknown-tag"],
    ["no entries", body([1, 0, 1, 1, []]), "shape"],
    ["missing field", body([1, 0, 1, [entry]]), "shape"],
    ["suspicion flag not 0 or 1", body([1, 0, 2, 1, [entry]]), "shape"],
    ["negative epoch", body([1, -1, 1, 1, [entry]]), "shape"],
    ["entry too short", body([1, 0, 1, 1, [entry.slice(0, 4)]]), "shape"],
    ["address without port", body([1, 0, 1, 1, [["10.0.0.1", 5, 0, 1, 1]]]), "shape"],
    ["address with a space", body([1, 0, 1, 1, [["a b:1", 5, 0, 1, 1]]]), "shape"],
    ["non-ASCII address", body([1, 0, 1, 1, [["hé:1", 5, 0, 1, 1]]]), "shape"],
    ["port 0", body([1, 0, 1, 1, [["h:0", 5, 0, 1, 1]]]), "shape"],
    ["version 0", body([1, 0, 1, 1, [["h:1", 0, 0, 1, 1]]]), "shape"],
    ["fractional heartbeat", body([1, 0, 1, 1, [["h:1", 5, 0, 1.5, 1]]]), "shape"],
    ["heartbeat above 32 bits", body([1, 0, 1, 1, [["h:1", 5, 0, 2 ** 32, 1]]]), "shape"],
    ["status 5", body([1, 0, 1, 1, [["h:1", 5, 0, 1, 5]]]), "shape"],
    ["status as a string", body([1, 0, 1, 1, [["h:1", 5, 0, 1, "alive"]]]), "shape"],
    ["unsafe version", body([1, 0, 1, 1, [["h:1", 2 ** 60, 0, 1, 1]]]), "shape"],
    ["version above 48 bits", body([1, 0, 1, 1, [["h:1", 2 ** 48, 0, 1, 1]]]), "shape"],
    ["epoch above 32 bits", body([1, 2 ** 32, 1, 1, [entry]]), "shape"],
    ["a map instead of an entry", body([1, 0, 1, 1, [{ a: 1 }]]), "shape"],
    ["too many entries", body([1, 0, 1, 1, Array(201).fill(0)]), "msgpack"],
  ];
  for (const [name, bytes, reason] of cases) {
    const decoded = decodeDatagram(bytes, limits);
    assert.deepEqual(decoded, { ok: false, reason }, name);
  }
  for (let cut = 0; cut < good.length; cut++) {
    assert.equal(decodeDatagram(good.subarray(0, cut), limits).ok, false, `cut at ${cut}`);
  }
});

Deno.test("random and mutated bytes never throw (200,000 inputs)", () => {
  const random = new Random(5);
  const seeds = Array.from({ length: 50 }, () => encodeMessage(randomGossip(random)));
  const fill = (bytes: Uint8Array) => {
    for (let i = 0; i < bytes.length; i++) bytes[i] = random.below(256);
    return bytes;
  };
  let accepted = 0;
  for (let i = 0; i < 200_000; i++) {
    let bytes: Uint8Array;
    if (i % 2 === 0) {
      bytes = fill(new Uint8Array(random.below(64)));
      if (random.chance(0.5) && bytes.length > 0) bytes[0] = protocolVersion;
    } else {
      bytes = seeds[random.below(seeds.length)].slice();
      const flips = 1 + random.below(4);
      for (let f = 0; f < flips; f++) bytes[random.below(bytes.length)] = random.below(256);
    }
    const decoded = decodeDatagram(bytes, limits);
    const frame = decodeFrame(bytes, frameLimits);
    if (decoded.ok) {
      accepted++;
      // Whatever decodes is fully checked, and safe to hand to a core.
      for (const entry of decoded.message.entries) {
        assert(Number.isSafeInteger(entry.version) && entry.version > 0);
        assert(entry.status >= 1 && entry.status <= 4);
      }
    }
    assert.equal(typeof frame.ok, "boolean");
  }
  assert(accepted > 0, "some mutations still decode, so the checks after decoding are exercised");
});
