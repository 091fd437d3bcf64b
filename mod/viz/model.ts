/**
 * From event records to what the replay page shows: the events in one time order (clocks
 * aligned where the logs prove them wrong), and for each failure who detected it and when.
 */
import type { EventRecord } from "../log/event_line.ts";
import type { ReadProblem } from "../log/reader.ts";
import { Replay, type ReplayData } from "./replay.ts";

/** One failure: a member version that some node listed as failed. */
export interface FailureSummary {
  readonly member: string;
  /** When it was first suspected, ms since the run's start, if it was. */
  readonly suspectedMs: number | null;
  readonly firstMs: number;
  readonly firstBy: string;
  /** When the last of the running nodes that detected it did. */
  readonly allMs: number;
  /** Running nodes (see `observers`) that listed it as failed; never more than `observers`. */
  readonly detectedBy: number;
  /**
   * Nodes running at the first detection, the ones that should detect it: joined by then, and
   * not left, failed or removed by then (in their own logs or others'), whether or not they
   * logged anything afterwards. A member later listed as failed for real (not a false positive)
   * that logged nothing from that moment on is taken as crashed already: a crash leaves no line.
   */
  readonly observers: number;
  /**
   * It was running after it was listed as failed, so the failure was a false positive: its own
   * log goes on after the first detection, or a newer version of its address logged its removal
   * as its own doing (it learnt it had been failed and came back as a new version).
   */
  readonly falsePositive: boolean;
  /**
   * The time of its own last line before the first detection, when its log is here. A crash
   * leaves no line: it came at some moment between this and the first detection.
   */
  readonly lastOwnLineMs: number | null;
}

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

/** Where the events came from, for the page's Input section. */
export interface InputSummary {
  /** Logs with at least one event line. */
  readonly used: readonly string[];
  /** Logs with lines but no event line among them. */
  readonly rejected: readonly string[];
  /** Logs with no line at all. */
  readonly empty: readonly string[];
  /** Files named that could not be read. */
  readonly unread: readonly string[];
  /** Lines skipped in all (one problem may stand for many lines). */
  readonly skippedLines: number;
}

/** What the page is built from. */
export interface VizModel {
  /** Wall-clock time of the run's first event (after alignment), ms since the epoch. */
  readonly startMs: number;
  readonly data: ReplayData;
  readonly failures: FailureSummary[];
  readonly corrections: ClockCorrection[];
  readonly problems: ReadProblem[];
  readonly input: InputSummary;
  readonly counts: Record<string, number>;
}

/** The most members a page holds (the index columns are 16-bit). */
export const membersMax = 65_535;

function addressOf(id: string): string {
  return id.slice(0, id.lastIndexOf("#"));
}

function hostOf(id: string): string {
  const address = addressOf(id);
  return address.slice(0, address.lastIndexOf(":"));
}

/**
 * Builds the model. Events are placed by the clock of the node that logged them, corrected for
 * hosts whose clocks the joins show to be off (see {@linkcode alignClocks}).
 */
export function buildModel(
  records: readonly EventRecord[],
  problems: ReadProblem[] = [],
  input: Partial<InputSummary> = {},
): VizModel {
  const corrections = alignClocks(records);
  const shift = new Map(corrections.map((c) => [c.host, c.shiftMs]));
  const placed = records
    .map((r, order) => ({ r, order, at: r.timeMs - (shift.get(hostOf(r.node)) ?? 0) }))
    .sort((a, b) => a.at - b.at || a.order - b.order);
  const ids = new Set<string>();
  for (const { r } of placed) {
    ids.add(r.member);
    ids.add(r.node);
  }
  const members = [...ids].sort(compareIds);
  if (members.length > membersMax) {
    throw new Error(`the logs name ${members.length} members; a page holds at most ${membersMax}`);
  }
  const index = new Map(members.map((id, i) => [id, i]));
  const startMs = placed.length > 0 ? placed[0].at : 0;
  const t = new Int32Array(placed.length);
  const kind = new Uint8Array(placed.length);
  const member = new Uint16Array(placed.length);
  const node = new Uint16Array(placed.length);
  const counts: Record<string, number> = {};
  // A member that learnt it had been failed comes back as a new version of its address and logs
  // the old one's removal as its own doing: the old one was running.
  const cameBack = new Set<number>();
  placed.forEach(({ r, at }, i) => {
    t[i] = Math.round(at - startMs);
    kind[i] = Replay.kinds.indexOf(r.kind);
    member[i] = index.get(r.member)!;
    node[i] = index.get(r.node)!;
    counts[r.kind] = (counts[r.kind] ?? 0) + 1;
    if (
      r.kind === "REMOVE" && (r.via === "self" || r.via === "gossip") &&
      addressOf(r.node) === addressOf(r.member)
    ) cameBack.add(member[i]);
  });
  const data: ReplayData = { members, t, kind, member, node };
  return {
    startMs,
    data,
    failures: summarizeFailures(data, cameBack),
    corrections,
    problems,
    input: {
      used: input.used ?? [],
      rejected: input.rejected ?? [],
      empty: input.empty ?? [],
      unread: input.unread ?? [],
      skippedLines: input.skippedLines ?? problems.length,
    },
    counts,
  };
}

