/**
 * Clocks aligned where the logs prove them wrong: each join bounds the joiner's clock minus its
 * contact's from both sides, and a host whose clock breaks those bounds has all its events moved
 * by the least that keeps them.
 */
import type { EventRecord } from "../log/event_line.ts";
import { addressOf, compareHosts, hostOf } from "./_ids.ts";

/**
 * A host whose clock the joins show to differ from the others', and the correction applied:
 * `shiftMs` > 0 when it is ahead (its events are moved earlier by that much), < 0 when it is
 * behind (moved later).
 */
export interface ClockCorrection {
  readonly host: string;
  readonly shiftMs: number;
  readonly evidence: string;
}

/**
 * What one join says about two clocks: the joiner's host clock minus its contact's lies in
 * [lowMs, highMs] (either bound may be unknown).
 */
interface JoinBound {
  readonly joiner: string;
  readonly contact: string;
  readonly lowMs: number;
  readonly highMs: number;
  readonly lowWhy: string;
  readonly highWhy: string;
}

/** Each accepted join's bounds on its joiner's clock minus its contact's. */
function joinBounds(records: readonly EventRecord[]): JoinBound[] {
  const ownJoin = new Map<string, number>();
  // The earliest record, by the joiner's clock, of its contact's own entry in a list that
  // contact sent: the answer to the join came before or with it.
  const listed = new Map<string, number>();
  for (const r of records) {
    if (r.kind !== "JOIN") continue;
    if (r.via === "self" && r.member === r.node) {
      if (!ownJoin.has(r.member)) ownJoin.set(r.member, r.timeMs);
    } else if (r.via === "list" && r.from === addressOf(r.member)) {
      const key = `${r.node} ${r.member}`;
      if (r.timeMs < (listed.get(key) ?? Infinity)) listed.set(key, r.timeMs);
    }
  }
  const bounds: JoinBound[] = [];
  for (const r of records) {
    // The contact's record of accepting a join.
    if (r.kind !== "JOIN" || r.via !== "join" || r.member === r.node) continue;
    if (hostOf(r.member) === hostOf(r.node)) continue;
    const own = ownJoin.get(r.member);
    const answered = listed.get(`${r.member} ${r.node}`);
    if (own === undefined && answered === undefined) continue;
    const early = (ms: number) => ms >= 0 ? `${ms} ms after` : `${-ms} ms before`;
    bounds.push({
      joiner: r.member,
      contact: r.node,
      // The joiner asked before the contact accepted.
      lowMs: own === undefined ? -Infinity : own - r.timeMs,
      lowWhy: own === undefined
        ? ""
        : `${r.member} logged its own JOIN ${early(own - r.timeMs)} ${r.node} accepted it`,
      // The contact accepted before the joiner had its answer.
      highMs: answered === undefined ? Infinity : answered - r.timeMs,
      highWhy: answered === undefined
        ? ""
        : `${r.member} had ${r.node}'s answer ${early(answered - r.timeMs)} ${r.node} accepted it`,
    });
  }
  return bounds;
}

/**
 * Hosts whose clocks the joins show to be off. A joiner logs its own JOIN before its contact
 * accepts it, and its contact accepts it before the joiner has the answer: each join bounds the
 * joiner's clock minus the contact's from both sides, when both are on different hosts. Where
 * a bound is broken, the host with the largest share of its bounds broken (then the most broken,
 * then the fewest joins accepted: the cluster's first members are the reference) is moved by the
 * least that keeps its bounds, and so on until every bound holds or every host was moved once.
 * Skewed hosts among correct ones are moved alone, each by at least its skew as far as the logs
 * show, even when all joined through one contact (which keeps the bounds of every other join).
 */
export function alignClocks(records: readonly EventRecord[]): ClockCorrection[] {
  const bounds = joinBounds(records);
  const hosts = new Set<string>();
  for (const b of bounds) hosts.add(hostOf(b.joiner)).add(hostOf(b.contact));
  const offset = new Map<string, number>();
  const off = (host: string) => offset.get(host) ?? 0;
  const corrections: ClockCorrection[] = [];
  for (let round = 0; round < hosts.size; round++) {
    const broken = new Map<string, number>();
    const kept = new Map<string, number>();
    const accepted = new Map<string, number>();
    for (const b of bounds) {
      const j = hostOf(b.joiner);
      const c = hostOf(b.contact);
      const d = off(j) - off(c);
      const tally = d < b.lowMs || d > b.highMs ? broken : kept;
      tally.set(j, (tally.get(j) ?? 0) + 1).set(c, (tally.get(c) ?? 0) + 1);
      accepted.set(c, (accepted.get(c) ?? 0) + 1);
    }
    // The share of its bounds broken first: a contact that many joined through, two of them
    // from skewed hosts, keeps most of its bounds, where each skewed host breaks all of its own.
    const share = (h: string) => broken.get(h)! / (broken.get(h)! + (kept.get(h) ?? 0));
    const blamed = [...broken.keys()].filter((h) =>
      !offset.has(h)
    ).sort((x, y) =>
      share(y) - share(x) || broken.get(y)! - broken.get(x)! ||
      (accepted.get(x) ?? 0) - (accepted.get(y) ?? 0) || compareHosts(x, y)
    )[0];
    if (blamed === undefined) break;
    // The offsets this host may have, given the others'.
    let low = -Infinity, high = Infinity, lowWhy = "", highWhy = "";
    for (const b of bounds) {
      const j = hostOf(b.joiner);
      const c = hostOf(b.contact);
      if (j === blamed) {
        if (off(c) + b.lowMs > low) [low, lowWhy] = [off(c) + b.lowMs, b.lowWhy];
        if (off(c) + b.highMs < high) [high, highWhy] = [off(c) + b.highMs, b.highWhy];
      } else if (c === blamed) {
        if (off(j) - b.highMs > low) [low, lowWhy] = [off(j) - b.highMs, b.highWhy];
        if (off(j) - b.lowMs < high) [high, highWhy] = [off(j) - b.lowMs, b.lowWhy];
      }
    }
    let shiftMs: number;
    let evidence: string;
    if (low <= high) {
      shiftMs = Math.min(Math.max(0, low), high);
      evidence = shiftMs > 0
        ? `ahead by at least ${shiftMs} ms: ${lowWhy}`
        : `behind by at least ${-shiftMs} ms: ${highWhy}`;
      const other = shiftMs > 0 ? high : -low;
      if (Number.isFinite(other)) {
        evidence += ` (and by at most ${Math.abs(other)} ms: ${shiftMs > 0 ? highWhy : lowWhy})`;
      }
    } else {
      shiftMs = Math.round((low + high) / 2);
      evidence = `the joins contradict each other (${lowWhy}; ${highWhy}): moved half way`;
    }
    offset.set(blamed, shiftMs);
    if (shiftMs !== 0) corrections.push({ host: blamed, shiftMs, evidence });
  }
  return corrections.sort((x, y) => compareHosts(x.host, y.host));
}
