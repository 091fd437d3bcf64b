/**
 * Encoding and decoding of every message, as one tagged union behind a protocol-version byte:
 * `[protocolVersion] ++ msgpack([tag, ...fields])`. Tags are only ever appended.
 *
 * Decoding never throws: whatever the bytes, it returns either a message whose every field has
 * been checked, or the reason it was dropped, for counting.
 *
 * It is longer than a file usually is here because the union is one thing: each message's shape,
 * its encoding and its checks sit side by side, so that a field is added in one place, and a tag
 * list split over files could reuse a number unseen.
 */
import { Decoder, Encoder } from "@msgpack/msgpack";
import { isAddress } from "../core/address.ts";
import type {
  Entry,
  EventKind,
  Gossip,
  JoinRequest,
  JoinResponse,
  Probe,
  ProbeAck,
  ProbeRelay,
  Settings,
  Status,
  SyncRequest,
  SyncResponse,
  Tags,
  UserEvent,
  Via,
} from "../core/types.ts";
import { tagKeyPattern, tagsCountMax, tagsProblem } from "../core/tags.ts";
import { userEventProblem } from "../core/user_events.ts";
import { gossipEntriesMax, protocolVersion, uint32Max, versionMax } from "../core/wire_size.ts";
import { type GrepQuery, type OutputMode, queryProblem } from "./grep_query.ts";

/** Wire tags. Append only; never reuse a number. */
export const Tag = {
  Gossip: 1,
  JoinRequest: 2,
  JoinResponse: 3,
  SyncRequest: 4,
  SyncResponse: 5,
  StatsRequest: 6,
  StatsResponse: 7,
  ControlRequest: 8,
  ControlResponse: 9,
  GrepRequest: 10,
  GrepChunk: 11,
  GrepDone: 12,
  EventsRequest: 13,
  EventsChunk: 14,
  EventsDone: 15,
  Probe: 16,
  ProbeAck: 17,
  WatchRequest: 18,
  WatchList: 19,
  WatchEvents: 20,
  WatchEnd: 21,
  ProbeRelay: 22,
} as const;

/** Asks a node for its list, then each event as it logs it (`member watch`). */
export interface WatchRequest {
  readonly kind: "watch-request";
}

/** The first answer to a watch: the node's list as it stands, its own entry first. */
export interface WatchList {
  readonly kind: "watch-list";
  readonly entries: readonly Entry[];
}

/** One event as a watch carries it: the event log's fields (mod/log/event_line.ts). */
export interface WatchEvent {
  /** Wall-clock time on the logging node's clock, in ms since the epoch. */
  readonly timeMs: number;
  readonly kind: EventKind;
  /** `host:port#version` of the member the event is about. */
  readonly member: string;
  /** `host:port#version` of the node that logged it. */
  readonly node: string;
  readonly via: Via;
  readonly from?: string;
  readonly incarnation: number;
  readonly suspicion?: boolean;
  /** For UPDATE, and JOIN of a member with tags: the member's tags. */
  readonly tags?: Tags;
  /** For USER: the event's name and payload. */
  readonly name?: string;
  /** For USER: the event's payload, any text of at most 1 KiB. */
  readonly payload?: string;
}

/** Events the node logged since the last frame, in order; none is a keep-alive. */
export interface WatchEvents {
  readonly kind: "watch-events";
  readonly events: readonly WatchEvent[];
}

/** The node ends a watch: `behind` when the watcher read too slowly, `closing` when it stops. */
export interface WatchEnd {
  readonly kind: "watch-end";
  /** A short word, lower-case (`behind`, `closing`). */
  readonly reason: string;
  readonly message: string;
}

/** Asks a node for its own event log (`member viz` with no files). */
export interface EventsRequest {
  readonly kind: "events-request";
  /** The most bytes to send; the newest part of the log is kept when it is longer. */
  readonly bytesMax: number;
}

