/**
 * The explorer's plans (`explore.ts`): from a seed, a cluster (size, suspicion switch, loss, delay,
 * jitter, duplication) and a schedule of faults over one to three simulated minutes, drawn within
 * the limits the protocol is held to. What a run records for the checks is explore_record.ts.
 */
import { Random } from "../core/random.ts";
import type { NetworkOptions } from "./simulation.ts";

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

/** A crash is quiet when no other fault is within this either side. */
export const quietMs = 10_000;

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

export function overlaps(a0: number, a1: number, b0: number, b1: number): boolean {
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
