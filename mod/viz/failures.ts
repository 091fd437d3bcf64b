/**
 * Every failure in a run as the logs show it: who detected it and when, which nodes were running
 * and so should have, and whether it was a false positive (the member was running after it was
 * listed as failed).
 */
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
