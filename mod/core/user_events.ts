/**
 * User events: `member event NAME PAYLOAD` spreads an event through the cluster by gossip, and
 * every member running at the time receives it once (a USER line in its event log, to watches and
 * handlers). Each node that first hears of an event passes it on in its next datagrams, as many
 * times as news is retransmitted, then only remembers it for a while so as not to take it twice.
 * A member that joins later is not given old events: the join answer carries the cluster's event
 * clock, and events at or below it were before its time.
 */
import { assert } from "./assert.ts";
import type { News } from "./news.ts";
import type { Outputs } from "./outputs.ts";
import type { Self } from "./self.ts";
import type { MemberTable } from "./member_table.ts";
import type { Address, UserEvent } from "./types.ts";
import { userEventBytes } from "./wire_size.ts";

/** What an event's name looks like: a word a shell, a log line and a handler take as it is. */
export const userEventNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.\-:/]{0,63}$/;
/** The most bytes of payload one event carries. */
export const userEventPayloadBytesMax = 1024;
/** Events a node remembers having taken, at most: a flood is forgotten sooner, never unbounded. */
const rememberedMax = 10_000;
/** How long a node remembers an event, so as not to take it twice: far longer than it spreads. */
const rememberMs = 120_000;
/** Events waiting to be passed on, at most; a larger burst drops the oldest to pass on. */
const outgoingMax = 256;
/**
 * Datagrams a node puts an event in, as a multiple of news's retransmit limit: most go to its
 * ring neighbours, which often have it already; the few to random members carry it on.
 */
const sendsPerLimit = 2;

const utf8 = new TextEncoder();

/** Why an event cannot be sent, in one line, or undefined when it can. */
export function userEventProblem(name: string, payload: string): string | undefined {
  if (!userEventNamePattern.test(name)) {
    return `event name '${
      name.slice(0, 80)
    }' must be 1 to 64 letters, digits, '_', '.', '-', ':' ` +
      "or '/', beginning with a letter or digit";
  }
  const bytes = utf8.encode(payload).length;
  if (bytes > userEventPayloadBytesMax) {
    return `the payload takes ${bytes} bytes, more than ${userEventPayloadBytesMax}`;
  }
  return undefined;
}

/** The parts user events read and act through. */
export interface UserEventParts {
  readonly table: MemberTable;
  readonly self: Self;
  readonly news: News;
  readonly outputs: Outputs;
}

interface Outgoing {
  readonly event: UserEvent;
  /** Its size in a datagram (`userEventBytes`), worked out once when it is taken. */
  readonly bytes: number;
  sendsLeft: number;
}

/** The user events this node has taken, and those it still passes on. */
export class UserEvents {
  readonly #p: UserEventParts;
  /** The cluster's event clock as this node knows it. */
  #clock = 0;
  /** Events at or below this clock were before this node joined: not taken. */
  #joinedClock = 0;
  #seq = 0;
  /** Events taken, by key, and until when they are remembered; in the order taken. */
  readonly #taken = new Map<string, number>();
  #outgoing: Outgoing[] = [];

  constructor(parts: UserEventParts) {
    this.#p = parts;
  }

  /** The cluster's event clock as this node knows it: what a joiner is told. */
  get clock(): number {
    return this.#clock;
  }

  /** True while events wait to be passed on. */
  get pending(): boolean {
    return this.#outgoing.length > 0;
  }

  /** Notes the clock a join was answered with: events up to it are not this node's. */
  joined(clock: number): void {
    this.#joinedClock = Math.max(this.#joinedClock, clock);
    this.#clock = Math.max(this.#clock, clock);
  }

  /** Sends an event from this node: logged here at once, passed on from the next datagram. */
  send(nowMs: number, name: string, payload: string): void {
    assert(userEventProblem(name, payload) === undefined, "a bad user event");
    const self = this.#p.self;
    const event: UserEvent = {
      origin: self.address,
      originVersion: self.version,
      seq: ++this.#seq,
      clock: ++this.#clock,
      name,
      payload,
    };
    this.#take(nowMs, event, "self");
  }

  /** Takes the events a gossip carried that this node has not taken yet. */
  receive(nowMs: number, events: readonly UserEvent[], from: Address): void {
    for (const event of events) {
      if (event.clock > this.#clock) this.#clock = event.clock;
      if (event.clock <= this.#joinedClock || event.origin === this.#p.self.address) continue;
      if (this.#taken.has(keyOf(event))) continue;
      this.#take(nowMs, event, "gossip", from);
    }
  }

  /**
   * The events to pass on in one datagram, within `budget` bytes: each counts as sent once more,
   * and is dropped from those passed on once sent as often as news is.
   */
  pick(budget: number): { events: UserEvent[]; bytes: number } {
    if (this.#outgoing.length === 0) return { events: [], bytes: 0 };
    const events: UserEvent[] = [];
    const rest: Outgoing[] = [];
    const sent: Outgoing[] = [];
    let bytes = 0;
    for (const item of this.#outgoing) {
      const size = item.bytes;
      // The list's own header grows past 15 items; a datagram carries far fewer.
      if (events.length >= 15 || bytes + size + 1 > budget) {
        rest.push(item);
        continue;
      }
      bytes += size;
      events.push(item.event);
      if (--item.sendsLeft > 0) sent.push(item);
    }
    if (events.length === 0) return { events, bytes: 0 };
    // Those just sent go last, so that a burst larger than one datagram takes turns.
    this.#outgoing = [...rest, ...sent];
    return { events, bytes: bytes + 1 };
  }

  #take(nowMs: number, event: UserEvent, via: "self" | "gossip", from?: Address): void {
    this.#remember(nowMs, keyOf(event));
    const limit = this.#p.news.limit(this.#p.table.live.size);
    this.#outgoing.push({ event, bytes: userEventBytes(event), sendsLeft: sendsPerLimit * limit });
    if (this.#outgoing.length > outgoingMax) this.#outgoing.shift();
    this.#p.outputs.userEvent(nowMs, event, via, from);
  }

  #remember(nowMs: number, key: string): void {
    // Forgotten oldest first: the map keeps the order events were taken in.
    for (const [old, untilMs] of this.#taken) {
      if (untilMs > nowMs && this.#taken.size < rememberedMax) break;
      this.#taken.delete(old);
    }
    this.#taken.set(key, nowMs + rememberMs);
  }
}

function keyOf(event: UserEvent): string {
  return `${event.origin}#${event.originVersion}/${event.seq}`;
}
