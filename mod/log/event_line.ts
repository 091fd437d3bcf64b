/**
 * The event log's line format, one event per line:
 *
 * ```
 * 2026-01-01T00:00:05.123Z FAIL member=10.0.0.4:3000#1767225600015 node=10.0.0.1:3000#1767225600000 via=timeout incarnation=0
 * ```
 *
 * An ISO-8601 UTC time with milliseconds, the event kind as an upper-case word, then `key=value`
 * fields: `member` (whom it is about) and `node` (who logged it) first, then `via`, `from` when
 * the news came from another member, `incarnation`, and `suspicion` for SETTINGS. Values never
 * hold spaces, so `grep`, `cut` and `awk` work on it.
 */
import type { EventKind, MemberEvent, Tags, Via } from "../core/types.ts";
import { memberId } from "../core/types.ts";

/** The kinds a line may carry. */
export const eventKinds: readonly EventKind[] = [
  "JOIN",
  "LEAVE",
  "SUSPECT",
  "REFUTE",
  "FAIL",
  "REMOVE",
  "SETTINGS",
  "UPDATE",
  "USER",
];

const vias: readonly Via[] = [
  "self",
  "join",
  "list",
  "gossip",
  "timeout",
  "refused",
  "superseded",
  "cleanup",
  "stale",
];

/** One parsed line. */
export interface EventRecord {
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
  /** The member's tags: on UPDATE lines; on records made in the node, JOIN of a tagged member too. */
  readonly tags?: Tags;
  /** For USER: the event's name and payload (the member is its sender). */
  readonly name?: string;
  /** For USER: the event's payload, any text of at most 1 KiB. */
  readonly payload?: string;
}

/** The record of an event that `node` (its id) saw, at wall-clock time `timeMs`. */
export function eventRecord(timeMs: number, node: string, event: MemberEvent): EventRecord {
  return {
    timeMs,
    kind: event.kind,
    member: memberId(event.address, event.version),
    node,
    via: event.via,
    ...(event.from === undefined ? {} : { from: event.from }),
    incarnation: event.incarnation,
    ...(event.suspicion === undefined ? {} : { suspicion: event.suspicion }),
    ...(event.tags === undefined ? {} : { tags: event.tags }),
    ...(event.name === undefined ? {} : { name: event.name }),
    ...(event.payload === undefined ? {} : { payload: event.payload }),
  };
}

/**
 * An event as programs get it: one object per event from `member watch --json`, on a handler's
 * stdin, and from the library. The event log's fields, the time as ISO-8601, and the member's
 * address and version apart.
 */
export interface EventJson {
  /** The event log's word: `JOIN`, `LEAVE`, `SUSPECT`, `REFUTE`, `FAIL`, `REMOVE`, `SETTINGS`. */
  readonly kind: EventKind;
  /** `host:port#version` of the member the event is about. */
  readonly member: string;
  /** The member's `host:port`. */
  readonly address: string;
  /** The member's version: fixed when it joined. */
  readonly version: number;
  /** `host:port#version` of the node that logged it. */
  readonly node: string;
  /** How the node learned it: `timeout`, `gossip`, `self`, `join`, `list`, ... */
  readonly via: Via;
  /** ISO-8601 UTC with milliseconds, on the logging node's clock. */
  readonly time: string;
  /** The member's incarnation: raised each time it refutes a suspicion. */
  readonly incarnation: number;
  /** The member whose gossip brought the news, when it came second-hand. */
  readonly from?: string;
  /** For `SETTINGS`: the cluster's suspicion switch after the change. */
  readonly suspicion?: boolean;
  /** For `UPDATE`, and `JOIN` of a member with tags: the member's tags. */
  readonly tags?: Tags;
  /** For `USER`: the event's name and payload (`member` is the member that sent it). */
  readonly name?: string;
  /** For USER: the event's payload, any text of at most 1 KiB. */
  readonly payload?: string;
}

/** The JSON form of an event record. */
export function eventJson(record: EventRecord): EventJson {
  const hash = record.member.lastIndexOf("#");
  return {
    kind: record.kind,
    member: record.member,
    address: record.member.slice(0, hash),
    version: Number(record.member.slice(hash + 1)),
    node: record.node,
    via: record.via,
    time: new Date(record.timeMs).toISOString(),
    incarnation: record.incarnation,
    ...(record.from === undefined ? {} : { from: record.from }),
    ...(record.suspicion === undefined ? {} : { suspicion: record.suspicion }),
    ...(record.tags === undefined ? {} : { tags: record.tags }),
    ...(record.name === undefined ? {} : { name: record.name }),
    ...(record.payload === undefined ? {} : { payload: record.payload }),
  };
}