/** IPv4 addresses in numeric order, other hosts as text. */
function compareHosts(hostA: string, hostB: string): number {
  const ipA = hostA.split(".").map(Number);
  const ipB = hostB.split(".").map(Number);
  if (
    ipA.length === 4 && ipB.length === 4 && ipA.every(Number.isFinite) && ipB.every(Number.isFinite)
  ) {
    for (let i = 0; i < 4; i++) if (ipA[i] !== ipB[i]) return ipA[i] - ipB[i];
    return 0;
  }
  return hostA < hostB ? -1 : hostA > hostB ? 1 : 0;
}

function compareIds(a: string, b: string): number {
  const [addressA, versionA] = a.split("#");
  const [addressB, versionB] = b.split("#");
  const byHost = compareHosts(hostOf(a), hostOf(b));
  if (byHost !== 0) return byHost;
  const portA = Number(addressA.slice(addressA.lastIndexOf(":") + 1));
  const portB = Number(addressB.slice(addressB.lastIndexOf(":") + 1));
  return portA - portB || Number(versionA) - Number(versionB);
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
function alignClocks(records: readonly EventRecord[]): ClockCorrection[] {
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

/**
 * Every failure in the run: who detected it, when, and whether it was a false positive.
 * `cameBack` holds the members a newer version of their address logged as removed by its own
 * doing.
 */
export function summarizeFailures(
  data: ReplayData,
  cameBack: ReadonlySet<number> = new Set(),
): FailureSummary[] {
  const kinds = Replay.kinds;
  const FAIL = kinds.indexOf("FAIL");
  const SUSPECT = kinds.indexOf("SUSPECT");
  const ends = new Set(["LEAVE", "FAIL", "REMOVE"].map((k) => kinds.indexOf(k)));
  const events = data.t.length;
  // Per member, by event index: first seen (its JOIN or any line), its own last line, the first
  // line that ends it (left, failed, removed).
  const firstSeen = new Map<number, number>();
  const lastOwn = new Map<number, number>();
  const ended = new Map<number, number>();
  const fails = new Map<number, { i: number; by: number }[]>();
  const suspected = new Map<number, number>();
  for (let i = 0; i < events; i++) {
    const m = data.member[i];
    const o = data.node[i];
    if (!firstSeen.has(m)) firstSeen.set(m, i);
    if (!firstSeen.has(o)) firstSeen.set(o, i);
    lastOwn.set(o, i);
    if (ends.has(data.kind[i]) && !ended.has(m)) ended.set(m, i);
    if (data.kind[i] === FAIL && o !== m) {
      const list = fails.get(m) ?? [];
      if (!list.some((f) => f.by === o)) list.push({ i, by: o });
      fails.set(m, list);
    } else if (data.kind[i] === SUSPECT && !suspected.has(m)) suspected.set(m, data.t[i]);
  }
  const falsePositive = new Map<number, boolean>();
  for (const [m, list] of fails) {
    falsePositive.set(m, (lastOwn.get(m) ?? -1) > list[0].i || cameBack.has(m));
  }
  const summaries: FailureSummary[] = [];
  for (const [m, list] of fails) {
    const first = list[0].i;
    const running = (o: number) => {
      if (o === m || (firstSeen.get(o) ?? Infinity) > first) return false;
      if ((lastOwn.get(o) ?? -1) >= first) return true;
      if ((ended.get(o) ?? Infinity) < first) return false;
      return falsePositive.get(o) !== false;
    };
    let observers = 0;
    for (const o of firstSeen.keys()) if (running(o)) observers++;
    const detectors = list.filter((f) => running(f.by));
    let ownBefore: number | null = null;
    const own = lastOwn.get(m) ?? -1;
    for (let i = Math.min(first, own); i >= 0; i--) {
      if (data.node[i] === m) {
        ownBefore = data.t[i];
        break;
      }
    }
    summaries.push({
      member: data.members[m],
      suspectedMs: suspected.get(m) ?? null,
      firstMs: data.t[first],
      firstBy: data.members[list[0].by],
      allMs: data.t[(detectors.at(-1) ?? list[0]).i],
      detectedBy: detectors.length,
      observers,
      falsePositive: falsePositive.get(m)!,
      lastOwnLineMs: ownBefore,
    });
  }
  return summaries.sort((a, b) => a.firstMs - b.firstMs);
}

function base64(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

/** The model as JSON for the page, the event columns packed as base64 typed arrays. */
export function modelJson(model: VizModel): string {
  const { data } = model;
  const bytes = (
    a: ArrayLike<number>,
    Kind: typeof Int32Array | typeof Uint16Array | typeof Uint8Array,
  ) => base64(new Uint8Array(Kind.from(a).buffer));
  const json = JSON.stringify({
    startMs: model.startMs,
    members: data.members,
    t: bytes(data.t, Int32Array),
    kind: bytes(data.kind, Uint8Array),
    member: bytes(data.member, Uint16Array),
    node: bytes(data.node, Uint16Array),
    failures: model.failures,
    corrections: model.corrections,
    problems: model.problems.slice(0, 200),
    problemsTotal: model.problems.length,
    input: model.input,
    counts: model.counts,
  });
  // No "<" at all: nothing in the data can end or re-open the script element that holds it.
  return json.replaceAll("<", "\\u003c");
}
