/**
 * Traffic counters by message kind, in and out, with per-second rates over the last few seconds.
 */
import type { FrameMessage } from "../wire/codec.ts";

/** The kinds traffic is counted by, in the order `member stats` shows them. */
export const trafficKinds = [
  "gossip",
  "join",
  "sync",
  "probe",
  "grep",
  "events",
  "watch",
  "stats",
  "control",
];

/** The kind a frame is counted under: a request and its answer count alike. */
export function kindOf(message: FrameMessage): string {
  switch (message.kind) {
    case "join-request":
    case "join-response":
      return "join";
    case "sync-request":
    case "sync-response":
      return "sync";
    case "probe":
    case "probe-ack":
    case "probe-relay":
      return "probe";
    case "stats-request":
    case "stats-response":
      return "stats";
    case "control-request":
    case "control-response":
      return "control";
    case "grep-request":
    case "grep-chunk":
    case "grep-done":
      return "grep";
    case "events-request":
    case "events-chunk":
    case "events-done":
      return "events";
    case "watch-request":
    case "watch-list":
    case "watch-events":
    case "watch-end":
      return "watch";
  }
}

/** Totals for one message kind. */
export interface KindTotals {
  bytesIn: number;
  messagesIn: number;
  bytesOut: number;
  messagesOut: number;
}

/** Rates for one message kind, per second, over the rate window. */
export interface KindRates {
  readonly bytesInPerSecond: number;
  readonly messagesInPerSecond: number;
  readonly bytesOutPerSecond: number;
  readonly messagesOutPerSecond: number;
}

interface Sample {
  readonly atMs: number;
  readonly totals: Map<string, KindTotals>;
}

/** The number of one-second samples kept: rates are averaged over up to this many seconds. */
const samplesMax = 10;

/** Counts bytes and messages by kind. */
export class Traffic {
  readonly #totals = new Map<string, KindTotals>();
  readonly #samples: Sample[] = [];

  /** `kinds` are always reported, at zero until counted, so that readers see the same keys. */
  constructor(kinds: readonly string[] = []) {
    for (const kind of kinds) this.#kind(kind);
  }

  #kind(kind: string): KindTotals {
    let totals = this.#totals.get(kind);
    if (totals === undefined) {
      totals = { bytesIn: 0, messagesIn: 0, bytesOut: 0, messagesOut: 0 };
      this.#totals.set(kind, totals);
    }
    return totals;
  }

  /** Counts a message received. */
  countIn(kind: string, bytes: number): void {
    const totals = this.#kind(kind);
    totals.bytesIn += bytes;
    totals.messagesIn++;
  }

  /** Counts a message sent. */
  countOut(kind: string, bytes: number): void {
    const totals = this.#kind(kind);
    totals.bytesOut += bytes;
    totals.messagesOut++;
  }

  /** Takes a sample; call about once a second. */
  sample(nowMs: number): void {
    const copy = new Map<string, KindTotals>();
    for (const [kind, totals] of this.#totals) copy.set(kind, { ...totals });
    this.#samples.push({ atMs: nowMs, totals: copy });
    if (this.#samples.length > samplesMax + 1) this.#samples.shift();
  }

  /** Totals since the start, by kind. */
  totals(): Record<string, KindTotals> {
    return Object.fromEntries([...this.#totals].map(([kind, totals]) => [kind, { ...totals }]));
  }

  /** Rates by kind between the oldest and the newest sample (zero before two samples). */
  rates(): Record<string, KindRates> {
    const rates: Record<string, KindRates> = {};
    const first = this.#samples[0];
    const last = this.#samples[this.#samples.length - 1];
    const seconds = first === undefined || first === last ? 0 : (last.atMs - first.atMs) / 1000;
    for (const kind of this.#totals.keys()) {
      const a = first?.totals.get(kind) ??
        { bytesIn: 0, messagesIn: 0, bytesOut: 0, messagesOut: 0 };
      const b = last?.totals.get(kind) ?? a;
      const per = (x: number, y: number) =>
        seconds > 0 ? Math.round(((y - x) / seconds) * 10) / 10 : 0;
      rates[kind] = {
        bytesInPerSecond: per(a.bytesIn, b.bytesIn),
        messagesInPerSecond: per(a.messagesIn, b.messagesIn),
        bytesOutPerSecond: per(a.bytesOut, b.bytesOut),
        messagesOutPerSecond: per(a.messagesOut, b.messagesOut),
      };
    }
    return rates;
  }
}
