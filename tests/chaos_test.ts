/**
 * Faults on real processes, one after another on one cluster of 10: kill -9 of random members,
 * short and long pauses (SIGSTOP/SIGCONT), half the cluster at once, the introducer, a restart
 * loop. After each, the running members agree, and no member that was running all along was ever
 * listed as failed; a member paused past the fail timeout is failed and comes back only as a new
 * version (fail-stop).
 */
import assert from "node:assert/strict";
import { Random } from "../mod/core/random.ts";
import { Cluster, type MemberProcess, waitFor } from "./_cluster.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Current ids (`host:port#version`) of the running members. */
async function idsOf(members: MemberProcess[]): Promise<Map<MemberProcess, string>> {
  const ids = new Map<MemberProcess, string>();
  for (const m of members) ids.set(m, (await m.stats()).self.id);
  return ids;
}

/** FAIL lines, anywhere in the cluster, about any of `ids`. */
function failuresOf(cluster: Cluster, ids: Iterable<string>): string[] {
  const wanted = new Set(ids);
  return cluster.members.filter((m) => m !== undefined).flatMap((m) =>
    m.events().filter((e) => e.kind === "FAIL" && wanted.has(e.member)).map((e) =>
      `${m.address} failed ${e.member} at ${new Date(e.timeMs).toISOString()}`
    )
  );
}

Deno.test("chaos: kills, pauses, half the cluster, the introducer, a restart loop", async (t) => {
  const cluster = new Cluster("addresses");
  const random = new Random(Number(Deno.env.get("CHAOS_SEED") ?? 4242));
  const pick = (from: MemberProcess[], count: number) => {
    const pool = [...from];
    const chosen: MemberProcess[] = [];
    while (chosen.length < count) chosen.push(pool.splice(random.below(pool.length), 1)[0]);
    return chosen;
  };
  /** Members running through a step, and their ids before it: none of them may be failed. */
  const steady = async (step: () => Promise<MemberProcess[]>) => {
    const before = await idsOf(cluster.running());
    const disturbed = new Set(await step());
    await cluster.waitForAgreement(20_000);
    // Past every timeout (a suspect is failed 2.2 s after its last word), they still agree.
    await sleep(3000);
    await cluster.waitForAgreement(10_000);
    const untouched = [...before].filter(([m]) => !disturbed.has(m) && !m.exited);
    assert.deepEqual(failuresOf(cluster, untouched.map(([, id]) => id)), []);
  };
  try {
    await cluster.start(10);
    const introducer = cluster.members[0];
    const contact = () => cluster.running().find((m) => m !== introducer) ?? introducer;

    await t.step("kill -9 of two random members", async () => {
      await steady(async () => {
        const victims = pick(cluster.running().filter((m) => m !== introducer), 2);
        for (const v of victims) v.signal("SIGKILL");
        await Promise.all(victims.map((v) => v.status));
        return victims;
      });
    });

    await t.step("a short pause (0.5 s) is not a failure", async () => {
      const ids = await idsOf(cluster.running());
      const [paused] = pick(cluster.running(), 1);
      paused.signal("SIGSTOP");
      await sleep(500);
      paused.signal("SIGCONT");
      await sleep(4000);
      await cluster.waitForAgreement(10_000);
      assert.deepEqual(failuresOf(cluster, ids.values()), []);
    });

    await t.step(
      "a pause past the fail timeout is a failure; it comes back as a new version",
      async () => {
        let oldId = "";
        let paused: MemberProcess | undefined;
        await steady(async () => {
          [paused] = pick(cluster.running().filter((m) => m !== introducer), 1);
          oldId = (await paused.stats()).self.id;
          paused.signal("SIGSTOP");
          await waitFor(
            "the others to fail the paused member",
            () => failuresOf(cluster, [oldId]).length >= 3,
            15_000,
          );
          paused.signal("SIGCONT");
          return [paused];
        });
        const after = await paused!.stats();
        const { id: newId, version: newVersion } = after.self;
        assert((after.detections.stalls ?? 0) >= 1, "its stats count the stall");
        assert.notEqual(newId, oldId, "it came back as a new version");
        // Recorded, so that a restart comes back newer still.
        const recorded = Number(Deno.readTextFileSync(`${paused!.dataDir}/version`).trim());
        assert(recorded >= newVersion, `${recorded} recorded, ${newVersion} in use`);
        // And its operator is told why, on its stderr.
        assert.match(
          paused!.stderr(),
          /WRN.*(stalled past the fail timeout|has ended \(failed, or superseded\)): .* comes back as a new version/,
        );
        for (const m of cluster.running()) {
          const old = (await m.stats()).members.find((e) => e.id === oldId);
          assert(
            old === undefined || old.status !== "alive",
            `${m.address} lists ${oldId} as alive`,
          );
        }
      },
    );

    await t.step(
      "the introducer is killed; the others carry on and new members join elsewhere",
      async () => {
        await steady(async () => {
          introducer.signal("SIGKILL");
          await introducer.status;
          const joiner = cluster.add(["--join", contact().address], 10);
          await waitFor("the joiner", () => joiner.stats(), 15_000);
          return [introducer, joiner];
        });
      },
    );

    await t.step("half the cluster at once", async () => {
      await steady(async () => {
        const running = cluster.running();
        const victims = pick(running, Math.floor(running.length / 2));
        for (const v of victims) v.signal("SIGKILL");
        await Promise.all(victims.map((v) => v.status));
        return victims;
      });
    });

    await t.step("a restart loop: one member killed and started again, three times", async () => {
      const [looping] = pick(cluster.running(), 1);
      const index = cluster.members.indexOf(looping);
      const oldIds: string[] = [];
      await steady(async () => {
        let current = looping;
        for (let round = 0; round < 3; round++) {
          oldIds.push((await waitFor("the member", () => current.stats(), 15_000)).self.id);
          current.signal("SIGKILL");
          await current.status;
          const others = cluster.running();
          current = cluster.add(["--join", others[random.below(others.length)].address], index);
          await sleep(1000 + random.below(2000));
        }
        return [looping, current];
      });
      // Every old version is dead for good: nobody lists one as alive.
      for (const m of cluster.running()) {
        const listed = (await m.stats()).members;
        for (const id of oldIds) {
          const old = listed.find((e) => e.id === id);
          assert(old === undefined || old.status !== "alive", `${m.address} lists ${id} as alive`);
        }
      }
    });
  } finally {
    await cluster.stop();
  }
});
