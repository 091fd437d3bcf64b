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
import type { Core } from "../core/core.ts";
import { Random } from "../core/random.ts";
import { type MemberEvent, memberId } from "../core/types.ts";
import { converged, disagreements } from "./checkers.ts";
import { type NetworkOptions, type SimNode, Simulation, SimulationError } from "./simulation.ts";

/** The kinds of fault a plan is drawn from. */
export type FaultKind =
  | "crash"
  | "crash-group"
  | "quiet-crash"
  | "leave"
  | "join"
  | "cut-one"
  | "cut-group"
  | "split"
  | "flap"
  | "deaf"
  | "mute"
  | "pause"
  | "slow"
  | "sleep"
  | "block"
  | "loss-burst"
  | "delay-spike"
  | "duplication"
  | "reorder";

/** One fault of a plan; times are from the start of the fault window. */
export interface Fault {
  readonly kind: FaultKind;
  readonly startMs: number;
  /** When it is over: the restart, the heal, the resume; `startMs` for one that ends at once. */
  readonly endMs: number;
  readonly nodes: readonly number[];
  /** For crashes and leaves: the process never comes back. */
  readonly permanent?: boolean;
  /** A network fault's value (loss rate, delay, duplicate rate, jitter); a slow node's run ms. */
  readonly value?: number;
  /** A slow node's stopped ms per cycle. */
  readonly stoppedMs?: number;
  /** A flapping link's cut and heal times, alternating, cut first. */
  readonly toggles?: readonly number[];
}

/** What a seed draws: the cluster, its settings, and the schedule of its faults. */
export interface Plan {
  readonly seed: number;
  /** Nodes started before the faults. */
  readonly nodes: number;
  /** Nodes that join during the fault window (indexes `nodes` and up). */
  readonly joiners: number;
  readonly suspicion: boolean;
  readonly network: NetworkOptions;
  /** The length of the fault window. */
  readonly windowMs: number;
  readonly faults: readonly Fault[];
}

/** A broken property, with what shows it. */
export interface Violation {
  readonly property: "P1" | "P2" | "P3" | "step";
  readonly message: string;
}

/** One FAIL or REMOVE a node logged, as the checks read it. */
export interface Logged {
  readonly kind: "FAIL" | "REMOVE";
  /** Virtual time (the simulator's clock, also for a node whose own clock stood still). */
  readonly atMs: number;
  readonly observer: number;
  readonly observerId: string;
  readonly member: string;
  /** The node index at the member's address. */
  readonly subject: number;
  /** True when the member's process was running as that version when it was logged. */
  readonly running: boolean;
}

/** A crash with no other fault within {@linkcode quietMs} either side, and who should see it. */
export interface QuietCrash {
  readonly member: string;
  readonly atMs: number;
  /** The members running throughout, as (index, id), that must list it as failed. */
  readonly observers: readonly (readonly [number, string])[];
}

/** What a run recorded: enough to check P1 and P3 again, or with an injected event. */
export interface RunRecord {
  readonly seed: number;
  readonly logged: Logged[];
  /** Node index -> intervals in which it was not connected to a majority (any fault of its own). */
  readonly impaired: Map<number, [number, number][]>;
  /** Blocked pairs, `a b` with a < b -> intervals. */
  readonly blocked: Map<string, [number, number][]>;
  readonly quietCrashes: QuietCrash[];
  /** Members that left on purpose: their failure is no false one. */
  readonly left: Set<string>;
}

/** The outcome of one seed. */
export interface ExploreResult {
  readonly seed: number;
  readonly plan: Plan;
  readonly violations: Violation[];
  /** Running nodes times simulated seconds, summed. */
  readonly nodeSeconds: number;
  readonly simulatedMs: number;
  /** A hash of every event of every node, in order: the same seed gives the same hash. */
  readonly eventHash: string;
  readonly events: number;
  /** FAIL events of running members P1 judged (most excused by a fault of either side). */
  readonly failsJudged: number;
  readonly quietCrashes: number;
  /** From the end of the last fault until every running member agreed; null if they never did. */
  readonly settledMs: number | null;
  readonly record: RunRecord;
}

