/**
 * Exact encoded sizes of the messages the core builds, so that it can fill a datagram to its limit
 * without encoding it. `codec_test.ts` checks these against the encoder on random messages. They
 * live in the core, which needs them to fill datagrams, and the codec takes them from here: the
 * core imports nothing from outside its folder.
 */
import type { Entry, Settings, Tags, UserEvent } from "./types.ts";

/** The protocol-version byte that opens every datagram and every TCP frame's payload. */
export const protocolVersion = 1;

/**
 * The widest incarnation, heartbeat and settings epoch the wire carries: an unsigned 32-bit
 * number.
 */
export const uint32Max = 0xffff_ffff;

/**
 * The largest version the wire carries: milliseconds until the year 10889. Far below the largest
 * exact number, so that a member told of a newer version of itself can always go one higher.
 */
export const versionMax = 2 ** 48 - 1;

/**
 * The most entries a gossip holds, whether it comes as a datagram or, as a probe or its answer, by
 * TCP: far more than 1,400 bytes carry, so that only a forged one meets the bound.
 */
export const gossipEntriesMax = 2000;

/** Bytes msgpack uses for a non-negative integer. */
export function uintBytes(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x100) return 2;
  if (n < 0x1_0000) return 3;
  if (n < 0x1_0000_0000) return 5;
  return 9;
}

/** Bytes msgpack uses for a string of `length` ASCII characters. */
export function strBytes(length: number): number {
  if (length < 32) return 1 + length;
  if (length < 0x100) return 2 + length;
  if (length < 0x1_0000) return 3 + length;
  return 5 + length;
}

/** Bytes msgpack uses for the header of an array of `count` items. */
export function arrayHeaderBytes(count: number): number {
  if (count < 16) return 1;
  if (count < 0x1_0000) return 3;
  return 5;
}

/** Bytes of one entry, `[address, version, incarnation, heartbeat, status]`. */
export function entryBytes(
  addressLength: number,
  version: number,
  incarnation: number,
  heartbeat: number,
): number {
  return 1 + strBytes(addressLength) + uintBytes(version) + uintBytes(incarnation) +
    uintBytes(heartbeat) + 1;
}

const utf8 = new TextEncoder();

/** Bytes tags take on the wire: an array of `[key, value]` pairs. */
export function tagsBytes(tags: Tags): number {
  const keys = Object.keys(tags);
  let bytes = arrayHeaderBytes(keys.length);
  for (const key of keys) {
    bytes += 1 + strBytes(utf8.encode(key).length) + strBytes(utf8.encode(tags[key]).length);
  }
  return bytes;
}

/**
 * Sizes of the tags entries carry, measured once: the core never changes tags in place (they come
 * decoded, or copied when set), and measuring them for every datagram was the simulator's cost.
 */
const entryTagsSizes = new WeakMap<Tags, number>();

function entryTagsBytes(tags: Tags): number {
  let bytes = entryTagsSizes.get(tags);
  if (bytes === undefined) entryTagsSizes.set(tags, bytes = tagsBytes(tags));
  return bytes;
}

/** Bytes of one user event: `[origin, originVersion, seq, clock, name, payload]`. */
export function userEventBytes(event: UserEvent): number {
  return 1 + strBytes(utf8.encode(event.origin).length) + uintBytes(event.originVersion) +
    uintBytes(event.seq) + uintBytes(event.clock) + strBytes(utf8.encode(event.name).length) +
    strBytes(utf8.encode(event.payload).length);
}

/**
 * Bytes of one entry as encoded, its tags version and tags included when it carries them:
 * `[address, version, incarnation, heartbeat, status, tagsVersion?, tags?]`.
 */
export function entryBytesOf(entry: Entry): number {
  let bytes = entryBytes(entry.address.length, entry.version, entry.incarnation, entry.heartbeat);
  if (entry.tagsVersion !== undefined) bytes += uintBytes(entry.tagsVersion);
  if (entry.tags !== undefined) bytes += entryTagsBytes(entry.tags);
  return bytes;
}

/**
 * Bytes of a whole gossip datagram around its entries: the protocol byte, then
 * `[tag, epoch, suspicion, members, [entries...]]`.
 */
export function gossipFrameBytes(settings: Settings, members: number, entryCount: number): number {
  return 1 + 1 + 1 + uintBytes(settings.epoch) + 1 + uintBytes(members) +
    arrayHeaderBytes(entryCount);
}
