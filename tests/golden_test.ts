/**
 * Golden traces: every node's outputs (events, and every datagram, request and answer as the wire
 * encodes it) in fixed simulated scenarios, hashed per node and compared with the hashes committed
 * in `tests/golden/traces.json`. A refactor keeps them byte for byte; a change of behaviour
 * updates them on purpose, in its own commit that says why:
 *
 *   GOLDEN_UPDATE=1 deno test --allow-read --allow-write tests/golden_test.ts
 */
import assert from "node:assert/strict";
import { createHash, type Hash } from "node:crypto";
import { Random } from "../mod/core/random.ts";
import type { MemberEvent } from "../mod/core/types.ts";
import { type SimOutput, Simulation, type SimulationOptions } from "../mod/sim/simulation.ts";
import { encodeMessage } from "../mod/wire/codec.ts";
import { runUntilConverged, startCluster } from "./_sim.ts";

const goldenPath = new URL("./golden/traces.json", import.meta.url);

/** Per scenario: per node index, the first 16 hex digits of its trace's SHA-256, and its length. */
type Traces = Record<string, Record<string, string>>;

/** A fixed field order, so that the hash depends on what an event says, not how it was built. */
function eventLine(event: MemberEvent): string {
  return [
    event.kind,
    event.atMs,
    event.address,
    event.version,
    event.incarnation,
    event.via,
    event.from ?? "",
    event.suspicion ?? "",
  ].join(" ");
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function outputLine(output: SimOutput): string {
  switch (output.kind) {
    case "datagram":
      return `D ${output.datagram.to} ${output.datagram.bytes} ${
        hex(encodeMessage(output.datagram.message))
      }`;
    case "request":
      return `Q ${output.to} ${hex(encodeMessage(output.request))}`;
    case "answer":
      return `A ${output.to} ${hex(encodeMessage(output.response))}`;
    case "event":
      return `E ${eventLine(output.event)}`;
  }
}

/** Runs `scenario` and returns each node's trace hash. */
function trace(
  options: SimulationOptions,
  scenario: (sim: Simulation) => void,
): Record<string, string> {
  const hashes = new Map<number, { hash: Hash; lines: number }>();
  const sim = new Simulation({
    ...options,
    onOutput: (node, output) => {
      let h = hashes.get(node.index);
      if (h === undefined) hashes.set(node.index, h = { hash: createHash("sha256"), lines: 0 });
      h.hash.update(`${sim.nowMs} ${outputLine(output)}\n`);
      h.lines++;
    },
  });
  scenario(sim);
  const result: Record<string, string> = {};
  for (const [index, h] of [...hashes].sort((a, b) => a[0] - b[0])) {
    result[String(index)] = `${h.hash.digest("hex").slice(0, 16)}/${h.lines}`;
  }
  return result;
}

/** The scenarios of the simulation tests, at their seeds, shortened where the trace is the same. */
const scenarios: Record<string, () => Record<string, string>> = {};

for (const seed of [1, 2, 3]) {
  scenarios[`one crash, 10 nodes, seed ${seed}`] = () =>
    trace({ seed }, (sim) => {
      startCluster(sim, 10);
      runUntilConverged(sim);
      sim.crash(4);
      sim.runFor(10_000);
    });
  scenarios[`five crashes at 10% loss, 10 nodes, seed ${seed}`] = () =>
    trace({ seed, network: { lossRate: 0.1 } }, (sim) => {
      startCluster(sim, 10);
      runUntilConverged(sim);
      for (const i of [2, 4, 5, 7, 9]) sim.crash(i);
      sim.runFor(10_000);
    });
}

scenarios["a leave and a join again, seed 11"] = () =>
  trace({ seed: 11, network: { lossRate: 0.1 } }, (sim) => {
    startCluster(sim, 10);
    runUntilConverged(sim);
    sim.leave(6);
    sim.runFor(3000);
    sim.start(6, 0);
    sim.runFor(10_000);
  });

scenarios["a restart after 8 s, seed 2"] = () =>
  trace({ seed: 2 }, (sim) => {
    startCluster(sim, 10);
    runUntilConverged(sim);
    sim.crash(5);
    sim.runFor(8000);
    sim.start(5, 0);
    sim.runFor(40_000);
  });

scenarios["a partition of 10 that heals, seed 3"] = () =>
  trace({ seed: 3 }, (sim) => {
    startCluster(sim, 10);
    runUntilConverged(sim);
    sim.partition([[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]);
    sim.runFor(15_000);
    sim.heal();
    sim.runFor(30_000);
  });

scenarios["a partition of 10 longer than a tombstone, seed 1"] = () =>
  trace({ seed: 1 }, (sim) => {
    startCluster(sim, 10);
    runUntilConverged(sim);
    sim.partition([[0, 1, 2, 3, 4, 5, 6], [7, 8, 9]]);
    sim.runFor(12 * 60_000);
    sim.heal();
    sim.runFor(60_000);
  });

scenarios["the suspicion switch, seed 21"] = () =>
  trace({ seed: 21 }, (sim) => {
    startCluster(sim, 10);
    runUntilConverged(sim);
    sim.setSuspicion(6, false);
    sim.runFor(2000);
    sim.crash(2);
    sim.runFor(10_000);
    sim.setSuspicion(3, true);
    sim.runFor(2000);
    sim.crash(8);
    sim.runFor(10_000);
  });

scenarios["30% loss for 2 minutes, seed 30"] = () =>
  trace({ seed: 30, network: { lossRate: 0.3 } }, (sim) => {
    startCluster(sim, 10);
    runUntilConverged(sim);
    sim.runFor(120_000);
  });

for (const suspicion of [false, true]) {
  scenarios[`cut links and crashes, suspicion ${suspicion ? "on" : "off"}, seed 5`] = () =>
    trace({ seed: 5, suspicion, network: { lossRate: 0.05 } }, (sim) => {
      const nodes = 40;
      const random = new Random(11);
      for (let a = 1; a < nodes; a++) {
        for (let b = a + 1; b < nodes; b++) if (random.chance(0.05)) sim.block(a, b);
      }
      startCluster(sim, nodes);
      runUntilConverged(sim);
      for (let round = 0; round < 8; round++) {
        const up = sim.upNodes().map((n) => n.index).filter((i) => i !== 0);
        sim.crash(up[random.below(up.length)]);
        sim.runFor(5000);
      }
    });
}

scenarios["duplication and reordering, seed 41"] = () =>
  trace({ seed: 41, network: { duplicateRate: 0.3, jitterMs: 40, lossRate: 0.05 } }, (sim) => {
    startCluster(sim, 10);
    runUntilConverged(sim);
    sim.crash(4);
    sim.runFor(20_000);
  });

scenarios["pauses short and past the fail timeout, seed 51"] = () =>
  trace({ seed: 51 }, (sim) => {
    startCluster(sim, 10);
    runUntilConverged(sim);
    sim.pause(3);
    sim.runFor(500);
    sim.resume(3);
    sim.runFor(5000);
    sim.pause(3);
    sim.runFor(10_000);
    sim.resume(3);
    sim.runFor(20_000);
  });

scenarios["a node that hears no datagram, seed 7"] = () =>
  trace({ seed: 7 }, (sim) => {
    startCluster(sim, 10);
    runUntilConverged(sim);
    sim.setDropRate(3, 1);
    sim.runFor(10_000);
    sim.crash(6);
    sim.runFor(10_000);
  });

scenarios["a rolling restart at 30% loss, 30 nodes, seed 1"] = () =>
  trace({ seed: 1 }, (sim) => {
    const nodes = 30;
    startCluster(sim, nodes);
    runUntilConverged(sim);
    sim.setNetwork({ lossRate: 0.3 });
    const random = new Random(1);
    for (let k = 0; k < nodes; k++) {
      const index = 1 + random.below(nodes - 1);
      const contact = (index + 1 + random.below(nodes - 1)) % nodes;
      sim.restart(index, contact);
      sim.runFor(700);
    }
    sim.setNetwork({ lossRate: 0 });
    sim.runFor(30_000);
  });

scenarios["200 joins, 20 crash at once, seed 9"] = () =>
  trace({ seed: 9 }, (sim) => {
    startCluster(sim, 200);
    runUntilConverged(sim);
    for (let i = 1; i <= 20; i++) sim.crash(i * 9);
    sim.runFor(15_000);
  });

const update = Deno.env.get("GOLDEN_UPDATE") === "1";

Deno.test("golden traces: every node's events and datagrams are as committed", () => {
  const now: Traces = {};
  for (const [name, run] of Object.entries(scenarios)) now[name] = run();
  if (update) {
    Deno.mkdirSync(new URL("./golden/", import.meta.url), { recursive: true });
    Deno.writeTextFileSync(goldenPath, JSON.stringify(now, null, 2) + "\n");
    return;
  }
  const committed = JSON.parse(Deno.readTextFileSync(goldenPath)) as Traces;
  const changed: string[] = [];
  for (const [name, nodes] of Object.entries(now)) {
    const before = committed[name];
    if (before === undefined) {
      changed.push(`${name}: not committed`);
      continue;
    }
    const differ = Object.keys({ ...before, ...nodes }).filter((i) => before[i] !== nodes[i]);
    if (differ.length > 0) {
      changed.push(
        `${name}: nodes ${differ.join(", ")} (node ${differ[0]}: ${before[differ[0]]} -> ${
          nodes[differ[0]]
        })`,
      );
    }
  }
  assert.deepEqual(
    changed,
    [],
    "the traces changed; if on purpose, run with GOLDEN_UPDATE=1 and say why in the commit",
  );
});
