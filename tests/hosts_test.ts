/**
 * Real hosts, as an operator's cluster has them: five network namespaces on a bridge, each with its
 * own address, the bundle running in each on the default port and the default `--host` (the
 * host's first non-loopback IPv4). Faults are made where an operator meets them: a process killed,
 * a link down, the carrier lost at the bridge, inbound UDP dropped and random loss by iptables.
 *
 * It runs where the test process is root and `ip netns` works, and says why it was skipped
 * elsewhere.
 */
import assert from "node:assert/strict";
import { waitFor } from "./_cluster.ts";
import { addressOf, Hosts, lineOf, removeLeftovers, whyNoHosts } from "./_hosts.ts";

const hostCount = 5;
const whyNot = await whyNoHosts();
if (whyNot !== undefined) console.log(`hosts_test skipped: ${whyNot}`);

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test({
  name: `real hosts (${hostCount} network namespaces on a bridge, default port and --host)`,
  ignore: whyNot !== undefined,
  // The members' children and sockets live on across steps by design; they end in `finally`.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const leftovers = await removeLeftovers();
    if (leftovers.length > 0) console.log(`removed an earlier run's ${leftovers.join(", ")}`);
    const hosts = await Hosts.build(hostCount);
    const all = Array.from({ length: hostCount }, (_, i) => i + 1);
    /** Every running member lists every other running one as alive, asked on its own host. */
    const agreed = async (among: number[]) => {
      const views = await Promise.all(among.map((i) => hosts.stats(i)));
      return views.every((view, k) => {
        const alive = view.members.filter((e) => e.status === "alive").map((e) => e.address);
        const others = among.filter((j) => j !== among[k]).map((j) => hosts.address(j));
        return alive.length === others.length && others.every((a) => alive.includes(a));
      }) && views;
    };
    const linesIn = (kind: string, i: number, since: number, until = Infinity) =>
      hosts.member(i).events().filter((e) =>
        e.kind === kind && e.timeMs >= since && e.timeMs <= until
      );
    const failsIn = (i: number, since: number, until = Infinity) =>
      linesIn("FAIL", i, since, until);
    /** SUSPECT lines since `since` in every log: what a fault cost short of a failure. */
    const suspicionsSince = (since: number) => all.flatMap((i) => linesIn("SUSPECT", i, since));
    const ids = new Map<number, string>();
    const readIds = async () => {
      for (const i of all) ids.set(i, (await hosts.stats(i)).self.id);
    };
    try {
      await t.step("1. join: every member lists every other as alive", async () => {
        const introducer = hosts.start(1, ["--introducer"]);
        await waitFor("the introducer to answer", () => hosts.stats(1), 20_000, 250);
        for (const i of all.slice(1)) hosts.start(i, ["--join", hosts.ip(1)]);
        const startedAt = Date.now();
        await waitFor("every member to list every other as alive", () => agreed(all), 30_000, 300);
        console.log(`  all ${hostCount} agree ${seconds(Date.now() - startedAt)} after the joins`);
        // Asked across hosts, from the introducer's host, as an operator's client does.
        for (const i of all) {
          const view = await hosts.stats(1, hosts.address(i));
          assert.equal(view.self.address, hosts.address(i), "the default --host is the host's IP");
        }
        assert.equal(introducer.exited, false);
        await readIds();
      });

      await t.step(
        "2. kill -9 of one member: first detection within 3 s, all within 6 s",
        async () => {
          const victim = 5;
          const victimId = ids.get(victim)!;
          const survivors = all.filter((i) => i !== victim);
          const killedAt = Date.now();
          hosts.member(victim).signal("SIGKILL");
          await hosts.member(victim).status;
          const detections = () =>
            survivors.flatMap((i) => failsIn(i, killedAt).filter((e) => e.member === victimId));
          await waitFor(
            "every survivor to log the FAIL",
            () => new Set(detections().map((e) => e.node)).size === survivors.length,
            15_000,
          );
          const delays = survivors.map((i) => {
            const first = detections().find((e) => addressOf(e.node) === hosts.address(i))!;
            return first.timeMs - killedAt;
          });
          console.log(`  detections after ${delays.map(seconds).join(", ")}`);
          assert(Math.min(...delays) <= 3000, `first detection after ${Math.min(...delays)} ms`);
          assert(Math.max(...delays) <= 6000, `last detection after ${Math.max(...delays)} ms`);
          // Back as a new member, so that the cut below has four connected members to watch it.
          hosts.start(victim, ["--join", hosts.ip(1)]);
          await waitFor(
            "the restarted member to be listed everywhere",
            () => agreed(all),
            30_000,
            300,
          );
          await readIds();
          assert.notEqual(ids.get(victim), victimId, "a restart is a new version");
        },
      );

      await t.step("3. one host cut off for 10 s (link down), then healed", async (t) => {
        const cut = 3;
        const connected = all.filter((i) => i !== cut);
        const connectedIds = new Set(connected.map((i) => ids.get(i)!));
        const connectedAddresses = new Set(connected.map((i) => hosts.address(i)));
        const cutId = ids.get(cut)!;
        const cutAt = Date.now();
        await hosts.link(cut, false);
        let healAt = 0;
        try {
          await t.step(
            "(a) the four connected members fail it: first within 3 s, all 6 s",
            async () => {
              const detections = () =>
                connected.flatMap((i) => failsIn(i, cutAt).filter((e) => e.member === cutId));
              await waitFor(
                "every connected member to log the FAIL",
                () => new Set(detections().map((e) => e.node)).size === connected.length,
                9_000,
              );
              const delays = connected.map((i) =>
                detections().find((e) => addressOf(e.node) === hosts.address(i))!.timeMs - cutAt
              );
              console.log(`  detections after ${delays.map(seconds).join(", ")}`);
              assert(
                Math.min(...delays) <= 3000,
                `first detection after ${Math.min(...delays)} ms`,
              );
              assert(Math.max(...delays) <= 6000, `last detection after ${Math.max(...delays)} ms`);
            },
          );
          await sleep(Math.max(0, cutAt + 10_000 - Date.now()));
        } finally {
          await hosts.link(cut, true);
          healAt = Date.now();
        }
        console.log(`  the link was down for ${seconds(healAt - cutAt)}`);

        await t.step("(c) after the heal all agree within 15 s; it is back once, new", async () => {
          await waitFor("every member to agree", () => agreed(all), 15_000, 300);
          console.log(`  all agree ${seconds(Date.now() - healAt)} after the heal`);
          // Agreement must last, not be a moment before what the heal spreads arrives.
          await sleep(Math.max(0, healAt + 15_000 - Date.now()));
          const views = await waitFor("every member to still agree", () => agreed(all), 3_000, 300);
          const listed = new Set(
            views.flatMap((v) => v.members.filter((e) => e.address === hosts.address(cut)))
              .map((e) => e.id),
          );
          assert.equal(listed.size, 1, `the cut-off host is listed as ${[...listed].join(", ")}`);
          assert.notEqual([...listed][0], cutId, "it came back as a new version");
          // Back once: one new version, whoever logged its return.
          const versions = new Set(
            all.flatMap((i) =>
              hosts.member(i).events().filter((e) =>
                e.kind === "JOIN" && e.timeMs >= cutAt &&
                addressOf(e.member) === hosts.address(cut) && e.member !== cutId
              ).map((e) => e.member)
            ),
          );
          console.log(`  back as ${[...versions].join(", ")} (was ${cutId})`);
          assert.equal(versions.size, 1, `new versions of it: ${[...versions].join(", ")}`);
        });

        await t.step(
          "(b) no connected member is ever logged FAIL by another connected member",
          async () => {
            // Read after the heal + 15 s, so that what the heal spread is in the logs.
            await sleep(Math.max(0, healAt + 15_000 - Date.now()));
            const violations = connected.flatMap((i) =>
              hosts.member(i).events().filter((e) =>
                e.kind === "FAIL" && connectedIds.has(e.member) &&
                connectedAddresses.has(addressOf(e.node))
              )
            ).sort((x, y) => x.timeMs - y.timeMs);
            const concluded = hosts.member(cut).events().filter((e) =>
              e.kind === "FAIL" && e.timeMs >= cutAt && connectedAddresses.has(addressOf(e.member))
            );
            console.log(
              `  the cut-off host logged ${concluded.length} FAIL lines about connected members`,
            );
            const message = `${violations.length} FAIL lines about connected members:\n` +
              violations.map((e) => `    ${lineOf(e)}`).join("\n");
            assert.deepEqual(violations.map(lineOf), [], message);
          },
        );
      });

      await t.step(
        "3b. two of five hosts lose carrier at the bridge at once for 10 s",
        async () => {
          // Up to a third of the cluster and more, cut off together, at the switch rather than in
          // the host: the three connected members still fail nobody among themselves.
          await readIds();
          const cut = [2, 4];
          const connected = all.filter((i) => !cut.includes(i));
          const connectedIds = new Set(connected.map((i) => ids.get(i)!));
          const connectedAddresses = new Set(connected.map((i) => hosts.address(i)));
          const cutAt = Date.now();
          let healAt = 0;
          try {
            for (const i of cut) await hosts.carrier(i, false);
            await sleep(10_000);
          } finally {
            for (const i of cut) await hosts.carrier(i, true);
            healAt = Date.now();
          }
          await waitFor("every member to agree", () => agreed(all), 15_000, 300);
          console.log(`  all agree ${seconds(Date.now() - healAt)} after the heal`);
          await sleep(Math.max(0, healAt + 15_000 - Date.now()));
          for (const c of cut) {
            const delays = connected.map((i) => {
              const fail = failsIn(i, cutAt).find((e) => e.member === ids.get(c));
              assert(fail !== undefined, `${hosts.address(i)} never failed ${ids.get(c)}`);
              return fail.timeMs - cutAt;
            });
            console.log(`  host ${c} failed after ${delays.map(seconds).join(", ")}`);
            assert(Math.min(...delays) <= 3000, `first detection after ${Math.min(...delays)} ms`);
            assert(Math.max(...delays) <= 6000, `last detection after ${Math.max(...delays)} ms`);
            const versions = new Set(
              all.flatMap((i) =>
                linesIn("JOIN", i, cutAt).filter((e) =>
                  addressOf(e.member) === hosts.address(c) && e.member !== ids.get(c)
                ).map((e) => e.member)
              ),
            );
            assert.equal(
              versions.size,
              1,
              `new versions of host ${c}: ${[...versions].join(", ")}`,
            );
          }
          const violations = connected.flatMap((i) =>
            failsIn(i, cutAt).filter((e) =>
              connectedIds.has(e.member) && connectedAddresses.has(addressOf(e.node))
            )
          );
          assert.deepEqual(violations.map(lineOf), [], "connected members were failed");
          await readIds();
        },
      );

      // The two faults run at once on different hosts, to keep the test short; each check looks
      // only at the lines its own fault could cause.
      await t.step(
        "4 and 5. host 4's inbound UDP dropped for 20 s, host 2's UDP at 20% loss for 60 s",
        async (t) => {
          const drop = 4;
          const lossy = 2;
          const dropRule = ["INPUT", "-p", "udp", "-j", "DROP"];
          const lossRule = (chain: string) => [
            chain,
            "-p",
            "udp",
            "-m",
            "statistic",
            "--mode",
            "random",
            "--probability",
            "0.2",
            "-j",
            "DROP",
          ];
          const settleMs = 5_000;
          await hosts.iptables(lossy, ["-A", ...lossRule("INPUT")]);
          await hosts.iptables(lossy, ["-A", ...lossRule("OUTPUT")]);
          const startedAt = Date.now();
          let lossEndedAt = 0;
          // Packets the loss rules dropped, in and out: proof the loss was in force.
          let lossDropped = [0, 0];
          try {
            await t.step("4. the host whose inbound UDP is dropped fails nobody", async () => {
              await hosts.iptables(drop, ["-A", ...dropRule]);
              let droppedUntil = 0;
              let dropped = 0;
              try {
                await sleep(20_000);
                dropped = await hosts.dropped(drop, "INPUT");
              } finally {
                await hosts.iptables(drop, ["-D", ...dropRule]);
                droppedUntil = Date.now();
              }
              await sleep(settleMs);
              const byIt = failsIn(drop, startedAt);
              const ofIt = all.filter((i) => i !== drop).flatMap((i) =>
                failsIn(i, startedAt).filter((e) => addressOf(e.member) === hosts.address(drop))
              );
              const suspicions = suspicionsSince(startedAt);
              console.log(
                `  it dropped ${dropped} datagrams; others logged ${ofIt.length} FAIL lines about it` +
                  ofIt.map((e) => `\n    ${lineOf(e)}`).join("") +
                  `; SUSPECT lines so far: ${suspicions.length}, by it ` +
                  suspicions.filter((e) => addressOf(e.node) === hosts.address(drop)).length,
              );
              assert.deepEqual(byIt.map(lineOf), [], "it failed members");
              assert(droppedUntil - startedAt >= 20_000);
              assert(dropped > 0, "the rule dropped nothing");
            });
            await sleep(Math.max(0, startedAt + 60_000 - Date.now()));
          } finally {
            lossDropped = await Promise.all(
              ["INPUT", "OUTPUT"].map((chain) => hosts.dropped(lossy, chain).catch(() => 0)),
            );
            await hosts.iptables(lossy, ["-D", ...lossRule("INPUT")]);
            await hosts.iptables(lossy, ["-D", ...lossRule("OUTPUT")]);
            lossEndedAt = Date.now();
          }
          await t.step("5. 20% loss on one host's UDP for 60 s fails nobody", async () => {
            await sleep(settleMs);
            // Host 4's own fault ended 20 s in: lines about it up to then belong to step 4.
            const step4Until = startedAt + 20_000 + settleMs;
            const fails = all.flatMap((i) =>
              failsIn(i, startedAt).filter((e) =>
                !(addressOf(e.member) === hosts.address(drop) && e.timeMs <= step4Until)
              )
            );
            const suspicions = suspicionsSince(startedAt);
            console.log(
              `  ${lossDropped[0]} datagrams dropped in, ${lossDropped[1]} out; ` +
                `SUSPECT lines in the ${seconds(lossEndedAt - startedAt)}: ${suspicions.length}, ` +
                `about the lossy host ` +
                suspicions.filter((e) => addressOf(e.member) === hosts.address(lossy)).length,
            );
            assert.deepEqual(fails.map(lineOf), [], "members were failed");
            assert(lossEndedAt - startedAt >= 60_000);
            assert(lossDropped[0] > 0 && lossDropped[1] > 0, "the loss rules dropped nothing");
          });
        },
      );

      await t.step("6. member grep -c JOIN from one host counts on every host", async () => {
        await waitFor("every member to agree", () => agreed(all), 15_000, 300);
        // As an operator types it on one host: a count per member and file, `member:file:count`.
        const result = await hosts.client(1, ["grep", "-c", "JOIN"]);
        assert.equal(result.code, 0, result.stderr);
        const logCounts = new Map<string, number>();
        for (const line of result.stdout.trim().split("\n")) {
          const match = /^([\d.]+:\d+):(.*):(\d+)$/.exec(line);
          assert(match !== null, `not member:file:count: ${line}`);
          if (match[2].endsWith("/member.log")) logCounts.set(match[1], Number(match[3]));
        }
        console.log(`  event log counts: ${[...logCounts].map(([m, n]) => `${m}=${n}`).join(" ")}`);
        for (const i of all) {
          assert((logCounts.get(hosts.address(i)) ?? 0) > 0, `no JOIN from ${hosts.address(i)}`);
        }
      });
    } finally {
      await hosts.dispose();
    }
  },
});