/** A piece of an event log: whole lines. */
export interface EventsChunk {
  readonly kind: "events-chunk";
  readonly data: Uint8Array;
}

/** The end of an event log. */
export interface EventsDone {
  readonly kind: "events-done";
  /** True when only the newest `bytesMax` bytes were sent. */
  readonly truncated: boolean;
  readonly error: string;
}

/** How grep output travels: GNU grep's own text, or NUL-separated records for `--json`. */
export type GrepMode = OutputMode;

/** Asks a node to grep its own files (the ones it serves) and stream the output back. */
export interface GrepRequest {
  readonly kind: "grep-request";
  readonly query: GrepQuery;
  readonly mode: GrepMode;
  /** The most output bytes this node may send for this query. */
  readonly bytesMax: number;
  /** How long GNU grep may run on this node. */
  readonly timeoutMs: number;
}

/** A piece of grep output: whole lines, as GNU grep wrote them. */
export interface GrepChunk {
  readonly kind: "grep-chunk";
  readonly data: Uint8Array;
}

/** The end of one node's grep output. */
export interface GrepDone {
  readonly kind: "grep-done";
  /** GNU grep's: 0 lines selected, 1 none, 2 an error. */
  readonly exitCode: number;
  /** What went wrong, one line per problem, when something did. */
  readonly error: string;
  readonly truncated: boolean;
  readonly timedOut: boolean;
  readonly files: number;
  readonly bytes: number;
  readonly lines: number;
  readonly elapsedMs: number;
}

/** Asks a node for its list and counters (`member stats`). */
export interface StatsRequest {
  readonly kind: "stats-request";
}

/** A node's statistics, as the JSON object `member stats --json` prints. */
export interface StatsResponse {
  readonly kind: "stats-response";
  readonly json: string;
}

/** What a control request asks a node to do. */
export type ControlAction = "leave" | "join" | "set" | "tags" | "event";

/**
 * A command for the node itself (`member leave`, `join`, `set`, `tags`); accepted from its own
 * machine.
 */
export interface ControlRequest {
  readonly kind: "control-request";
  readonly action: ControlAction;
  /** For `set`: the new receive-side drop rate. */
  readonly dropRate?: number;
  /** For `set`: switch suspicion on or off for the whole cluster. */
  readonly suspicion?: boolean;
  /** For `tags`: tags to add or replace, checked by the node (`tagsProblem`) once merged. */
  readonly setTags?: Tags;
  /** For `tags`: keys to remove. */
  readonly deleteTags?: readonly string[];
  /** For `event`: the user event to send to every member (`member event NAME PAYLOAD`). */
  readonly eventName?: string;
  readonly eventPayload?: string;
}

/** The outcome of a control request. */
export interface ControlResponse {
  readonly kind: "control-response";
  readonly ok: boolean;
  readonly message: string;
}

/** Messages carried by UDP datagrams. */
export type DatagramMessage = Gossip;
/** Messages carried by TCP frames. */
export type FrameMessage =
  | JoinRequest
  | JoinResponse
  | SyncRequest
  | SyncResponse
  | Probe
  | ProbeAck
  | ProbeRelay
  | StatsRequest
  | StatsResponse
  | ControlRequest
  | ControlResponse
  | GrepRequest
  | GrepChunk
  | GrepDone
  | EventsRequest
  | EventsChunk
  | EventsDone
  | WatchRequest
  | WatchList
  | WatchEvents
  | WatchEnd;

/** Why bytes were dropped. */
export type DropReason =
  | "empty"
  | "protocol-version"
  | "too-large"
  | "msgpack"
  | "unknown-tag"
  | "shape"
  // Refused by the cluster key (see seal.ts):
  | "not-sealed"
  | "unauthenticated"
  | "stale"
  | "replayed"
  | "plain-refused"
  | "sealed-without-key";

/** A decoded message, or why there is none. */
export type Decoded<T> = { ok: true; message: T } | { ok: false; reason: DropReason };

