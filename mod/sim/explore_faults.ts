/**
 * Putting an explorer plan's faults on a simulation's agenda (`explore.ts`), and keeping track of
 * which nodes each fault touches and when, for the checks.
 */
import type { Core } from "../core/core.ts";
import type { Random } from "../core/random.ts";
import type { Simulation } from "./simulation.ts";
import type { FaultKind, Plan } from "./explore_plan.ts";
import { allDetectedMaxMs, type QuietCrash, type RunRecord } from "./explore_record.ts";

/** Core methods handed the time: a slept machine's clock is shifted back by its sleep. */
const timedMethods = new Set([
  "tick",
  "receive",
  "acceptProbe",
  "relayProbe",
  "answerRelay",
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
export function sleepingCore(core: Core, stood: { ms: number }): Core {
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
export class Tracker {
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

export function pairName(a: number, b: number): string {
  return a < b ? `${a} ${b}` : `${b} ${a}`;
}

/**
 * Puts a plan's faults on the simulation's agenda from `t0`; returns when the last is over,
 * relative to `t0`. Each action also tells the tracker which nodes it puts under a fault.
 */
export function schedule(
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