/** Formats an event that `node` (its id) saw, at wall-clock time `timeMs`. */
export function formatEventLine(timeMs: number, node: string, event: MemberEvent): string {
  let line = `${new Date(timeMs).toISOString()} ${event.kind} member=${
    memberId(event.address, event.version)
  } node=${node} via=${event.via}`;
  if (event.from !== undefined) line += ` from=${event.from}`;
  line += ` incarnation=${event.incarnation}`;
  if (event.suspicion !== undefined) line += ` suspicion=${event.suspicion ? "on" : "off"}`;
  // Tags may hold spaces and any character: the value is their JSON, percent-encoded.
  if (event.kind === "UPDATE" && event.tags !== undefined) {
    line += ` tags=${encodeURIComponent(JSON.stringify(event.tags))}`;
  }
  // A name is a word; a payload may hold anything, so it is percent-encoded.
  if (event.name !== undefined) line += ` name=${event.name}`;
  if (event.payload !== undefined) line += ` payload=${encodeURIComponent(event.payload)}`;
  return line;
}

const timePattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
// A host is a name, an IPv4 address or a bracketed IPv6 one: nothing a page could take for markup.
const idPattern = /^[\w.\-\[\]:%]+:\d{1,5}#\d{1,16}$/;

/** Parses one line; returns the reason when it is not an event line. */
export function parseEventLine(line: string): EventRecord | { error: string } {
  const fields = line.trimEnd().split(" ");
  if (fields.length < 5) return { error: "too few fields for an event line" };
  const [time, kind, ...rest] = fields;
  if (!timePattern.test(time)) {
    return {
      error: `not a time as the event log writes it (2026-01-01T00:00:05.123Z): '${
        time.slice(0, 40)
      }'`,
    };
  }
  const timeMs = Date.parse(time);
  if (!Number.isFinite(timeMs)) return { error: `not a valid time: '${time}'` };
  if (!(eventKinds as readonly string[]).includes(kind)) {
    return { error: `unknown event kind '${kind.slice(0, 20)}'` };
  }
  const values = new Map<string, string>();
  for (const field of rest) {
    const eq = field.indexOf("=");
    if (eq <= 0) return { error: `not a key=value field: '${field.slice(0, 40)}'` };
    values.set(field.slice(0, eq), field.slice(eq + 1));
  }
  const member = values.get("member");
  const node = values.get("node");
  const via = values.get("via");
  const incarnation = Number(values.get("incarnation"));
  if (member === undefined || !idPattern.test(member)) return { error: "missing or bad member=" };
  if (node === undefined || !idPattern.test(node)) return { error: "missing or bad node=" };
  if (via === undefined || !(vias as readonly string[]).includes(via)) {
    return { error: "missing or bad via=" };
  }
  if (!Number.isSafeInteger(incarnation) || incarnation < 0) {
    return { error: "missing or bad incarnation=" };
  }
  const suspicion = values.get("suspicion");
  let tags: Tags | undefined;
  const tagsText = values.get("tags");
  if (tagsText !== undefined) {
    try {
      const parsed: unknown = JSON.parse(decodeURIComponent(tagsText));
      if (
        typeof parsed !== "object" || parsed === null || Array.isArray(parsed) ||
        !Object.values(parsed).every((v) => typeof v === "string")
      ) return { error: "bad tags=" };
      tags = parsed as Tags;
    } catch {
      return { error: "bad tags=" };
    }
  }
  let payload: string | undefined;
  const payloadText = values.get("payload");
  if (payloadText !== undefined) {
    try {
      payload = decodeURIComponent(payloadText);
    } catch {
      return { error: "bad payload=" };
    }
  }
  const name = values.get("name");
  return {
    timeMs,
    kind: kind as EventKind,
    member,
    node,
    via: via as Via,
    incarnation,
    ...(values.has("from") ? { from: values.get("from")! } : {}),
    ...(suspicion === undefined ? {} : { suspicion: suspicion === "on" }),
    ...(tags === undefined ? {} : { tags }),
    ...(name === undefined ? {} : { name }),
    ...(payload === undefined ? {} : { payload }),
  };
}