/** Bounds applied while decoding, so that no input can make the decoder allocate without end. */
export interface DecodeLimits {
  /** The most bytes accepted. */
  readonly bytesMax: number;
  /** The most entries in one list. */
  readonly entriesMax: number;
}

/** Limits for decoding datagrams: any UDP payload, and as many entries as a gossip carries. */
export const datagramLimits: DecodeLimits = { bytesMax: 65_535, entriesMax: gossipEntriesMax };

const encoder = new Encoder({ ignoreUndefined: true });

function decoderFor(limits: DecodeLimits): Decoder {
  return new Decoder({
    maxStrLength: limits.bytesMax,
    maxBinLength: limits.bytesMax,
    maxArrayLength: Math.max(16, limits.entriesMax),
    maxMapLength: 64,
    maxExtLength: 0,
  });
}

const decoders = new Map<string, Decoder>();
function cachedDecoder(limits: DecodeLimits): Decoder {
  const key = `${limits.bytesMax}/${limits.entriesMax}`;
  let decoder = decoders.get(key);
  if (decoder === undefined) {
    decoder = decoderFor(limits);
    decoders.set(key, decoder);
  }
  return decoder;
}

// ---- encoding ---------------------------------------------------------------------------------

function entryTuple(entry: Entry): unknown[] {
  const tuple: unknown[] = [
    entry.address,
    entry.version,
    entry.incarnation,
    entry.heartbeat,
    entry.status,
  ];
  // A member that never set tags is encoded as before tags existed: five elements.
  if (entry.tagsVersion !== undefined) tuple.push(entry.tagsVersion);
  if (entry.tags !== undefined) tuple.push(Object.entries(entry.tags));
  return tuple;
}

function eventTuple(event: WatchEvent): unknown[] {
  return [
    // In whole milliseconds, as the event log writes it: the node's clock has fractions.
    Math.floor(event.timeMs),
    event.kind,
    event.member,
    event.node,
    event.via,
    event.from ?? null,
    event.incarnation,
    event.suspicion === undefined ? null : event.suspicion ? 1 : 0,
    // Appended after the eight fields a watch had before tags, and only when there are tags;
    // a user event's name and payload after those (the tags then null when there are none).
    ...(event.name !== undefined
      ? [
        event.tags === undefined ? null : Object.entries(event.tags),
        event.name,
        event.payload ?? "",
      ]
      : event.tags === undefined
      ? []
      : [Object.entries(event.tags)]),
  ];
}

function userEventTuple(event: UserEvent): unknown[] {
  return [event.origin, event.originVersion, event.seq, event.clock, event.name, event.payload];
}

/** User events as a gossip carries them, each within the bounds a sender may set. */
function userEventsOf(value: unknown): UserEvent[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > 64) fail();
  return value.map((item) => {
    if (!Array.isArray(item) || item.length !== 6) fail();
    const [origin, originVersion, seq, clock, name, payload] = item;
    if (typeof origin !== "string" || !isAddress(origin)) fail();
    if (typeof name !== "string" || typeof payload !== "string") fail();
    if (userEventProblem(name, payload) !== undefined) fail();
    const version = safeUint(originVersion);
    if (version === 0 || version > versionMax) fail();
    return {
      origin,
      originVersion: version,
      seq: safeUint(seq),
      clock: safeUint(clock),
      name,
      payload,
    };
  });
}

/** A gossip and its two TCP forms share one shape. */
const gossipTags = {
  gossip: Tag.Gossip,
  probe: Tag.Probe,
  "probe-ack": Tag.ProbeAck,
  "probe-relay": Tag.ProbeRelay,
} as const;
const gossipKinds = {
  [Tag.Gossip]: "gossip",
  [Tag.Probe]: "probe",
  [Tag.ProbeAck]: "probe-ack",
  [Tag.ProbeRelay]: "probe-relay",
} as const;

