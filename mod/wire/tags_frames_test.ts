/**
 * Tags in the frames clients use (`member tags`, `member watch`): appended to the shapes they
 * had, so that the old lengths still decode, and bad ones are dropped, never thrown.
 */
import assert from "node:assert/strict";
import { encode } from "@msgpack/msgpack";
import { Random } from "../core/random.ts";
import { protocolVersion } from "../core/wire_size.ts";
import { decodeFrame, type DecodeLimits, encodeMessage, type FrameMessage, Tag } from "./codec.ts";

const limits: DecodeLimits = { bytesMax: 16 << 20, entriesMax: 1000 };

const event = {
  timeMs: 1767225605123,
  kind: "UPDATE",
  member: "10.0.0.4:3000#1767225600015",
  node: "10.0.0.1:3000#1767225600000",
  via: "gossip",
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

Deno.test("tag changes and tagged events round-trip; untagged ones keep their old shape", () => {
  const frames: FrameMessage[] = [
    { kind: "control-request", action: "tags", setTags: { role: "web", zone: "b ä" } },
    { kind: "control-request", action: "tags", setTags: {}, deleteTags: ["zone"] },
    { kind: "control-request", action: "tags" },
    { kind: "control-request", action: "set", dropRate: 0.5 },
    {
      kind: "watch-events",
      events: [{ ...event, tags: { role: "web" } }, { ...event, kind: "JOIN", tags: {} }, {
        ...event,
        kind: "FAIL",
      }],
    },
  ];
  for (const frame of frames) {
    const decoded = decodeFrame(encodeMessage(frame), limits);
    const expected = frame.kind === "control-request" && frame.deleteTags !== undefined
      ? frame
      : frame.kind === "control-request" && frame.setTags !== undefined
      ? { ...frame, deleteTags: [] }
      : frame;
    assert.deepEqual(decoded, { ok: true, message: expected });
  }
  // The bytes of a request without tag changes are those of a node that knew no tags.
  assert.deepEqual(
    encodeMessage({ kind: "control-request", action: "leave" }),
    raw([Tag.ControlRequest, "leave", null, null]),
  );
  const untagged = encodeMessage({ kind: "watch-events", events: [event] });
  assert.deepEqual(
    untagged,
    raw([Tag.WatchEvents, [[
      event.timeMs,
      "UPDATE",
      event.member,
      event.node,
      "gossip",
      null,
      0,
      null,
    ]]]),
  );
});

Deno.test("malformed tag changes and tagged events are dropped, never thrown", () => {
  const tuple = [event.timeMs, "UPDATE", event.member, event.node, "gossip", null, 0, null];
  const bad: unknown[][] = [
    [Tag.ControlRequest, "tags", null, null, [["role", "web"]]],
    [Tag.ControlRequest, "tags", null, null, [["role", "web"]], ["a"], 1],
    [Tag.ControlRequest, "tags", null, null, [["role"]], []],
    [Tag.ControlRequest, "tags", null, null, [["role", 1]], []],
    [Tag.ControlRequest, "tags", null, null, [["role", "a"], ["role", "b"]], []],
    [Tag.ControlRequest, "tags", null, null, [["k".repeat(65), "a"]], []],
    [Tag.ControlRequest, "tags", null, null, [], [7]],
    [Tag.ControlRequest, "tags", null, null, {}, []],
    [
      Tag.ControlRequest,
      "tags",
      null,
      null,
      Array.from({ length: 65 }, (_, i) => [`k${i}`, ""]),
      [],
    ],
    [Tag.ControlRequest, "retag", null, null],
    [Tag.WatchEvents, [[...tuple, [["bad key!", "x"]]]]],
    [Tag.WatchEvents, [[...tuple, { role: "web" }]]],
    [Tag.WatchEvents, [[...tuple, [["role", "web"]], 1]]],
  ];
  for (const body of bad) {
    assert.equal(decodeFrame(raw(body), limits).ok, false, JSON.stringify(body));
  }
  const random = new Random(24);
  const good = encodeMessage({
    kind: "control-request",
    action: "tags",
    setTags: { role: "web", zone: "b" },
    deleteTags: ["rack"],
  });
  for (let i = 0; i < 20_000; i++) {
    const bytes = good.slice(0, 1 + random.below(good.length));
    for (let flips = random.below(4); flips > 0; flips--) {
      bytes[random.below(bytes.length)] = random.below(256);
    }
    decodeFrame(bytes, limits);
  }
});
