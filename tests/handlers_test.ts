/**
 * Event handlers (`member serve --on KINDS=PROGRAM`) as an operator uses them: shell scripts that
 * record what they were given, on a real cluster run from the bundle under the binary's flags
 * (which allow grep and exactly the named programs). Run `deno task bundle` first.
 */
import assert from "node:assert/strict";
import { binaryFlags } from "../tasks/flags.ts";
import { parseHandlerSpec } from "../mod/handlers/spec.ts";
import { Cluster, member, type MemberProcess, waitFor } from "./_cluster.ts";

const root = new URL("..", import.meta.url).pathname;

/** Writes an executable `#!/bin/sh` script to `dir/name` and returns its path. */
function script(dir: string, name: string, body: string): string {
  const path = `${dir}/${name}`;
  Deno.writeTextFileSync(path, `#!/bin/sh\n${body}\n`);
  Deno.chmodSync(path, 0o755);
  return path;
}

/**
 * A handler that appends one tab-separated line per run to `out`: the environment it was given,
 * then its stdin (one JSON line). One write per run, so that lines never interleave.
 */
function recorder(dir: string, name: string, out: string): string {
  return script(
    dir,
    name,
    `line=$(cat)\nprintf '%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\n' "$MEMBER_EVENT" "$MEMBER_ID" ` +
      `"$MEMBER_ADDRESS" "$MEMBER_VERSION" "$MEMBER_SELF" "$MEMBER_TAGS" "$line" >> '${out}'`,
  );
}

/**
 * The pool handler docs/programs.md shows, as written there, keeping its files in `dir` instead of
 * /var/lib/lb.
 */