function body(message: DatagramMessage | FrameMessage): unknown[] {
  switch (message.kind) {
    case "gossip":
    case "probe":
    case "probe-ack":
    case "probe-relay":
      return [
        gossipTags[message.kind],
        message.settings.epoch,
        message.settings.suspicion ? 1 : 0,
        message.members,
        message.entries.map(entryTuple),
        // Appended, and only when there are some: a gossip without events is as it was.
        ...(message.userEvents === undefined || message.userEvents.length === 0
          ? []
          : [message.userEvents.map(userEventTuple)]),
      ];
    case "sync-request":
    case "sync-response":
      return [
        message.kind === "sync-request" ? Tag.SyncRequest : Tag.SyncResponse,
        message.settings.epoch,
        message.settings.suspicion ? 1 : 0,
        message.entries.map(entryTuple),
      ];
    case "join-request":
      // The timing is appended, and only when it is not the defaults'.
      return [
        Tag.JoinRequest,
        entryTuple(message.entry),
        ...(message.timing === undefined ? [] : [message.timing]),
      ];
    case "stats-request":
      return [Tag.StatsRequest];
    case "stats-response":
      return [Tag.StatsResponse, message.json];
    case "control-request": {
      const head = [
        Tag.ControlRequest,
        message.action,
        message.dropRate ?? null,
        message.suspicion === undefined ? null : message.suspicion ? 1 : 0,
      ];
      // Tag changes are appended, so that every other request keeps the four elements it had,
      // and a user event after them.
      const event = message.eventName === undefined
        ? []
        : [message.eventName, message.eventPayload ?? ""];
      if (
        message.setTags === undefined && message.deleteTags === undefined && event.length === 0
      ) return head;
      return [
        ...head,
        Object.entries(message.setTags ?? {}),
        [...(message.deleteTags ?? [])],
        ...event,
      ];
    }
    case "control-response":
      return [Tag.ControlResponse, message.ok ? 1 : 0, message.message];
    case "grep-request":
      return [Tag.GrepRequest, message.query, message.mode, message.bytesMax, message.timeoutMs];
    case "grep-chunk":
      return [Tag.GrepChunk, message.data];
    case "events-request":
      return [Tag.EventsRequest, message.bytesMax];
    case "events-chunk":
      return [Tag.EventsChunk, message.data];
    case "events-done":
      return [Tag.EventsDone, message.truncated ? 1 : 0, message.error];
    case "watch-request":
      return [Tag.WatchRequest];
    case "watch-list":
      return [Tag.WatchList, message.entries.map(entryTuple)];
    case "watch-events":
      return [Tag.WatchEvents, message.events.map(eventTuple)];
    case "watch-end":
      return [Tag.WatchEnd, message.reason, message.message];
    case "grep-done":
      return [
        Tag.GrepDone,
        message.exitCode,
        message.error,
        message.truncated ? 1 : 0,
        message.timedOut ? 1 : 0,
        message.files,
        message.bytes,
        message.lines,
        message.elapsedMs,
      ];
    case "join-response":
      return message.accepted
        ? [
          Tag.JoinResponse,
          1,
          message.settings.epoch,
          message.settings.suspicion ? 1 : 0,
          message.entries.map(entryTuple),
          // Appended: the event clock when it has started (null before a timing), the timing when
          // it is not the defaults'.
          ...(message.timing !== undefined
            ? [message.eventClock ?? null, message.timing]
            : message.eventClock === undefined
            ? []
            : [message.eventClock]),
        ]
        : [Tag.JoinResponse, 0, message.reason];
  }
}

/** Encodes a message: the protocol-version byte, then the msgpack body. */
export function encodeMessage(message: DatagramMessage | FrameMessage): Uint8Array {
  const packed = encoder.encode(body(message));
  const bytes = new Uint8Array(packed.length + 1);
  bytes[0] = protocolVersion;
  bytes.set(packed, 1);
  return bytes;
}

