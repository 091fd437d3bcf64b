/**
 * Tags in the simulator: a change reaches every member by gossip, a joining member gets them all
 * with the list, and every datagram stays within 1,400 bytes with a full kilobyte of tags per
 * member. Each failing run names its seed.
 */
import assert from "node:assert/strict";
import { tagsBytesMax, tagsProblem } from "../mod/core/tags.ts";
import type { Tags } from "../mod/core/types.ts";
import { tagsBytes } from "../mod/core/wire_size.ts";
import type { Simulation } from "../mod/sim/simulation.ts";
import { recordingSimulation, runUntilConverged, seedNote, startCluster } from "./_sim.ts";

/** Tags taking just under the most a member may have. */
function fullTags(seed: number): Tags {
  const tags: Record<string, string> = { role: seed % 2 === 0 ? "web" : "db", zone: `z${seed}` };
  for (let i = 0; tagsBytes(tags) < tagsBytesMax - 60; i++) {
    tags[`k${i}`] = `v${seed}-${i}-xxxxxxxxxx`;
  }
  assert.equal(tagsProblem(tags), undefined);
  return tags;
}

/** Nodes that do not hold `index`'s tags as `tags`. */
function lacking(sim: Simulation, index: number, tags: Tags): number[] {
  const address = sim.node(index).address;
  return sim.upNodes().filter((n) => n.index !== index).filter((n) => {
    const held = n.core!.lookup(address)?.tags ?? {};
    return JSON.stringify(held) !== JSON.stringify(tags);
  }).map((n) => n.index);
}

Deno.test("tags: a change reaches every member of 10 within 2 s, logged once as UPDATE each", () => {
  const { sim, seen } = recordingSimulation({ seed: 1 });
  startCluster(sim, 10);
  runUntilConverged(sim);
  const tags = fullTags(1);
  const atMs = sim.nowMs;
  sim.setTags(3, tags);
  sim.runFor(2000);
  assert.deepEqual(lacking(sim, 3, tags), [], seedNote(sim));
  const updates = seen.filter((s) =>
    s.event.kind === "UPDATE" && s.event.address === sim.node(3).address
  );
  assert.equal(updates.length, 10, "once on each node, its own included");
  assert(updates.every((u) => u.event.atMs - atMs <= 2000));
  assert(sim.stats.datagramBytesMax <= 1400, `${sim.stats.datagramBytesMax} bytes`);
  // A member that joins later gets them with its list.
  sim.addNodes(1);
  sim.start(10, 0);
  sim.runFor(1000);
  assert.deepEqual(sim.node(10).core!.lookup(sim.node(3).address)?.tags, tags, seedNote(sim));
});

Deno.test("tags: 1,000 members, 20 of them changing a kilobyte of tags at once, converge within the datagram limit", () => {
  const { sim } = recordingSimulation({ seed: 2 });
  startCluster(sim, 1000);
  runUntilConverged(sim, 120_000);
  const changed = Array.from({ length: 20 }, (_, i) => i * 50 + 7);
  const bytesBefore = sim.stats.bytesSent;
  const atMs = sim.nowMs;
  for (const i of changed) sim.setTags(i, fullTags(i));
  const done = sim.runUntil(
    () => changed.every((i) => lacking(sim, i, fullTags(i)).length === 0),
    30_000,
  );
  const spentMs = sim.nowMs - atMs;
  assert(
    done,
    `tags not everywhere in 30 s: ${changed.map((i) => lacking(sim, i, fullTags(i)).length)} ${
      seedNote(sim)
    }`,
  );
  assert(
    sim.stats.datagramBytesMax <= 1400,
    `${sim.stats.datagramBytesMax} bytes ${seedNote(sim)}`,
  );
  console.log(
    `  20 kilobyte tag changes at 1,000 members: everywhere in ${(spentMs / 1000).toFixed(1)} s, ` +
      `${((sim.stats.bytesSent - bytesBefore) / 1024 / 1024).toFixed(1)} MiB sent by all meanwhile`,
  );
});

Deno.test("tags: given at start, every member holds them within 2 s of its JOIN, over 120 seeds", () => {
  // A member may first hear of a joiner without its tags (from a slice of another's list, a
  // neighbour's relay), after the news that carries them went by. Whoever it then gossips that
  // older copy to tells it the tags: before that, seeds 76, 103 and 104 waited over 6 s, for a
  // whole list.
  for (let seed = 1; seed <= 120; seed++) {
    const { sim, seen } = recordingSimulation({ seed });
    sim.addNodes(10);
    sim.start(0, undefined, { role: "web" });
    // Joins spread over 0 to 2.7 s, as processes started together come up on a busy machine.
    const spreadMs = 20 + (seed % 7) * 60;
    for (let i = 1; i < 10; i++) {
      const atMs = sim.nowMs + 300 + i * spreadMs * (((seed * 7919 + i * 104729) % 1000) / 1000);
      const tags = i === 1 ? undefined : { role: i % 3 === 0 ? "web" : "db" };
      sim.at(atMs, () => sim.start(i, 0, tags));
    }
    sim.runFor(12_000);
    for (const node of sim.upNodes()) {
      const mine = seen.filter((s) => s.observer === node.index);
      for (const other of sim.upNodes()) {
        if (other === node || other.index === 1) continue;
        const joined = mine.find((s) =>
          s.event.kind === "JOIN" && s.event.address === other.address
        );
        assert(
          joined !== undefined,
          `node ${node.index} never listed ${other.index} ${seedNote(sim)}`,
        );
        const tagged = joined.event.tags !== undefined
          ? joined
          : mine.find((s) => s.event.kind === "UPDATE" && s.event.address === other.address);
        assert(
          tagged !== undefined,
          `node ${node.index} lacks ${other.index}'s tags ${seedNote(sim)}`,
        );
        const lagMs = tagged.event.atMs - joined.event.atMs;
        assert(
          lagMs <= 2000,
          `node ${node.index} held ${other.index}'s tags ${lagMs} ms after its JOIN ${
            seedNote(sim)
          }`,
        );
      }
    }
  }
});
