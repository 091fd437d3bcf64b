import assert from "node:assert/strict";
import { encode } from "@msgpack/msgpack";
import { Random } from "../core/random.ts";
import { protocolVersion } from "../core/wire_size.ts";
import { decodeFrame, type DecodeLimits, encodeMessage, type FrameMessage, Tag } from "./codec.ts";

const limits: DecodeLimits = { bytesMax: 16 << 20, entriesMax: 1000 };

const event = {
  timeMs: 1767225605123,
  kind: "FAIL",
  member: "10.0.0.4:3000#1767225600015",
  node: "10.0.0.1:3000#1767225600000",
  via: "timeout",
  incarnation: 0,
} as const;

/** The bytes of a message body as given, for shapes the encoder would never write. */
function raw(body: unknown[]): Uint8Array {
  const packed = encode(body);
  const bytes = new Uint8Array(packed.length + 1);
  bytes[0] = protocolVersion;
  bytes.set(packed, 1);
  return bytes;
}

Deno.test("watch frames round-trip", () => {
  const frames: FrameMessage[] = [
    { kind: "watch-request" },
    {
      kind: "watch-list",
      entries: [
        {
          address: "10.0.0.1:3000",
          version: 1767225600000,
          incarnation: 0,
          heartbeat: 7,
          status: 1,
        },
        { address: "[::1]:3001", version: 5, incarnation: 2, heartbeat: 0, status: 3 },
      ],
    },
    { kind: "watch-events", events: [] },
    {
      kind: "watch-events",
      events: [
        event,
        { ...event, kind: "JOIN", via: "gossip", from: "10.0.0.2:3000", incarnation: 3 },
        { ...event, kind: "SETTINGS", via: "self", suspicion: false },
      ],
    },
    { kind: "watch-end", reason: "behind", message: "the watcher read too slowly" },
  ];
  for (const frame of frames) {
    assert.deepEqual(decodeFrame(encodeMessage(frame), limits), { ok: true, message: frame });
  }
});

Deno.test("malformed watch frames are dropped with a reason, never thrown", () => {
  const tuple = [event.timeMs, "FAIL", event.member, event.node, "timeout", null, 0, null];
  const bad: unknown[][] = [
    [Tag.WatchRequest, 1],
    [Tag.WatchList, []],
    [Tag.WatchList, [["10.0.0.1:3000", 0, 0, 0, 1]]],
    [Tag.WatchEvents, [tuple.with(1, "EXPLODE")]],
    [Tag.WatchEvents, [tuple.with(4, "rumour")]],
    [Tag.WatchEvents, [tuple.with(2, "10.0.0.4:3000")]],
    [Tag.WatchEvents, [tuple.with(2, "10.0.0.4:3000#0")]],
    [Tag.WatchEvents, [tuple.with(3, "not an id#5")]],
    [Tag.WatchEvents, [tuple.with(5, "two words")]],
    [Tag.WatchEvents, [tuple.with(6, -1)]],
    [Tag.WatchEvents, [tuple.with(7, 2)]],
    [Tag.WatchEvents, [tuple.slice(0, 7)]],
    [Tag.WatchEvents, Array.from({ length: 1001 }, () => tuple)],
    [Tag.WatchEnd, "Behind!", ""],
    [Tag.WatchEnd, "behind"],
  ];
  for (const body of bad) {
    // Past the entry limit, the msgpack decoder itself refuses the array; the rest are shapes.
    const decoded = decodeFrame(raw(body), limits);
    assert.equal(decoded.ok, false, String(body));
  }
  // Whatever the bytes, a result, never an exception.
  const random = new Random(7);
  const good = encodeMessage({ kind: "watch-events", events: [event, event] });
  for (let i = 0; i < 20_000; i++) {
    const bytes = good.slice(0, 1 + random.below(good.length));
    for (let flips = random.below(4); flips > 0; flips--) {
      bytes[random.below(bytes.length)] = random.below(256);
    }
    decodeFrame(bytes, limits);
  }
});