/** What a run may be watched with. */
export interface ExploreOptions {
  /** Called for every event, with the virtual time (a slept node's own clock lags it). */
  readonly onEvent?: (node: SimNode, event: MemberEvent, nowMs: number) => void;
}

/** How long before a FAIL a fault of its member or its observer excuses it. */
export const lookbackMs = 30_000;
/** How long after the last fault all running members must agree. */
export const settleMs = 20_000;
/** A crash is quiet when no other fault is within this either side. */
export const quietMs = 10_000;
/** The detection bounds of a quiet crash: the first observer, and every observer. */
export const firstDetectedMaxMs = 3000;
export const allDetectedMaxMs = 6000;

const weights: readonly (readonly [FaultKind, number])[] = [
  ["crash", 10],
  ["crash-group", 3],
  ["leave", 4],
  ["join", 5],
  ["cut-one", 10],
  ["cut-group", 6],
  ["split", 1],
  ["flap", 4],
  ["deaf", 5],
  ["mute", 5],
  ["pause", 8],
  ["slow", 4],
  ["sleep", 2],
  ["block", 5],
  ["loss-burst", 5],
  ["delay-spike", 4],
  ["duplication", 3],
  ["reorder", 3],
];
const weightTotal = weights.reduce((sum, [, w]) => sum + w, 0);

/** Which lane a fault occupies: one partition at a time, one change of the network at a time. */
function lane(kind: FaultKind): "partition" | "network" | "node" {
  if (kind === "cut-one" || kind === "cut-group" || kind === "split" || kind === "flap") {
    return "partition";
  }
  if (
    kind === "loss-burst" || kind === "delay-spike" || kind === "duplication" || kind === "reorder"
  ) return "network";
  return "node";
}

/** A float in [low, high). */
function between(random: Random, low: number, high: number): number {
  return low + random.float() * (high - low);
}

/** Milliseconds, log-uniform in [low, high): short and long alike. */
function logBetween(random: Random, low: number, high: number): number {
  return Math.round(Math.exp(between(random, Math.log(low), Math.log(high))));
}

function pickKind(random: Random): FaultKind {
  let draw = random.below(weightTotal);
  for (const [kind, weight] of weights) {
    if (draw < weight) return kind;
    draw -= weight;
  }
  return "crash";
}

function overlaps(a0: number, a1: number, b0: number, b1: number): boolean {
  return a0 <= b1 && b0 <= a1;
}

/**
 * Draws a plan from a seed. Faults stay within what the protocol is meant to withstand: one
 * partition at a time, a group cut of at most a third and at least 3 s, at most a third of the
 * cluster under faults at once, one fault a node at a time; a 50/50 split is drawn now and then,
 * and P1 does not judge it, as neither side is a majority.
 */
