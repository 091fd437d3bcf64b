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
  /** When the last node that detected it did. */
  readonly allMs: number;
  /** Nodes that listed it as failed. */
  readonly detectedBy: number;
  /** Nodes running at the first detection (their logs go on past it), the ones that should. */
  readonly observers: number;
  /**
   * The member's own log goes on after it was listed as failed: it was running, so the failure
   * was a false positive.
   */
  readonly falsePositive: boolean;
  /** Its own last line before the first detection, when its log is here. */
  readonly lastOwnLineMs: number | null;
}

/** A host whose clock the logs show to be ahead, and the correction applied. */
export interface ClockCorrection {
  readonly host: string;
  readonly shiftMs: number;
  readonly evidence: string;
}

/** What the page is built from. */
export interface VizModel {
  /** Wall-clock time of the run's first event (after alignment), ms since the epoch. */
  readonly startMs: number;
  readonly data: ReplayData;
  readonly failures: FailureSummary[];
  readonly corrections: ClockCorrection[];
  readonly problems: ReadProblem[];
  readonly sources: string[];
  readonly counts: Record<string, number>;
}

/** The most members a page holds (the index columns are 16-bit). */
export const membersMax = 65_535;

function hostOf(id: string): string {
  const address = id.slice(0, id.lastIndexOf("#"));
  return address.slice(0, address.lastIndexOf(":"));
}

/**
 * Builds the model. Events are placed by the clock of the node that logged them. A joiner logs
 * its own JOIN before its contact accepts it, so when the contact's record of the join is earlier
 * than the joiner's own line, the joiner's machine is ahead by at least the difference: all of
 * that machine's events are moved back by it.
 */
export function buildModel(
  records: readonly EventRecord[],
  problems: ReadProblem[] = [],
  sources: string[] = [],
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
  placed.forEach(({ r, at }, i) => {
    t[i] = Math.round(at - startMs);
    kind[i] = Replay.kinds.indexOf(r.kind);
    member[i] = index.get(r.member)!;
    node[i] = index.get(r.node)!;
    counts[r.kind] = (counts[r.kind] ?? 0) + 1;
  });
  const data: ReplayData = { members, t, kind, member, node };
  return {
    startMs,
    data,
    failures: summarizeFailures(data),
    corrections,
    problems,
    sources,
    counts,
  };
}

function compareIds(a: string, b: string): number {
  const [addressA, versionA] = a.split("#");
  const [addressB, versionB] = b.split("#");
  const hostA = hostOf(a);
  const hostB = hostOf(b);
  const ipA = hostA.split(".").map(Number);
  const ipB = hostB.split(".").map(Number);
  if (
    ipA.length === 4 && ipB.length === 4 && ipA.every(Number.isFinite) && ipB.every(Number.isFinite)
  ) {
    for (let i = 0; i < 4; i++) if (ipA[i] !== ipB[i]) return ipA[i] - ipB[i];
  } else if (hostA !== hostB) return hostA < hostB ? -1 : 1;
  const portA = Number(addressA.slice(addressA.lastIndexOf(":") + 1));
  const portB = Number(addressB.slice(addressB.lastIndexOf(":") + 1));
  return portA - portB || Number(versionA) - Number(versionB);
}

/** Hosts whose clocks the joins show to be ahead of their contacts'. */
function alignClocks(records: readonly EventRecord[]): ClockCorrection[] {
  const ownJoin = new Map<string, number>();
  for (const r of records) {
    if (r.kind === "JOIN" && r.via === "self" && r.member === r.node) {
      ownJoin.set(r.member, r.timeMs);
    }
  }
  const ahead = new Map<string, { shiftMs: number; evidence: string }>();
  for (const r of records) {
    if (r.kind !== "JOIN" || r.via !== "join") continue;
    const own = ownJoin.get(r.member);
    const host = hostOf(r.member);
    if (own === undefined || host === hostOf(r.node)) continue;
    const lead = own - r.timeMs;
    if (lead > (ahead.get(host)?.shiftMs ?? 0)) {
      ahead.set(host, {
        shiftMs: lead,
        evidence: `${r.member} logged its own JOIN ${lead} ms after ${r.node} had accepted it`,
      });
    }
  }
  return [...ahead].map(([host, { shiftMs, evidence }]) => ({ host, shiftMs, evidence }));
}

/** Every failure in the run: who detected it, when, and whether it was a false positive. */
export function summarizeFailures(data: ReplayData): FailureSummary[] {
  const kinds = Replay.kinds;
  const FAIL = kinds.indexOf("FAIL");
  const SUSPECT = kinds.indexOf("SUSPECT");
  const lastLine = new Map<number, number>();
  for (let i = 0; i < data.t.length; i++) lastLine.set(data.node[i], data.t[i]);
  const firstLine = new Map<number, number>();
  for (let i = data.t.length - 1; i >= 0; i--) firstLine.set(data.node[i], data.t[i]);
  const fails = new Map<number, { at: number; by: number }[]>();
  const suspected = new Map<number, number>();
  for (let i = 0; i < data.t.length; i++) {
    const m = data.member[i];
    if (data.kind[i] === FAIL && data.node[i] !== m) {
      const list = fails.get(m) ?? [];
      if (!list.some((f) => f.by === data.node[i])) list.push({ at: data.t[i], by: data.node[i] });
      fails.set(m, list);
    } else if (data.kind[i] === SUSPECT && !suspected.has(m)) suspected.set(m, data.t[i]);
  }
  const summaries: FailureSummary[] = [];
  for (const [m, list] of fails) {
    const first = list[0];
    const all = list[list.length - 1];
    let observers = 0;
    for (const [node, last] of lastLine) {
      if (node !== m && (firstLine.get(node) ?? Infinity) <= first.at && last >= first.at) {
        observers++;
      }
    }
    // Its own log going on well past the first detection means it was running all along.
    const ownLast = lastLine.get(m);
    let ownBefore: number | null = null;
    for (let i = 0; i < data.t.length && data.t[i] <= first.at; i++) {
      if (data.node[i] === m) ownBefore = data.t[i];
    }
    summaries.push({
      member: data.members[m],
      suspectedMs: suspected.get(m) ?? null,
      firstMs: first.at,
      firstBy: data.members[first.by],
      allMs: all.at,
      detectedBy: list.length,
      observers,
      falsePositive: ownLast !== undefined && ownLast > first.at + 1000,
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
  return JSON.stringify({
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
    sources: model.sources,
    counts: model.counts,
  }).replaceAll("</", "<\\/");
}