/**
 * A grep chunk of `parts` joined, encoded byte for byte as encodeMessage encodes it, after
 * `headroom` bytes left for the caller (a frame's header). Output is the bulk of what a member
 * sends, and this copies it once, where the general path copies it into msgpack's buffer, out of
 * it, and behind the protocol byte.
 */
export function encodeGrepChunk(parts: readonly Uint8Array[], headroom = 0): Uint8Array {
  let size = 0;
  for (const part of parts) size += part.length;
  // msgpack's bin 8, bin 16 or bin 32, whichever is the smallest that holds the length.
  const lengthBytes = size < 0x100 ? 1 : size < 0x10000 ? 2 : 4;
  const bytes = new Uint8Array(headroom + 4 + lengthBytes + size);
  const view = new DataView(bytes.buffer);
  let at = headroom;
  bytes[at++] = protocolVersion;
  bytes[at++] = 0x92; // An array of two: the tag, then the data.
  bytes[at++] = Tag.GrepChunk;
  if (lengthBytes === 1) {
    bytes[at++] = 0xc4;
    bytes[at++] = size;
  } else if (lengthBytes === 2) {
    bytes[at++] = 0xc5;
    view.setUint16(at, size);
    at += 2;
  } else {
    bytes[at++] = 0xc6;
    view.setUint32(at, size);
    at += 4;
  }
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return bytes;
}

// ---- decoding ---------------------------------------------------------------------------------

class Shape extends Error {}

function fail(): never {
  throw new Shape();
}

function uint32(value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > uint32Max) {
    fail();
  }
  return value;
}

function safeUint(value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) fail();
  return value;
}

function flag(value: unknown): boolean {
  if (value !== 0 && value !== 1) fail();
  return value === 1;
}

/** Tags as the wire carries them: `[key, value]` pairs, within the bounds a member may set. */
function tagsOf(value: unknown): Tags {
  if (!Array.isArray(value) || value.length > tagsCountMax) fail();
  const tags: Record<string, string> = {};
  for (const pair of value) {
    if (!Array.isArray(pair) || pair.length !== 2) fail();
    const [key, text] = pair;
    if (typeof key !== "string" || typeof text !== "string" || !tagKeyPattern.test(key)) fail();
    if (Object.hasOwn(tags, key)) fail();
    tags[key] = text;
  }
  if (tagsProblem(tags) !== undefined) fail();
  return tags;
}

function entryOf(value: unknown): Entry {
  if (!Array.isArray(value) || value.length < 5 || value.length > 7) fail();
  const [address, version, incarnation, heartbeat, status, tagsVersion, tags] = value;
  if (typeof address !== "string" || !isAddress(address)) fail();
  const v = safeUint(version);
  if (v === 0 || v > versionMax) fail();
  if (typeof status !== "number" || !(status >= 1 && status <= 4) || !Number.isInteger(status)) {
    fail();
  }
  const entry: Entry = {
    address,
    version: v,
    incarnation: uint32(incarnation),
    heartbeat: uint32(heartbeat),
    status: status as Status,
  };
  if (value.length === 5) return entry;
  const withVersion = { ...entry, tagsVersion: uint32(tagsVersion) };
  return value.length === 6 ? withVersion : { ...withVersion, tags: tagsOf(tags) };
}

function entriesOf(value: unknown, limits: DecodeLimits): Entry[] {
  if (!Array.isArray(value) || value.length > limits.entriesMax) fail();
  return value.map(entryOf);
}

/** Every event kind and every via, so that the compiler says when one is added and not here. */
const eventKindSet: Readonly<Record<EventKind, true>> = {
  JOIN: true,
  LEAVE: true,
  SUSPECT: true,
  REFUTE: true,
  FAIL: true,
  REMOVE: true,
  SETTINGS: true,
  UPDATE: true,
  USER: true,
};
const viaSet: Readonly<Record<Via, true>> = {
  self: true,
  join: true,
  list: true,
  gossip: true,
  timeout: true,
  refused: true,
  superseded: true,
  cleanup: true,
  stale: true,
};

