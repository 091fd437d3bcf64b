/**
 * User events with real processes, as an operator sends them: `member event NAME PAYLOAD` on one
 * member of 10 reaches each of the others once (a USER line in its event log) within 2 s, an
 * `--on USER` handler gets it, `member watch --json` shows it, a member that joins later does not
 * get it, and a payload past 1 KiB is one line and exit 2.
 */
import assert from "node:assert/strict";
import { Cluster, member, waitFor } from "./_cluster.ts";

Deno.test("user events: sent from one member, received once by each of 10", async () => {
  const cluster = new Cluster("addresses", 12);
  const handler = `${cluster.dir}/on-user.sh`;
  const got = `${cluster.dir}/handled.txt`;
  Deno.writeTextFileSync(handler, `#!/bin/sh\ncat >> ${got}\necho >> ${got}\n`);
  Deno.chmodSync(handler, 0o755);
  let watch: Deno.ChildProcess | undefined;
  try {
    await cluster.start(1);
    for (let i = 1; i < 10; i++) {
      cluster.add([
        "--join",
        cluster.members[0].address,
        ...(i === 4 ? ["--on", `USER=${handler}`] : []),
      ]);
    }
    await cluster.waitForAgreement(30_000);
    watch = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--unstable-net",
        "--allow-net",
        "--allow-read",
        "--allow-write",
        `${new URL("..", import.meta.url).pathname}dist/member.js`,
        "watch",
        "--json",
        "--node",
        cluster.members[7].address,
      ],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const lines: string[] = [];
    const reading = (async () => {
      let rest = "";
      for await (const text of watch!.stdout.pipeThrough(new TextDecoderStream())) {
        rest += text;
        const parts = rest.split("\n");
        rest = parts.pop()!;
        lines.push(...parts);
      }
    })();
    await waitFor("the watch's list", () => lines.length >= 10, 10_000);

    const payload = "v2.3 to eu — now";
    const sentAt = Date.now();
    const sent = await member(["event", "deploy", payload, "--node", cluster.members[2].address]);
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(sent.stdout, /sent deploy to every member/);
    const userLines = (m: (typeof cluster.members)[number]) =>
      m.events().filter((e) => e.kind === "USER" && e.name === "deploy");
    await waitFor(
      "every member to log it",
      () => cluster.running().every((m) => userLines(m).length > 0),
      5000,
    );
    for (const m of cluster.running()) {
      const seen = userLines(m);
      assert.equal(seen.length, 1, `${m.address} logged it ${seen.length} times`);
      assert.equal(seen[0].payload, payload);
      assert(seen[0].timeMs - sentAt <= 2000, `${m.address} after ${seen[0].timeMs - sentAt} ms`);
      assert.equal(seen[0].member.split("#")[0], cluster.members[2].address);
    }
    // The handler got it on stdin, as JSON.
    const handled = await waitFor("the handler", () => {
      try {
        return Deno.readTextFileSync(got).trim() || undefined;
      } catch {
        return undefined;
      }
    }, 5000);
    const json = JSON.parse(handled.split("\n")[0]);
    assert.equal(json.kind, "USER");
    assert.equal(json.name, "deploy");
    assert.equal(json.payload, payload);
    // The watch showed it.
    await waitFor("the watch to show it", () =>
      lines.some((l) => {
        const o = JSON.parse(l);
        return o.kind === "USER" && o.name === "deploy" && o.payload === payload;
      }), 5000);

    // A member that joins later does not get it.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const late = cluster.add(["--join", cluster.members[0].address]);
    await cluster.waitForAgreement(30_000);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.deepEqual(userLines(late), []);

    // Refused in one line.
    const big = await member([
      "event",
      "big",
      "x".repeat(1100),
      "--node",
      cluster.members[0].address,
    ]);
    assert.equal(big.code, 2);
    assert.match(big.stderr, /^error: the payload takes 1100 bytes, more than 1024\n$/);
    const badName = await member(["event", "no spaces", "--node", cluster.members[0].address]);
    assert.equal(badName.code, 2);
    assert.equal(badName.stderr.split("\n").filter((l) => l !== "").length, 1);
    watch.kill("SIGTERM");
    await watch.status;
    await reading;
    watch = undefined;
  } finally {
    if (watch !== undefined) {
      watch.kill("SIGKILL");
      await watch.status;
    }
    await cluster.stop();
  }
});
