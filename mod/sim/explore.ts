/**
 * `member sim --explore`: faults explored by seed, in the manner of TigerBeetle's VOPR and
 * FoundationDB's simulation. From each seed it draws a cluster (size, suspicion switch, loss, delay,
 * jitter, duplication) and a schedule of faults over one to three simulated minutes, runs it with
 * the step checkers every run has, and then checks from its own knowledge of the schedule:
 *
 * - P1: a member that stayed connected to a majority of the running members is never logged FAIL
 *   by a member that stayed connected to it;
 * - P2: once the last fault is over, all running members agree within the settle time;
 * - P3: a crash in a quiet stretch (no other fault within 10 s either side) is listed as failed by
 *   every running member within 6 s, by the first within 3 s.
 *
 * The simulator has no keys (datagrams are handed over as objects, never sealed), so whether a
 * cluster has a key is not drawn. Everything here is a function of the seed: the same seed draws
 * the same plan and gives the same run, event for event.
 */
import { Random } from "../core/random.ts";
import { memberId } from "../core/types.ts";
import { converged, disagreements } from "./checkers.ts";
import { Simulation, SimulationError } from "./simulation.ts";
import { drawPlan, overlaps, quietMs } from "./explore_plan.ts";
import {
  boundsFor,
  type ExploreOptions,
  type ExploreResult,
  lookbackMs,
  type RunRecord,
  type Violation,
} from "./explore_record.ts";
import { pairName, schedule, Tracker } from "./explore_faults.ts";

export * from "./explore_plan.ts";
export * from "./explore_record.ts";

/** Two 32-bit halves of a running hash of every event, as hex. */
class EventHash {
  #h1 = 0xdeadbeef;
  #h2 = 0x41c6ce57;