function poolHandler(dir: string): string {
  const page = Deno.readTextFileSync(`${root}docs/programs.md`);
  const shown = page.split("### A load balancer's pool")[1].match(/```sh\n([\s\S]*?)```/)![1];
  assert.match(shown, /^dir=\/var\/lib\/lb$/m);
  return script(
    dir,
    "update-pool",
    shown.replace(/^#!\/bin\/sh\n/, "").replace(/^dir=.*$/m, `dir='${dir}'`),
  );
}

interface Run {
  event: string;
  id: string;
  address: string;
  version: string;
  self: string;
  tags: string;
  json: Record<string, unknown>;
}

/** The runs a recorder wrote down so far. */
function runs(out: string): Run[] {
  let text = "";
  try {
    text = Deno.readTextFileSync(out);
  } catch {
    return [];
  }
  return text.split("\n").filter((line) => line !== "").map((line) => {
    const [event, id, address, version, self, tags, json] = line.split("\t");
    return { event, id, address, version, self, tags, json: JSON.parse(json) };
  });
}

Deno.test("handlers: the build allows grep and exactly the named programs", async () => {
  assert(binaryFlags().includes("--allow-run=grep"));
  const flags = binaryFlags(undefined, ["/usr/local/bin/update-pool", "/opt/x", "/opt/x"]);
  assert.deepEqual(flags.filter((f) => f.startsWith("--allow-run")), [
    "--allow-run=grep,/usr/local/bin/update-pool,/opt/x",
  ]);
  assert.equal(flags.filter((f) => f === "--allow-read").length, 1, "file access stays open");
  // A narrowed build may look at the handlers (to say at start that one is missing), no more.
  const narrowed = binaryFlags({ dataDirs: ["/var/lib/member"] }, ["/usr/local/bin/update-pool"]);
  assert(narrowed.includes("--allow-read=/var/lib/member,/usr/local/bin/update-pool"));
  assert(narrowed.includes("--allow-write=/var/lib/member"));
  // A program the permission could not name exactly is refused before anything is built.
  const built = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-run",
      "--allow-read",
      `${root}tasks/build.ts`,
      "compile",
      "--handler",
      "x",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(built.code, 2);
  assert.match(
    new TextDecoder().decode(built.stderr),
    /^error: --handler x: give an absolute path/,
  );
});

Deno.test("handlers: KINDS=PROGRAM is parsed, and what is not one is said", () => {
  assert.deepEqual(parseHandlerSpec("JOIN,fail=/bin/h"), {
    kinds: ["JOIN", "FAIL"],
    program: "/bin/h",
  });
  assert.deepEqual(parseHandlerSpec("*=/bin/h"), { kinds: "*", program: "/bin/h" });
  assert.match(
    (parseHandlerSpec("JOINED=/bin/h") as { error: string }).error,
    /unknown event kind/,
  );
  assert.match((parseHandlerSpec("JOIN=h") as { error: string }).error, /not an absolute path/);
  assert.match((parseHandlerSpec("/bin/h") as { error: string }).error, /not KINDS=PROGRAM/);
});

Deno.test("handlers: a program missing, not executable or not allowed is one line, exit 2", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "member-handlers-" });
  try {
    const serve = ["serve", "--introducer", "--host", "127.0.0.1", "--data-dir", `${dir}/data`];
    const missing = `${dir}/missing`;
    let result = await member([...serve, "--on", `FAIL=${missing}`], { handlers: [missing] });
    assert.equal(result.code, 2);
    assert.equal(
      result.stderr,
      `error: --on: cannot use ${missing} as a handler: no such file or directory\n`,
    );
    const plain = `${dir}/plain`;
    Deno.writeTextFileSync(plain, "#!/bin/sh\n");
    result = await member([...serve, "--on", `FAIL=${plain}`], { handlers: [plain] });
    assert.equal(result.code, 2);
    assert.equal(result.stderr, `error: --on: ${plain} is not executable: chmod +x it\n`);
    // Executable, but the build was not made to run it: the flag to rebuild with is named.
    const handler = script(dir, "handler", "exit 0");
    result = await member([...serve, "--on", `FAIL=${handler}`]);
    assert.equal(result.code, 2);
    assert.equal(result.stderr.split("\n").length, 2, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(
        `^error: --on: this build of member may not run ${handler}: rebuild it with \`deno task compile --handler ${handler}\``,
      ),
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

/** The member's id, asked of the member itself. */
async function idOf(process: MemberProcess): Promise<string> {
  return (await process.stats()).self.id;
}

Deno.test("handlers: JOIN and FAIL run with the event, * runs for every event in log order", async () => {
  const cluster = new Cluster("ports", 4);
  try {
    const joinFail = `${cluster.dir}/join-fail.txt`;
    const every = `${cluster.dir}/every.txt`;
    const h1 = recorder(cluster.dir, "join-fail.sh", joinFail);
    const h2 = recorder(cluster.dir, "every.sh", every);
    const pool = poolHandler(cluster.dir);
    const watcher = cluster.add([
      "--introducer",
      "--on",
      `JOIN,FAIL=${h1}`,
      "--on",
      `*=${h2}`,
      "--on",
      `JOIN,LEAVE,FAIL=${pool}`,
    ]);
    await waitFor("the introducer", () => watcher.stats(), 15_000);
    for (let i = 1; i < 4; i++) cluster.add(["--join", watcher.address]);
    await cluster.waitForAgreement(30_000);
    const self = await idOf(watcher);
    const victim = cluster.members[3];
    const victimId = await idOf(victim);
    victim.signal("SIGKILL");
    const fail = await waitFor(
      "the FAIL handler to run for the killed member",
      () => runs(joinFail).find((run) => run.event === "FAIL"),
      15_000,
    );
    assert.equal(fail.id, victimId);
    assert.equal(fail.address, victim.address);
    assert.equal(fail.version, victimId.split("#")[1]);
    assert.equal(fail.self, self);
    assert.equal(fail.tags, "{}");
    // A neighbour's probe is refused by the dead port, so its FAIL is that neighbour's doing.
    assert(["refused", "gossip"].includes(String(fail.json.via)), `via ${fail.json.via}`);
    assert.deepEqual(
      { ...fail.json, time: undefined, via: undefined, from: undefined },
      {
        kind: "FAIL",
        member: victimId,
        address: victim.address,
        version: Number(victimId.split("#")[1]),
        node: self,
        via: undefined,
        from: undefined,
        time: undefined,
        incarnation: 0,
      },
    );
    assert.match(fail.json.time as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // JOIN,FAIL: the four JOINs (its own and those of its join's answers included), then FAIL.
    const ids = await Promise.all(cluster.running().map(idOf));
    assert.deepEqual(
      runs(joinFail).map((run) => `${run.event} ${run.id}`).toSorted(),
      [...[...ids, victimId].map((id) => `JOIN ${id}`), `FAIL ${victimId}`].toSorted(),
    );
    // *: every event the node logged, in the order it logged them.
    const [ran, logged] = await waitFor(
      "the * handler to have run for every logged event",
      () => {
        const ran = runs(every).map((run) => `${run.event} ${run.json.member}`);
        const logged = watcher.events().map((e) => `${e.kind} ${e.member}`);
        return ran.length === logged.length && [ran, logged];
      },
      15_000,
    );
    assert.deepEqual(ran, logged);
    // The documented pool handler: the survivors' addresses, one a line.
    const survivors = cluster.members.filter((m) => m !== victim).map((m) => m.address).toSorted();
    await waitFor(
      "the pool file to list the survivors",
      () => Deno.readTextFileSync(`${cluster.dir}/pool.txt`) === survivors.join("\n") + "\n",
      10_000,
    );
    const stats = (await watcher.stats()).handlers!;
    assert(stats.runs >= runs(joinFail).length + ran.length, JSON.stringify(stats));
    assert.equal(stats.failures, 0);
    assert.equal(stats.dropped, 0);
  } finally {
    await cluster.stop();
  }
});

Deno.test("handlers: a handler past its timeout is killed and logged", async () => {
  const cluster = new Cluster("ports", 1);
  try {
    const sleeper = script(cluster.dir, "sleeper.sh", 'echo "slow on $MEMBER_EVENT" >&2\nsleep 20');
    const node = cluster.add(["--introducer", "--on", `*=${sleeper}`, "--handler-timeout", "1"]);
    const line = await waitFor(
      "the timeout to be logged",
      () => node.stderr().split("\n").find((l) => /ran past 1 s and was killed/.test(l)),
      15_000,
    );
    assert.match(line, /\[WRN\].*handler .*sleeper\.sh for JOIN .*stderr: "slow on JOIN"/);
    const stats = (await node.stats()).handlers!;
    assert.equal(stats.timeouts, 1);
    assert.equal(stats.failures, 1);
  } finally {
    await cluster.stop();
  }
});

Deno.test("handlers: one that sleeps 10 s per event delays no detection; overflow is counted", async () => {
  const cluster = new Cluster("ports", 4);
  try {
    const slow = script(cluster.dir, "slow.sh", "cat > /dev/null\nsleep 10");
    const watcher = cluster.add([
      "--introducer",
      "--on",
      `*=${slow}`,
      "--handler-queue",
      "2",
      "--handler-timeout",
      "60",
    ]);
    await waitFor("the introducer", () => watcher.stats(), 15_000);
    for (let i = 1; i < 4; i++) cluster.add(["--join", watcher.address]);
    await cluster.waitForAgreement(30_000);
    const victim = cluster.members[3];
    const victimId = await idOf(victim);
    const killedMs = Date.now();
    victim.signal("SIGKILL");
    const survivors = cluster.members.filter((m) => m !== victim);
    const detected = await waitFor(
      "every survivor to log FAIL for the killed member",
      () => {
        const times = survivors.map((m) =>
          m.events().find((e) => e.kind === "FAIL" && e.member === victimId)?.timeMs
        );
        return times.every((t) => t !== undefined) ? times as number[] : undefined;
      },
      20_000,
    );
    // The node whose handler sleeps detects as the others do: within the bounds for all (6 s).
    const watcherSeconds = (detected[0] - killedMs) / 1000;
    assert(
      watcherSeconds <= 6,
      `the node with the slow handler detected after ${watcherSeconds} s`,
    );
    assert(
      Math.max(...detected) - killedMs <= 6_000,
      `detected at ${detected.map((t) => t - killedMs)} ms`,
    );
    const falseFails = cluster.members.flatMap((m) =>
      m.events().filter((e) => e.kind === "FAIL" && e.member !== victimId)
    );
    assert.deepEqual(falseFails, []);
    const stats = (await watcher.stats()).handlers!;
    assert(stats.dropped > 0, JSON.stringify(stats));
    assert(stats.queued <= 2, JSON.stringify(stats));
    assert.match(watcher.stderr(), /handler queue full \(2 runs waiting\): dropped \d+ run/);
  } finally {
    await cluster.stop();
  }
});
