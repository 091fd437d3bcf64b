/**
 * From event records to what the replay page shows: the events in one time order (clocks
 * aligned where the logs prove them wrong, see `clocks.ts`), and for each failure who detected it
 * and when (see `failures.ts`).
 */
import type { EventRecord } from "../log/event_line.ts";
import type { ReadProblem } from "../log/reader.ts";
import { addressOf, compareIds, hostOf } from "./_ids.ts";
import { alignClocks, type ClockCorrection } from "./clocks.ts";
import { type FailureSummary, summarizeFailures } from "./failures.ts";
import { Replay, type ReplayData } from "./replay.ts";

export type { ClockCorrection } from "./clocks.ts";
export { type FailureSummary, summarizeFailures } from "./failures.ts";

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