export function drawPlan(seed: number): Plan {
  const random = new Random(seed ^ 0x0e_a1_0e);
  const nodes = 3 + random.below(58);
  const suspicion = random.chance(0.75);
  const network: NetworkOptions = {
    lossRate: random.chance(0.5) ? 0 : Math.round(between(random, 0.01, 0.1) * 1000) / 1000,
    delayMs: 1 + random.below(20),
    jitterMs: random.below(21),
    duplicateRate: random.chance(0.7) ? 0 : Math.round(between(random, 0.01, 0.05) * 1000) / 1000,
  };
  const windowMs = 60_000 + random.below(120_001);
  const faults: Fault[] = [];
  let joiners = 0;
  // At most a third of the cluster under faults at once, counting those ended for good as less.
  const permanentMax = nodes >= 5 ? Math.floor(nodes / 5) : 0;
  const cap = Math.max(1, Math.floor((nodes - permanentMax) / 3));
  let permanents = 0;
  /** Per node: intervals it is busy with a fault (with a margin), Infinity for good. */
  const busy = new Map<number, [number, number][]>();
  const quiet: number[] = [];
  const laneBusy = { partition: [] as [number, number][], network: [] as [number, number][] };

  const free = (node: number, s: number, e: number) =>
    (busy.get(node) ?? []).every(([b0, b1]) => !overlaps(s - 1000, e + 1000, b0, b1));
  const inQuiet = (s: number, e: number) =>
    quiet.some((q) => overlaps(s, e, q - quietMs, q + quietMs));
  const load = (s: number, e: number) => {
    let count = 0;
    for (const fault of faults) {
      const end = fault.permanent ? fault.startMs + 20_000 : fault.endMs;
      if (fault.kind === "split" || fault.kind === "join" || lane(fault.kind) === "network") {
        continue;
      }
      if (overlaps(s, e, fault.startMs, end)) count += fault.nodes.length;
    }
    return count;
  };
  const occupy = (node: number, s: number, e: number) => {
    const list = busy.get(node) ?? busy.set(node, []).get(node)!;
    list.push([s, e]);
  };
  const pickNodes = (count: number, s: number, e: number): number[] | undefined => {
    const candidates: number[] = [];
    for (let i = 0; i < nodes + joiners; i++) if (free(i, s, e)) candidates.push(i);
    if (candidates.length < count) return undefined;
    const chosen: number[] = [];
    for (let k = 0; k < count; k++) {
      chosen.push(candidates.splice(random.below(candidates.length), 1)[0]);
    }
    return chosen.sort((a, b) => a - b);
  };

  // Quiet crashes first: the stretches around them are kept free of every other fault.
  const quietCount = random.chance(0.6) ? (windowMs > 120_000 && random.chance(0.5) ? 2 : 1) : 0;
  for (let q = 0; q < quietCount; q++) {
    const at = 15_000 + random.below(windowMs - 30_000);
    if (quiet.some((other) => Math.abs(other - at) < 2 * quietMs + 5000)) continue;
    const permanent = permanents < permanentMax && random.chance(0.3);
    // Back before the next quiet stretch can begin (they are 25 s apart at least).
    const end = permanent ? at : at + quietMs + 1000 + random.below(3000);
    const chosen = pickNodes(1, at, permanent ? Infinity : end);
    if (chosen === undefined) continue;
    quiet.push(at);
    if (permanent) permanents++;
    occupy(chosen[0], at, permanent ? Infinity : end);
    faults.push({ kind: "quiet-crash", startMs: at, endMs: end, nodes: chosen, permanent });
  }

  const attempts = Math.round(windowMs / between(random, 4000, 12_000));
  for (let attempt = 0; attempt < attempts; attempt++) {
    const kind = pickKind(random);
    const s = random.below(windowMs - 2000);
    let e = s;
    let count = 1;
    let permanent = false;
    let value: number | undefined;
    let stoppedMs: number | undefined;
    let toggles: number[] | undefined;
    switch (kind) {
      case "crash":
      case "leave":
        permanent = permanents < permanentMax && random.chance(0.25);
        e = permanent ? s : s + (kind === "leave" ? 5000 : 1000) + random.below(30_000);
        break;
      case "crash-group":
        if (cap < 2) continue;
        count = 2 + random.below(cap - 1);
        e = s + 2000 + random.below(30_000);
        break;
      case "join":
        break;
      case "cut-one":
        e = s + logBetween(random, 1000, 90_000);
        break;
      case "cut-group":
        if (cap < 2) continue;
        count = 2 + random.below(cap - 1);
        e = s + 3000 + random.below(40_000);
        break;
      case "split":
        if (nodes < 4) continue;
        e = s + 5000 + random.below(25_000);
        break;
      case "flap": {
        e = s + 10_000 + random.below(30_000);
        toggles = [];
        for (let t = s; t < e; t += 500 + random.below(2501)) toggles.push(t);
        break;
      }
      case "deaf":
      case "mute":
      case "block":
        e = s + 3000 + random.below(40_000);
        count = kind === "block" ? 2 : 1;
        break;
      case "pause":
        e = s + (random.chance(0.5) ? 100 + random.below(1400) : 3000 + random.below(27_000));
        break;
      case "slow":
        e = s + 10_000 + random.below(50_000);
        value = 50 + random.below(151);
        stoppedMs = 200 + random.below(301);
        break;
      case "sleep":
        e = s + logBetween(random, 10_000, 180_000);
        break;
      case "loss-burst":
        value = Math.round(between(random, 0.1, 0.3) * 100) / 100;
        e = s + 2000 + random.below(13_000);
        break;
      case "delay-spike":
        value = 50 + random.below(251);
        e = s + 2000 + random.below(8000);
        break;
      case "duplication":
        value = Math.round(between(random, 0.05, 0.3) * 100) / 100;
        e = s + 5000 + random.below(15_000);
        break;
      case "reorder":
        value = 20 + random.below(181);
        e = s + 5000 + random.below(15_000);
        break;
    }
    if (inQuiet(s, e)) continue;
    const laneName = lane(kind);
    if (laneName !== "node") {
      const taken = laneBusy[laneName];
      if (taken.some(([b0, b1]) => overlaps(s - 1000, e + 1000, b0, b1))) continue;
    }
    let chosen: number[];
    if (kind === "join") {
      const index = nodes + joiners;
      joiners++;
      // A new node is down until it joins; it is kept out of faults until its join is answered.
      occupy(index, -Infinity, s + 5000);
      chosen = [index];
    } else if (kind === "split") {
      chosen = [];
    } else if (laneName === "network") {
      chosen = [];
    } else {
      if (load(s, e) + count > cap) continue;
      const picked = pickNodes(count, s, permanent ? Infinity : e);
      if (picked === undefined) continue;
      chosen = picked;
      for (const node of chosen) occupy(node, s, permanent ? Infinity : e);
    }
    if (laneName !== "node") laneBusy[laneName].push([s, e]);
    if (permanent) permanents++;
    faults.push({
      kind,
      startMs: s,
      endMs: e,
      nodes: chosen,
      ...(permanent ? { permanent } : {}),
      ...(value === undefined ? {} : { value }),
      ...(stoppedMs === undefined ? {} : { stoppedMs }),
      ...(toggles === undefined ? {} : { toggles }),
    });
  }
  faults.sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs);
  return { seed, nodes, joiners, suspicion, network, windowMs, faults };
}