/** A timing as sent: a short list of whole numbers (fields this build does not know are kept). */
function timingOfWire(value: unknown): number[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > 32) fail();
  return value.map(safeUint);
}

/** A member id, `host:port#version`, with a valid address and version. */
function memberIdOf(value: unknown): string {
  if (typeof value !== "string") fail();
  const hash = value.lastIndexOf("#");
  if (hash < 0 || !isAddress(value.slice(0, hash))) fail();
  const digits = value.slice(hash + 1);
  if (!/^[1-9]\d{0,15}$/.test(digits) || Number(digits) > versionMax) fail();
  return value;
}

function eventOf(value: unknown): WatchEvent {
  // Eight fields, nine with the member's tags, eleven with a user event's name and payload.
  if (!Array.isArray(value) || !(value.length === 8 || value.length === 9 || value.length === 11)) {
    fail();
  }
  const [timeMs, kind, member, node, via, from, incarnation, suspicion, tags, name, payload] =
    value;
  if (value.length === 11) {
    if (typeof name !== "string" || typeof payload !== "string") fail();
    if (userEventProblem(name, payload) !== undefined) fail();
  }
  if (typeof kind !== "string" || !Object.hasOwn(eventKindSet, kind)) fail();
  if (typeof via !== "string" || !Object.hasOwn(viaSet, via)) fail();
  // Most often an address; a list exchange from a member that sent no entry names a bare host.
  if (from !== null && (typeof from !== "string" || !/^[^\s]{1,300}$/.test(from))) fail();
  return {
    timeMs: safeUint(timeMs),
    kind: kind as EventKind,
    member: memberIdOf(member),
    node: memberIdOf(node),
    via: via as Via,
    ...(from === null ? {} : { from }),
    incarnation: uint32(incarnation),
    ...(suspicion === null ? {} : { suspicion: flag(suspicion) }),
    ...(value.length >= 9 && tags !== null ? { tags: tagsOf(tags) } : {}),
    ...(value.length === 11 ? { name: name as string, payload: payload as string } : {}),
  };
}

/** A string of at most `charsMax` characters. */
function shortString(value: unknown, charsMax: number): string {
  if (typeof value !== "string" || value.length > charsMax) fail();
  return value;
}

/**
 * The tag changes of a control request: pairs to set and keys to delete, each at most as many as
 * a member may have. Their values are checked by the node once merged with the tags it has, so
 * that a refusal names what is wrong (`tagsProblem`) instead of the request being dropped.
 */
function tagChangesOf(set: unknown, deleted: unknown): { setTags: Tags; deleteTags: string[] } {
  if (!Array.isArray(set) || set.length > tagsCountMax) fail();
  if (!Array.isArray(deleted) || deleted.length > tagsCountMax) fail();
  const setTags: Record<string, string> = {};
  for (const pair of set) {
    if (!Array.isArray(pair) || pair.length !== 2) fail();
    const key = shortString(pair[0], 64);
    if (Object.hasOwn(setTags, key)) fail();
    setTags[key] = shortString(pair[1], 64 * 1024);
  }
  return { setTags, deleteTags: deleted.map((key) => shortString(key, 64)) };
}

function settingsOf(epoch: unknown, suspicion: unknown): Settings {
  return { epoch: uint32(epoch), suspicion: flag(suspicion) };
}