  add(text: string): void {
    let h1 = this.#h1;
    let h2 = this.#h2;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 2654435761);
      h2 = Math.imul(h2 ^ c, 1597334677);
    }
    this.#h1 = h1;
    this.#h2 = h2;
  }

  hex(): string {
    const h1 = Math.imul(this.#h1 ^ (this.#h1 >>> 16), 2246822507) ^
      Math.imul(this.#h2 ^ (this.#h2 >>> 13), 3266489909);
    const h2 = Math.imul(this.#h2 ^ (this.#h2 >>> 16), 2246822507) ^
      Math.imul(this.#h1 ^ (this.#h1 >>> 13), 3266489909);
    return (h1 >>> 0).toString(16).padStart(8, "0") + (h2 >>> 0).toString(16).padStart(8, "0");
  }
}

/** Runs one seed: draws its plan, runs it, and checks the properties. */
export function explore(seed: number, options: ExploreOptions = {}): ExploreResult {
  const plan = drawPlan(seed);
  const random = new Random(seed ^ 0x5c_4e_d0);
  const tracker = new Tracker();
  const bounds = boundsFor(options.config);
  const record: RunRecord = {
    seed,
    logged: [],
    impaired: tracker.impaired,
    blocked: tracker.blocked,
    quietCrashes: [],
    left: new Set(),
    bounds,
    ...(options.settingsFlags === undefined ? {} : { settingsFlags: options.settingsFlags }),
  };
  const hash = new EventHash();
  let events = 0;
  const byAddress = new Map<string, number>();
  // The events read the clock of the simulation they come from: it exists by the first one.
  const sim: Simulation = new Simulation({
    seed,
    suspicion: plan.suspicion,
    network: plan.network,
    ...(options.config === undefined ? {} : { config: options.config }),
    onEvent: (node, event) => {
      const nowMs = sim.nowMs;
      events++;
      hash.add(
        `${nowMs} ${node.index} ${event.kind} ${event.address} ${event.version} ${event.incarnation} ${event.via}\n`,
      );
      if (
        event.kind === "REMOVE" && event.address === node.address && event.via === "gossip" &&
        event.from !== undefined
      ) {
        const teller = sim.nodes[byAddress.get(event.from) ?? -1];
        if (teller?.id !== undefined) {
          record.logged.push({
            kind: "RESTART",
            atMs: nowMs,
            observer: teller.index,
            observerId: teller.id,
            member: memberId(event.address, event.version),
            subject: node.index,
            running: true,
          });
        }
      } else if (event.kind === "FAIL" || event.kind === "REMOVE") {
        const subject = byAddress.get(event.address) ?? -1;
        const member = memberId(event.address, event.version);
        const at = sim.nodes[subject];
        record.logged.push({
          kind: event.kind,
          atMs: nowMs,
          observer: node.index,
          observerId: node.id!,
          member,
          subject,
          running: at !== undefined && at.state !== "down" && at.id === member,
        });
      }
      options.onEvent?.(node, event, nowMs);
    },
  });
  const violations: Violation[] = [];
  const total = plan.nodes + plan.joiners;
  sim.addNodes(total);
  for (const node of sim.nodes) byAddress.set(node.address, node.index);
  let nodeMs = 0;
  const runTo = (untilMs: number) => {
    while (sim.nowMs < untilMs) {
      const from = sim.nowMs;
      const running = sim.nodes.reduce((n, node) => n + (node.state === "down" ? 0 : 1), 0);
      sim.runUntilTime(Math.min(untilMs, from + 1000));
      nodeMs += running * (sim.nowMs - from);
    }
  };
  const runWhile = (done: () => boolean, limitMs: number): boolean => {
    const limit = sim.nowMs + limitMs;
    while (!done()) {
      if (sim.nowMs >= limit) return false;
      runTo(Math.min(limit, sim.nowMs + 100));
    }
    return true;
  };

  let settledMs: number | null = null;
  let faultsEndMs = 0;
  try {
    sim.start(0);
    for (let i = 1; i < plan.nodes; i++) sim.at(i * 5, () => sim.start(i, 0));
    runTo(plan.nodes * 5 + 1);
    if (!runWhile(() => converged(sim), 60_000)) {
      violations.push({
        property: "P2",
        message: `the cluster did not converge before the faults: ${disagreements(sim, 3)}`,
      });
    } else {
      const t0 = sim.nowMs + 1000;
      faultsEndMs = t0 + schedule(sim, plan, t0, tracker, random, record);
      runTo(faultsEndMs);
      const agreed = runWhile(() => converged(sim), bounds.settleMs);
      if (agreed) settledMs = sim.nowMs - faultsEndMs;
      else {
        violations.push({
          property: "P2",
          message: `running members still disagree ${
            bounds.settleMs / 1000
          } s after the last fault: ${disagreements(sim, 3).join("; ")}`,
        });
      }
    }
  } catch (error) {
    if (!(error instanceof SimulationError)) throw error;
    violations.push({ property: "step", message: error.message.split("\n")[0] });
  }
  const checked = checkRecord(record);
  violations.push(...checked.violations);
  return {
    seed,
    plan,
    violations,
    nodeSeconds: nodeMs / 1000,
    simulatedMs: sim.nowMs,
    eventHash: hash.hex(),
    events,
    failsJudged: checked.failsJudged,
    quietCrashes: record.quietCrashes.length,
    settledMs,
    record,
  };
}

function impairedDuring(
  intervals: readonly [number, number][] | undefined,
  fromMs: number,
  toMs: number,
): boolean {
  return intervals !== undefined && intervals.some(([a, b]) => overlaps(fromMs, toMs, a, b));
}

/**
 * Checks P1 and P3 over what a run recorded. Pure: a test can hand it a record with an event
 * added, and see the break reported with the seed.
 */
export function checkRecord(record: RunRecord): { violations: Violation[]; failsJudged: number } {
  const violations: Violation[] = [];
  let failsJudged = 0;
  const { allDetectedMaxMs, firstDetectedMaxMs } = record.bounds ?? boundsFor();
  const flags = record.settingsFlags === undefined ? "" : ` ${record.settingsFlags}`;
  const replay = `(seed ${record.seed}: member sim --explore --seed ${record.seed}${flags})`;
  // A member told late that it failed (it ran on as a ghost) is judged from its first FAIL.
  const firstFailMs = new Map<string, number>();
  for (const entry of record.logged) {
    if (entry.kind === "FAIL" && !firstFailMs.has(entry.member)) {
      firstFailMs.set(entry.member, entry.atMs);
    }
  }
  for (const entry of record.logged) {
    if (entry.kind === "REMOVE" || !entry.running || record.left.has(entry.member)) continue;
    failsJudged++;
    const from = (entry.kind === "RESTART"
      ? Math.min(entry.atMs, firstFailMs.get(entry.member) ?? Infinity)
      : entry.atMs) - lookbackMs;
    if (
      impairedDuring(record.impaired.get(entry.subject), from, entry.atMs) ||
      // Told that it failed, a connected member may not believe a teller of a cut's smaller side.
      (entry.kind === "FAIL" &&
        impairedDuring(record.impaired.get(entry.observer), from, entry.atMs)) ||
      impairedDuring(record.blocked.get(pairName(entry.subject, entry.observer)), from, entry.atMs)
    ) {
      continue;
    }
    violations.push({
      property: "P1",
      message: `${entry.observerId} ${
        entry.kind === "FAIL" ? `logged FAIL of ${entry.member}` : `told ${entry.member} it failed`
      } at ${
        (entry.atMs / 1000).toFixed(3)
      } s, both connected to the majority and to each other for the ${
        lookbackMs / 1000
      } s before ${replay}`,
    });
  }
  for (const crash of record.quietCrashes) {
    const seen = new Map<number, number>();
    for (const entry of record.logged) {
      if (entry.member !== crash.member || entry.atMs < crash.atMs) continue;
      if (!crash.observers.some(([k, id]) => k === entry.observer && id === entry.observerId)) {
        continue;
      }
      if (!seen.has(entry.observer)) seen.set(entry.observer, entry.atMs - crash.atMs);
    }
    const missed = crash.observers.filter(([k]) => (seen.get(k) ?? Infinity) > allDetectedMaxMs);
    const first = Math.min(...crash.observers.map(([k]) => seen.get(k) ?? Infinity));
    if (missed.length > 0) {
      violations.push({
        property: "P3",
        message:
          `${missed.length} of ${crash.observers.length} members did not list ${crash.member} (crashed at ${
            (crash.atMs / 1000).toFixed(3)
          } s, nothing else within ${quietMs / 1000} s) as failed within ${
            allDetectedMaxMs / 1000
          } s, e.g. ${missed[0][1]} ${replay}`,
      });
    } else if (crash.observers.length > 0 && first > firstDetectedMaxMs) {
      violations.push({
        property: "P3",
        message: `${crash.member} (crashed at ${
          (crash.atMs / 1000).toFixed(3)
        } s) was first listed as failed after ${(first / 1000).toFixed(3)} s ${replay}`,
      });
    }
  }
  return { violations, failsJudged };
}

/** The summary of many seeds. */
export interface ExploreSummary {
  readonly firstSeed: number;
  readonly seeds: number;
  readonly failed: { readonly seed: number; readonly violations: Violation[] }[];
  readonly nodeSeconds: number;
  readonly simulatedMs: number;
  readonly failsJudged: number;
  readonly quietCrashes: number;
  readonly faults: Record<string, number>;
}

/**
 * Runs seeds `firstSeed`, `firstSeed + 1`, ... until `more` says stop (it is asked before each,
 * with the count run so far): the caller owns the budget, in seeds or in wall time.
 */
export function exploreMany(
  firstSeed: number,
  more: (done: number) => boolean,
  onResult?: (result: ExploreResult) => void,
  options: ExploreOptions = {},
): ExploreSummary {
  const failed: { seed: number; violations: Violation[] }[] = [];
  const faults: Record<string, number> = {};
  let seeds = 0;
  let nodeSeconds = 0;
  let simulatedMs = 0;
  let failsJudged = 0;
  let quietCrashes = 0;
  while (more(seeds)) {
    const seed = firstSeed + seeds;
    const result = explore(seed, options);
    seeds++;
    nodeSeconds += result.nodeSeconds;
    simulatedMs += result.simulatedMs;
    failsJudged += result.failsJudged;
    quietCrashes += result.quietCrashes;
    for (const fault of result.plan.faults) faults[fault.kind] = (faults[fault.kind] ?? 0) + 1;
    if (result.violations.length > 0) failed.push({ seed, violations: result.violations });
    onResult?.(result);
  }
  return {
    firstSeed,
    seeds,
    failed,
    nodeSeconds,
    simulatedMs,
    failsJudged,
    quietCrashes,
    faults,
  };
}