/** One line per fault, for a replayed seed's report. */
export function describePlan(plan: Plan): string[] {
  const net = plan.network;
  const lines = [
    `${plan.nodes} nodes (+${plan.joiners} joining), suspicion ${
      plan.suspicion ? "on" : "off"
    }, loss ${net.lossRate}, delay ${net.delayMs} ms, jitter ${net.jitterMs} ms, duplication ${net.duplicateRate}, faults over ${
      (plan.windowMs / 1000).toFixed(1)
    } s`,
  ];
  for (const fault of plan.faults) {
    const s = (fault.startMs / 1000).toFixed(1);
    const e = (fault.endMs / 1000).toFixed(1);
    const span = fault.permanent ? `at ${s} s, for good` : `${s} s to ${e} s`;
    const on = fault.nodes.length > 0 ? ` nodes ${fault.nodes.join(",")}` : "";
    const value = fault.value === undefined ? "" : ` value ${fault.value}`;
    lines.push(`  ${fault.kind}${on}: ${span}${value}`);
  }
  return lines;
}

/** Core methods handed the time: a slept machine's clock is shifted back by its sleep. */
const timedMethods = new Set([
  "tick",
  "receive",
  "acceptProbe",
  "applyProbeAck",
  "applyProbeRefused",
  "acceptJoin",
  "applyJoinResponse",
  "leave",
  "setSuspicion",
  "acceptSync",
  "applySync",
]);

/**
 * A core seen through a clock that stood still while its machine slept: its time runs behind the
 * simulator's by `stood.ms`, as a suspended machine's monotonic clock does.
 */
function sleepingCore(core: Core, stood: { ms: number }): Core {
  return new Proxy(core, {
    get(target, prop) {
      if (prop === "nextWakeMs") return () => target.nextWakeMs() + stood.ms;
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      const f = value as (...a: unknown[]) => unknown;
      if (!timedMethods.has(prop as string)) return f.bind(target);
      // applySync's asking time was read from the same clock as its now.
      return prop === "applySync"
        ? (now: number, r: unknown, from: unknown, asked: number) =>
          f.call(target, now - stood.ms, r, from, asked - stood.ms)
        : (now: number, ...rest: unknown[]) => f.call(target, now - stood.ms, ...rest);
    },
  });
}