function messageOf(
  value: unknown,
  limits: DecodeLimits,
): DatagramMessage | FrameMessage | "unknown-tag" {
  if (!Array.isArray(value) || value.length === 0) fail();
  switch (value[0]) {
    case Tag.Gossip:
    case Tag.Probe:
    case Tag.ProbeAck:
    case Tag.ProbeRelay: {
      if (value.length !== 5 && value.length !== 6) fail();
      const entries = entriesOf(value[4], limits);
      // Over TCP too a gossip is one datagram's worth, not a frame's.
      if (entries.length === 0 || entries.length > gossipEntriesMax) fail();
      return {
        kind: gossipKinds[value[0] as keyof typeof gossipKinds],
        settings: settingsOf(value[1], value[2]),
        members: uint32(value[3]),
        entries,
        ...(value.length === 6 ? { userEvents: userEventsOf(value[5]) } : {}),
      };
    }
    case Tag.SyncRequest:
    case Tag.SyncResponse: {
      if (value.length !== 4) fail();
      return {
        kind: value[0] === Tag.SyncRequest ? "sync-request" : "sync-response",
        settings: settingsOf(value[1], value[2]),
        entries: entriesOf(value[3], limits),
      };
    }
    case Tag.JoinRequest: {
      if (value.length !== 2 && value.length !== 3) fail();
      return {
        kind: "join-request",
        entry: entryOf(value[1]),
        ...(value.length === 3 ? { timing: timingOfWire(value[2]) } : {}),
      };
    }
    case Tag.JoinResponse: {
      if (value[1] === 1 && value.length >= 5 && value.length <= 7) {
        return {
          kind: "join-response",
          accepted: true,
          settings: settingsOf(value[2], value[3]),
          entries: entriesOf(value[4], limits),
          ...(value.length >= 6 && value[5] !== null ? { eventClock: safeUint(value[5]) } : {}),
          ...(value.length === 7 ? { timing: timingOfWire(value[6]) } : {}),
        };
      }
      if (value[1] === 0 && value.length === 3 && typeof value[2] === "string") {
        return { kind: "join-response", accepted: false, reason: value[2].slice(0, 500) };
      }
      return fail();
    }
    case Tag.StatsRequest: {
      if (value.length !== 1) fail();
      return { kind: "stats-request" };
    }
    case Tag.StatsResponse: {
      if (value.length !== 2 || typeof value[1] !== "string") fail();
      return { kind: "stats-response", json: value[1] };
    }
    case Tag.ControlRequest: {
      // Four elements, six with tag changes (`member tags`), eight with a user event.
      if (value.length !== 4 && value.length !== 6 && value.length !== 8) fail();
      const [, action, dropRate, suspicion, set, deleted, eventName, eventPayload] = value;
      if (
        action !== "leave" && action !== "join" && action !== "set" && action !== "tags" &&
        action !== "event"
      ) fail();
      if (
        value.length === 8 &&
        (typeof eventName !== "string" || typeof eventPayload !== "string" ||
          userEventProblem(eventName, eventPayload) !== undefined)
      ) fail();
      if (
        dropRate !== null && (typeof dropRate !== "number" || !(dropRate >= 0 && dropRate <= 1))
      ) {
        fail();
      }
      if (suspicion !== null && suspicion !== 0 && suspicion !== 1) fail();
      return {
        kind: "control-request",
        action,
        ...(dropRate === null ? {} : { dropRate }),
        ...(suspicion === null ? {} : { suspicion: suspicion === 1 }),
        ...(value.length >= 6 ? tagChangesOf(set, deleted) : {}),
        ...(value.length === 8 ? { eventName, eventPayload } : {}),
      };
    }
    case Tag.ControlResponse: {
      if (value.length !== 3 || typeof value[2] !== "string") fail();
      return { kind: "control-response", ok: flag(value[1]), message: value[2].slice(0, 2000) };
    }
    case Tag.GrepRequest: {
      if (value.length !== 5) fail();
      const [, query, mode, bytesMax, timeoutMs] = value;
      if (queryProblem(query) !== undefined) fail();
      if (mode !== "text" && mode !== "records") fail();
      return {
        kind: "grep-request",
        query: query as GrepQuery,
        mode,
        bytesMax: safeUint(bytesMax),
        timeoutMs: safeUint(timeoutMs),
      };
    }
    case Tag.GrepChunk: {
      if (value.length !== 2 || !(value[1] instanceof Uint8Array)) fail();
      return { kind: "grep-chunk", data: value[1] };
    }
    case Tag.EventsRequest: {
      if (value.length !== 2) fail();
      return { kind: "events-request", bytesMax: safeUint(value[1]) };
    }
    case Tag.EventsChunk: {
      if (value.length !== 2 || !(value[1] instanceof Uint8Array)) fail();
      return { kind: "events-chunk", data: value[1] };
    }
    case Tag.EventsDone: {
      if (value.length !== 3 || typeof value[2] !== "string") fail();
      return { kind: "events-done", truncated: flag(value[1]), error: value[2].slice(0, 2000) };
    }
    case Tag.WatchRequest: {
      if (value.length !== 1) fail();
      return { kind: "watch-request" };
    }
    case Tag.WatchList: {
      if (value.length !== 2) fail();
      const entries = entriesOf(value[1], limits);
      // The node's own entry comes first: a list without it is no answer.
      if (entries.length === 0) fail();
      return { kind: "watch-list", entries };
    }
    case Tag.WatchEvents: {
      if (value.length !== 2 || !Array.isArray(value[1])) fail();
      if (value[1].length > limits.entriesMax) fail();
      return { kind: "watch-events", events: value[1].map(eventOf) };
    }
    case Tag.WatchEnd: {
      if (value.length !== 3 || typeof value[1] !== "string" || typeof value[2] !== "string") {
        fail();
      }
      if (!/^[a-z-]{1,40}$/.test(value[1])) fail();
      return { kind: "watch-end", reason: value[1], message: value[2].slice(0, 2000) };
    }
    case Tag.GrepDone: {
      if (value.length !== 9 || typeof value[2] !== "string") fail();
      const exitCode = value[1];
      if (exitCode !== 0 && exitCode !== 1 && exitCode !== 2) fail();
      return {
        kind: "grep-done",
        exitCode,
        error: value[2].slice(0, 4096),
        truncated: flag(value[3]),
        timedOut: flag(value[4]),
        files: safeUint(value[5]),
        bytes: safeUint(value[6]),
        lines: safeUint(value[7]),
        elapsedMs: safeUint(value[8]),
      };
    }
    default:
      return "unknown-tag";
  }
}

