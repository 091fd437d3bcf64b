/**
 * User events in the simulator: every member running when an event is sent receives it once, by
 * gossip, within 2 s at 50 members and at 30% loss too; a member that joins later is not given
 * old events; at 1,000 members events spread within the datagram limit. Each failing run names
 * its seed.
 */
import assert from "node:assert/strict";
import {
  recordingSimulation,
  runUntilConverged,
  seedNote,
  type Seen,
  startCluster,
} from "./_sim.ts";

/** How many times each node logged the USER event `name`, and when. */
function received(seen: Seen[], name: string): Map<number, number[]> {
  const at = new Map<number, number[]>();
  for (const s of seen) {
    if (s.event.kind === "USER" && s.event.name === name) {
      at.set(s.observer, [...(at.get(s.observer) ?? []), s.event.atMs]);
    }
  }
  return at;
}

for (const lossRate of [0, 0.3]) {
  Deno.test(`user events: each of 50 members receives one once within 2 s (loss ${lossRate * 100}%)`, () => {
    const { sim, seen } = recordingSimulation({ seed: 3, network: { lossRate } });
    startCluster(sim, 50);
    runUntilConverged(sim, 60_000);
    const sentAt = sim.nowMs;
    const payload = "deploy v2.3 — everyone, now";
    sim.sendUserEvent(7, "deploy", payload);
    sim.runFor(5000);
    const got = received(seen, "deploy");
    assert.equal(got.size, 50, `${got.size} of 50 received it ${seedNote(sim)}`);
    for (const [node, times] of got) {
      assert.equal(
        times.length,
        1,
        `node ${node} received it ${times.length} times ${seedNote(sim)}`,
      );
      assert(
        times[0] - sentAt <= 2000,
        `node ${node} after ${times[0] - sentAt} ms ${seedNote(sim)}`,
      );
    }
    const one = seen.find((s) => s.event.kind === "USER" && s.observer === 20)!.event;
    assert.equal(one.payload, payload);
    assert.equal(one.address, sim.node(7).address);
    assert(sim.stats.datagramBytesMax <= 1400);
    // A member that joins a second later is not given it, though it is still being passed on.
    sim.sendUserEvent(3, "late", "x".repeat(1000));
    sim.runFor(1000);
    sim.addNodes(1);
    sim.start(50, 0);
    sim.runFor(5000);
    assert(!received(seen, "late").has(50), `the joiner got an old event ${seedNote(sim)}`);
    assert(!received(seen, "deploy").has(50));
  });
}

Deno.test("user events: three at once among 1,000 members reach everyone within the datagram limit", () => {
  const { sim, seen } = recordingSimulation({ seed: 4 });
  startCluster(sim, 1000);
  runUntilConverged(sim, 120_000);
  const sentAt = sim.nowMs;
  for (let i = 0; i < 3; i++) sim.sendUserEvent(i * 97 + 5, `e${i}`, "p".repeat(200 * (i + 1)));
  sim.runFor(5000);
  for (let i = 0; i < 3; i++) {
    const got = received(seen, `e${i}`);
    assert.equal(got.size, 1000, `e${i}: ${got.size} of 1,000 ${seedNote(sim)}`);
    assert([...got.values()].every((t) => t.length === 1), `e${i} taken twice ${seedNote(sim)}`);
    const last = Math.max(...[...got.values()].map((t) => t[0])) - sentAt;
    assert(last <= 3000, `e${i} everywhere after ${last} ms ${seedNote(sim)}`);
  }
  assert(sim.stats.datagramBytesMax <= 1400, `${sim.stats.datagramBytesMax} bytes`);
});