/** The faults each node is under now, and since when each was free of them. */
class Tracker {
  readonly impaired = new Map<number, [number, number][]>();
  readonly blocked = new Map<string, [number, number][]>();
  readonly #reasons = new Map<number, Map<string, number>>();

  begin(node: number, reason: string, nowMs: number): void {
    const reasons = this.#reasons.get(node) ?? this.#reasons.set(node, new Map()).get(node)!;
    const was = [...reasons.values()].some((n) => n > 0);
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    if (!was) {
      const list = this.impaired.get(node) ?? this.impaired.set(node, []).get(node)!;
      list.push([nowMs, Infinity]);
    }
  }

  end(node: number, reason: string, nowMs: number): void {
    const reasons = this.#reasons.get(node);
    const count = reasons?.get(reason) ?? 0;
    if (count === 0) return;
    reasons!.set(reason, count - 1);
    if ([...reasons!.values()].some((n) => n > 0)) return;
    const list = this.impaired.get(node)!;
    list[list.length - 1][1] = nowMs;
  }

  has(node: number, reason: string): boolean {
    return (this.#reasons.get(node)?.get(reason) ?? 0) > 0;
  }

  isImpaired(node: number): boolean {
    const reasons = this.#reasons.get(node);
    return reasons !== undefined && [...reasons.values()].some((n) => n > 0);
  }

  block(a: number, b: number, nowMs: number): void {
    const key = pairName(a, b);
    const list = this.blocked.get(key) ?? this.blocked.set(key, []).get(key)!;
    list.push([nowMs, Infinity]);
  }

  unblock(a: number, b: number, nowMs: number): void {
    const list = this.blocked.get(pairName(a, b));
    if (list !== undefined) list[list.length - 1][1] = nowMs;
  }
}

function pairName(a: number, b: number): string {
  return a < b ? `${a} ${b}` : `${b} ${a}`;
}

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
  const record: RunRecord = {
    seed,
    logged: [],
    impaired: tracker.impaired,
    blocked: tracker.blocked,
    quietCrashes: [],
    left: new Set(),
  };
  const hash = new EventHash();
  let events = 0;
  const byAddress = new Map<string, number>();
  // The events read the clock of the simulation they come from: it exists by the first one.
  const sim: Simulation = new Simulation({
    seed,
    suspicion: plan.suspicion,
    network: plan.network,
    onEvent: (node, event) => {
      const nowMs = sim.nowMs;
      events++;
      hash.add(
        `${nowMs} ${node.index} ${event.kind} ${event.address} ${event.version} ${event.incarnation} ${event.via}\n`,
      );
      if (event.kind === "FAIL" || event.kind === "REMOVE") {
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
      const agreed = runWhile(() => converged(sim), settleMs);
      if (agreed) settledMs = sim.nowMs - faultsEndMs;
      else {
        violations.push({
          property: "P2",
          message: `running members still disagree ${settleMs / 1000} s after the last fault: ${
            disagreements(sim, 3).join("; ")
          }`,
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

/**
 * Puts a plan's faults on the simulation's agenda from `t0`; returns when the last is over,
 * relative to `t0`. Each action also tells the tracker which nodes it puts under a fault.
 */
function schedule(
  sim: Simulation,
  plan: Plan,
  t0: number,
  tracker: Tracker,
  random: Random,
  record: RunRecord,
): number {
  const every = sim.nodes.map((node) => node.index);
  // A contact for a (re)join: a running member under no fault, drawn at the time of the join.
  const contact = (self: number): number | undefined => {
    const ok = sim.nodes.filter((n) =>
      n.index !== self && n.state === "up" && n.joined && !tracker.isImpaired(n.index)
    );
    const any = ok.length > 0
      ? ok
      : sim.nodes.filter((n) => n.index !== self && n.state === "up" && n.joined);
    return any.length === 0 ? undefined : any[random.below(any.length)].index;
  };
  const startNode = (i: number) => {
    if (sim.node(i).state !== "down") return;
    const via = contact(i);
    if (via !== undefined) sim.start(i, via);
  };
  /** Marks the members that are not in a majority of the running ones, after every change. */
  const majority = () => {
    const counts = new Map<number, number>();
    let running = 0;
    for (const node of sim.nodes) {
      if (node.state === "down") continue;
      running++;
      counts.set(node.group, (counts.get(node.group) ?? 0) + 1);
    }
    for (const node of sim.nodes) {
      const minority = node.state !== "down" && (counts.get(node.group) ?? 0) * 2 <= running;
      if (minority && !tracker.has(node.index, "minority")) {
        tracker.begin(node.index, "minority", sim.nowMs);
      } else if (!minority && tracker.has(node.index, "minority")) {
        tracker.end(node.index, "minority", sim.nowMs);
      }
    }
  };
  const at = (ms: number, run: () => void) =>
    sim.at(t0 + ms, () => {
      run();
      majority();
    });
  const begin = (nodes: readonly number[], reason: string) => {
    for (const i of nodes) tracker.begin(i, reason, sim.nowMs);
  };
  const end = (nodes: readonly number[], reason: string) => {
    for (const i of nodes) tracker.end(i, reason, sim.nowMs);
  };
  const cut = (nodes: readonly number[]) => {
    const inside = new Set(nodes);
    sim.partition([every.filter((i) => !inside.has(i)), [...nodes]]);
  };
  const restoreNetwork = (kind: FaultKind) => {
    const base = plan.network;
    if (kind === "loss-burst") sim.setNetwork({ lossRate: base.lossRate });
    if (kind === "delay-spike") sim.setNetwork({ delayMs: base.delayMs });
    if (kind === "duplication") sim.setNetwork({ duplicateRate: base.duplicateRate });
    if (kind === "reorder") sim.setNetwork({ jitterMs: base.jitterMs });
  };
  let lastMs = 0;
  for (const fault of plan.faults) {
    const { kind, startMs: s, endMs: e, nodes } = fault;
    lastMs = Math.max(lastMs, e);
    const reason = kind;
    switch (kind) {
      case "crash":
      case "crash-group":
      case "quiet-crash":
        at(s, () => {
          if (kind === "quiet-crash") {
            const i = nodes[0];
            const member = sim.node(i).id;
            if (member !== undefined && sim.node(i).state === "up") {
              const observers = sim.nodes
                .filter((n) => n.index !== i && n.state === "up" && n.joined)
                .map((n) => [n.index, n.id!] as const);
              const crash: QuietCrash = { member, atMs: sim.nowMs, observers };
              // Who still runs as the same version once the bound is over is who must have seen it.
              sim.at(sim.nowMs + allDetectedMaxMs, () => {
                record.quietCrashes.push({
                  ...crash,
                  observers: crash.observers.filter(([k, id]) =>
                    sim.node(k).id === id && sim.node(k).state === "up"
                  ),
                });
              });
            }
          }
          begin(nodes, reason);
          for (const i of nodes) sim.crash(i);
        });
        if (!fault.permanent) {
          at(e, () => {
            end(nodes, reason);
            for (const i of nodes) startNode(i);
          });
        }
        break;
      case "leave":
        at(s, () => {
          begin(nodes, reason);
          const id = sim.node(nodes[0]).id;
          if (id !== undefined) record.left.add(id);
          sim.leave(nodes[0]);
        });
        if (!fault.permanent) {
          at(e, () => {
            end(nodes, reason);
            startNode(nodes[0]);
          });
        }
        break;
      case "join":
        at(s, () => startNode(nodes[0]));
        break;
      case "cut-one":
      case "cut-group":
        at(s, () => {
          begin(nodes, reason);
          // Crashes meanwhile may have made the group more than a third of the running members:
          // beyond what the protocol is meant to withstand, so no member is judged meanwhile.
          const running = every.filter((i) => sim.node(i).state !== "down").length;
          if (nodes.length * 3 > running) begin(every, "beyond");
          cut(nodes);
        });
        at(e, () => {
          sim.heal();
          end(nodes, reason);
          end(every, "beyond");
        });
        break;
      case "split":
        at(s, () => {
          // Neither side is a majority: every member is under the fault.
          const running = every.filter((i) => sim.node(i).state !== "down");
          const half = new Set<number>();
          while (half.size < Math.floor(running.length / 2)) {
            half.add(running[random.below(running.length)]);
          }
          begin(every, reason);
          cut([...half]);
        });
        at(e, () => {
          sim.heal();
          end(every, reason);
        });
        break;
      case "flap": {
        const toggles = fault.toggles ?? [];
        at(s, () => begin(nodes, reason));
        toggles.forEach((t, k) => at(t, () => k % 2 === 0 ? cut(nodes) : sim.heal()));
        at(e, () => {
          sim.heal();
          end(nodes, reason);
        });
        break;
      }
      case "deaf":
      case "mute": {
        const direction = kind === "deaf" ? "in" : "out";
        at(s, () => {
          begin(nodes, reason);
          sim.setDropRate(nodes[0], 1, direction);
        });
        at(e, () => {
          sim.setDropRate(nodes[0], 0, direction);
          end(nodes, reason);
        });
        break;
      }
      case "pause":
        at(s, () => {
          begin(nodes, reason);
          sim.pause(nodes[0]);
        });
        at(e, () => {
          sim.resume(nodes[0]);
          end(nodes, reason);
        });
        break;
      case "slow": {
        const runMs = fault.value ?? 100;
        const stoppedMs = fault.stoppedMs ?? 300;
        at(s, () => begin(nodes, reason));
        for (let t = s; t < e; t += runMs + stoppedMs) {
          at(t, () => sim.pause(nodes[0]));
          at(Math.min(e, t + stoppedMs), () => sim.resume(nodes[0]));
        }
        at(e, () => {
          sim.resume(nodes[0]);
          end(nodes, reason);
        });
        break;
      }
      case "sleep": {
        const stood = { ms: 0 };
        let sleptAt = 0;
        at(s, () => {
          const node = sim.node(nodes[0]);
          if (node.state !== "up") return;
          begin(nodes, reason);
          node.core = sleepingCore(node.core!, stood);
          sleptAt = sim.nowMs;
          sim.pause(nodes[0]);
        });
        at(e, () => {
          const node = sim.node(nodes[0]);
          if (!tracker.has(nodes[0], reason)) return;
          // The machine's monotonic clock stood still for the whole sleep.
          stood.ms = sim.nowMs - sleptAt;
          if (node.state === "paused") sim.resume(nodes[0]);
          end(nodes, reason);
        });
        break;
      }
      case "block":
        at(s, () => {
          tracker.block(nodes[0], nodes[1], sim.nowMs);
          sim.block(nodes[0], nodes[1]);
        });
        at(e, () => {
          sim.unblock(nodes[0], nodes[1]);
          tracker.unblock(nodes[0], nodes[1], sim.nowMs);
        });
        break;
      case "loss-burst":
        at(s, () => sim.setNetwork({ lossRate: fault.value }));
        at(e, () => restoreNetwork(kind));
        break;
      case "delay-spike":
        at(s, () => sim.setNetwork({ delayMs: fault.value }));
        at(e, () => restoreNetwork(kind));
        break;
      case "duplication":
        at(s, () => sim.setNetwork({ duplicateRate: fault.value }));
        at(e, () => restoreNetwork(kind));
        break;
      case "reorder":
        at(s, () => sim.setNetwork({ jitterMs: fault.value }));
        at(e, () => restoreNetwork(kind));
        break;
    }
  }
  return lastMs;
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
  const replay = `(seed ${record.seed}: member sim --explore --seed ${record.seed})`;
  for (const entry of record.logged) {
    if (entry.kind !== "FAIL" || !entry.running || record.left.has(entry.member)) continue;
    failsJudged++;
    const from = entry.atMs - lookbackMs;
    if (
      impairedDuring(record.impaired.get(entry.subject), from, entry.atMs) ||
      impairedDuring(record.impaired.get(entry.observer), from, entry.atMs) ||
      impairedDuring(record.blocked.get(pairName(entry.subject, entry.observer)), from, entry.atMs)
    ) continue;
    violations.push({
      property: "P1",
      message: `${entry.observerId} logged FAIL of ${entry.member} at ${
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
    const result = explore(seed);
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