function decodeAny(
  bytes: Uint8Array,
  limits: DecodeLimits,
): Decoded<DatagramMessage | FrameMessage> {
  if (bytes.length === 0) return { ok: false, reason: "empty" };
  if (bytes.length > limits.bytesMax) return { ok: false, reason: "too-large" };
  if (bytes[0] !== protocolVersion) return { ok: false, reason: "protocol-version" };
  let value: unknown;
  try {
    value = cachedDecoder(limits).decode(bytes.subarray(1));
  } catch {
    return { ok: false, reason: "msgpack" };
  }
  try {
    const message = messageOf(value, limits);
    if (message === "unknown-tag") return { ok: false, reason: "unknown-tag" };
    return { ok: true, message };
  } catch (error) {
    if (error instanceof Shape) return { ok: false, reason: "shape" };
    // Anything else here would be a bug in the checks above; bytes must still never throw.
    return { ok: false, reason: "shape" };
  }
}

/** Decodes a datagram; only gossip travels by UDP. */
export function decodeDatagram(bytes: Uint8Array, limits: DecodeLimits): Decoded<DatagramMessage> {
  const decoded = decodeAny(bytes, limits);
  if (decoded.ok && decoded.message.kind !== "gossip") return { ok: false, reason: "unknown-tag" };
  return decoded as Decoded<DatagramMessage>;
}

/** Decodes the payload of a TCP frame. */
export function decodeFrame(bytes: Uint8Array, limits: DecodeLimits): Decoded<FrameMessage> {
  const decoded = decodeAny(bytes, limits);
  if (decoded.ok && decoded.message.kind === "gossip") return { ok: false, reason: "unknown-tag" };
  return decoded as Decoded<FrameMessage>;
}
