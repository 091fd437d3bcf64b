/**
 * Tags as operators and programs meet them, on 10 real processes run from the bundle under the
 * binary's flags (run `deno task bundle` first): `serve --tag` at start, `member tags` at run
 * time, `member members` filtered by tag and status, the UPDATE lines of the event log, a
 * handler's MEMBER_TAGS, `member watch --json`, and the one line past the bound; and the library's
 * tags in-process. Every wait has a deadline; all is torn down in `finally`.
 */
import assert from "node:assert/strict";
import { tagsBytes } from "../mod/core/tags.ts";
import type { EntryJson } from "../mod/node/stats.ts";
import { binaryFlags } from "../tasks/flags.ts";
import { type Member, type MemberItem, startMember } from "../mod/mod.ts";
import { bundle, Cluster, freePort, member, type MemberProcess, waitFor } from "./_cluster.ts";

/** The members started with `--tag role=web`; the others say `role=db`, but for one untagged. */
const web = [0, 3, 6, 9];
const untagged = 1;
/** The member whose tags change at run time. */
const changer = 5;

/** The tags member `i` starts with. */
function tagsOf(i: number): Record<string, string> {
  return i === untagged ? {} : { role: web.includes(i) ? "web" : "db" };
}

function startTags(i: number): string[] {
  if (i === untagged) return [];
  return ["--tag", web.includes(i) ? "role=web" : "role=db"];
}

/** A handler that appends, per run, `MEMBER_EVENT MEMBER_ID MEMBER_TAGS` to `out`, tab-separated. */
function recorder(dir: string, out: string): string {
  const path = `${dir}/record.sh`;
  Deno.writeTextFileSync(
    path,
    `#!/bin/sh\ncat > /dev/null\nprintf '%s\\t%s\\t%s\\n' "$MEMBER_EVENT" "$MEMBER_ID" ` +
      `"$MEMBER_TAGS" >> '${out}'\n`,
  );
  Deno.chmodSync(path, 0o755);
  return path;
}

function recorded(out: string): { event: string; id: string; tags: Record<string, string> }[] {
  let text = "";
  try {
    text = Deno.readTextFileSync(out);
  } catch {
    return [];
  }
  return text.split("\n").filter((line) => line !== "").map((line) => {
    const [event, id, tags] = line.split("\t");
    return { event, id, tags: JSON.parse(tags) };
  });
}

/** `member watch --json` read line by line, as a program reads it. */
function watchJson(node: string): { lines: string[]; stop: () => Promise<void> } {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...binaryFlags(), bundle, "watch", "--json", "--node", node],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines: string[] = [];
  const reading = (async () => {
    let carry = "";
    for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
      const parts = (carry + text).split("\n");
      carry = parts.pop()!;
      lines.push(...parts);
    }
  })();
  return {
    lines,
    stop: async () => {
      try {
        child.kill("SIGINT");
      } catch { /* exited */ }
      await child.status;
      await reading;
    },
  };
}

/** What `member members ARGS --json` prints, asked of `node`. */
async function members(node: MemberProcess, args: string[]): Promise<EntryJson[]> {
  const result = await member(["members", "--node", node.address, "--json", ...args]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
}

/** True when every running member lists `id` with exactly `tags`. */
async function everyoneSees(
  cluster: Cluster,
  id: string,
  tags: Record<string, string>,
): Promise<boolean> {
  for (const m of cluster.running()) {
    const stats = await m.stats();
    const entry = [stats.self, ...stats.members].find((e) => e.id === id);
    if (entry === undefined) return false;
    try {
      assert.deepEqual(entry.tags, tags);
    } catch {
      return false;
    }
  }
  return true;
}

/** The UPDATE lines a member logged about `id` with `tags`. */
function updates(m: MemberProcess, id: string, tags: Record<string, string>): number[] {
  return m.events().filter((e) =>
    e.kind === "UPDATE" && e.member === id && JSON.stringify(e.tags) === JSON.stringify(tags)
  ).map((e) => e.timeMs);
}

Deno.test("tags: set at start and at run time reach all 10 members within 2 s; members filters them", async (t) => {
  const cluster = new Cluster("ports", 10);
  const handled = `${cluster.dir}/handled.txt`;
  let watch: { lines: string[]; stop: () => Promise<void> } | undefined;
  try {
    const handler = recorder(cluster.dir, handled);
    const introducer = cluster.add(["--introducer", ...startTags(0), "--on", `*=${handler}`]);
    await waitFor("the introducer", () => introducer.stats(), 15_000);
    for (let i = 1; i < 10; i++) cluster.add(["--join", introducer.address, ...startTags(i)]);
    await cluster.waitForAgreement(30_000);
    const ids = await Promise.all(cluster.members.map(async (m) => (await m.stats()).self.id));
    const webIds = web.map((i) => ids[i]).sort();

    await t.step(
      "tags given at start reach every member within 2 s of its JOIN there",
      async () => {
        await waitFor("every member to list every member's start tags", async () => {
          for (const [i, id] of ids.entries()) {
            if (!(await everyoneSees(cluster, id, tagsOf(i)))) return false;
          }
          return true;
        }, 10_000);
        // A member hears of a joiner with its tags, or of the joiner first and of its tags a moment
        // later: then it logs the JOIN, and an UPDATE when the tags come. The lag is between the two.
        const lags: number[] = [];
        for (const m of cluster.members) {
          const events = m.events();
          for (const [i, id] of ids.entries()) {
            if (i === untagged || m === cluster.members[i]) continue;
            const joined = events.find((e) => e.kind === "JOIN" && e.member === id);
            assert(joined !== undefined, `${m.address} logged no JOIN of ${id}`);
            const updated = events.find((e) => e.kind === "UPDATE" && e.member === id);
            lags.push(updated === undefined ? 0 : updated.timeMs - joined.timeMs);
          }
        }
        console.log(
          `start tags: ${lags.filter((lag) => lag > 0).length} of ${lags.length} came after the ` +
            `JOIN, at most ${Math.max(...lags)} ms after it`,
        );
        assert(Math.max(...lags) <= 2000, `${lags}`);
        const listed = await members(cluster.members[7], ["--tag", "role=web"]);
        assert.deepEqual(listed.map((e) => e.id).sort(), webIds);
        for (const entry of listed) {
          assert.deepEqual(entry.tags, { role: "web" });
          assert.equal(entry.status, "alive");
          assert.equal(typeof entry.address, "string");
        }
        // Anchored as Serf's are: 'we' is not 'web'; a member without the key never matches.
        assert.deepEqual(await members(cluster.members[2], ["--tag", "role=we"]), []);
        const any = await members(cluster.members[2], ["--tag", "role=.*"]);
        assert.equal(any.length, 9);
        assert(!any.some((e) => e.id === ids[untagged]));
      },
    );

    watch = watchJson(introducer.address);
    await waitFor("the watch's list", () => watch!.lines.length >= 10, 10_000);

    await t.step("member tags --set reaches every member within 2 s, one UPDATE each", async () => {
      const result = await member([
        "tags",
        "--node",
        cluster.members[changer].address,
        "--set",
        "zone=b",
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, `${ids[changer]} says role=db,zone=b\n`);
      const tags = { role: "db", zone: "b" };
      await waitFor(
        "every member to list the new tags",
        () => everyoneSees(cluster, ids[changer], tags),
        5000,
      );
      // The change's own UPDATE line is its time; every other member's is within 2 s of it.
      const [setMs] = updates(cluster.members[changer], ids[changer], tags);
      assert(setMs !== undefined);
      await waitFor(
        "an UPDATE in every event log",
        () => cluster.members.every((m) => updates(m, ids[changer], tags).length > 0),
        5000,
      );
      const lags = cluster.members.map((m) => updates(m, ids[changer], tags)[0] - setMs);
      console.log(`UPDATE lag per member (ms): ${lags.join(" ")}`);
      assert(Math.max(...lags) <= 2000, `${lags}`);
      // `member tags` alone shows them, and the JSON form names the node.
      const shown = await member(["tags", "--node", cluster.members[changer].address]);
      assert.equal(shown.stdout, "role=db\nzone=b\n");
      const json = await member(["tags", "--node", cluster.members[changer].address, "--json"]);
      assert.deepEqual(JSON.parse(json.stdout), { id: ids[changer], tags });
      const both = await members(cluster.members[0], ["--tag", "role=db", "--tag", "zone=b|c"]);
      assert.deepEqual(both.map((e) => e.id), [ids[changer]]);
      // A second change: each member logs one UPDATE per change, no more (a member that learned
      // the start tags late logged an UPDATE for them too, before these).
      const deleted = await member([
        "tags",
        "--node",
        cluster.members[changer].address,
        "--delete",
        "zone",
        "--json",
      ]);
      assert.equal(deleted.code, 0, deleted.stderr);
      assert.deepEqual(JSON.parse(deleted.stdout).self.tags, { role: "db" });
      const since = (m: MemberProcess) =>
        m.events().filter((e) =>
          e.kind === "UPDATE" && e.member === ids[changer] && e.timeMs >= setMs
        ).map((e) => e.tags);
      await waitFor(
        "an UPDATE for the second change in every event log",
        () => cluster.members.every((m) => since(m).length >= 2),
        5000,
      );
      for (const m of cluster.members) {
        assert.deepEqual(since(m), [tags, { role: "db" }], m.address);
      }
    });

    await t.step("member watch --json shows tags on MEMBER lines and UPDATE events", async () => {
      await waitFor(
        "the UPDATE in the watch",
        () => watch!.lines.some((l) => l.includes('"UPDATE"')),
        5000,
      );
      await watch!.stop();
      const objects = watch!.lines.map((line) => JSON.parse(line));
      const listed = objects.filter((o) => o.kind === "MEMBER");
      assert.equal(listed.length, 10);
      for (const o of listed) {
        const i = ids.indexOf(o.member);
        assert.deepEqual(o.tags, tagsOf(i));
      }
      const update = objects.find((o) => o.kind === "UPDATE" && o.member === ids[changer]);
      assert.deepEqual(update.tags, { role: "db", zone: "b" });
    });

    await t.step("--status filters; a handler gets MEMBER_TAGS, for a FAIL too", async () => {
      const victim = cluster.members[9];
      victim.signal("SIGKILL");
      await waitFor(
        "the FAIL on the introducer",
        async () => (await members(introducer, ["--status", "failed"])).length === 1,
        15_000,
      );
      const alive = await members(introducer, ["--status", "alive,suspect", "--tag", "role=web"]);
      assert.deepEqual(alive.map((e) => e.id).sort(), webIds.filter((id) => id !== ids[9]));
      const failed = await members(introducer, ["--status", "failed"]);
      assert.deepEqual(failed.map((e) => [e.id, e.tags]), [[ids[9], { role: "web" }]]);
      const runs = await waitFor("the FAIL handler run", () => {
        const all = recorded(handled);
        return all.some((r) => r.event === "FAIL") && all;
      }, 10_000);
      const of = (event: string, id: string) =>
        runs.filter((r) => r.event === event && r.id === id);
      assert.deepEqual(of("FAIL", ids[9]).map((r) => r.tags), [{ role: "web" }]);
      assert.deepEqual(of("JOIN", ids[3]).map((r) => r.tags), [{ role: "web" }]);
      assert.deepEqual(of("JOIN", ids[untagged]).map((r) => r.tags), [{}]);
      assert.deepEqual(of("UPDATE", ids[changer]).map((r) => r.tags), [
        { role: "db", zone: "b" },
        { role: "db" },
      ]);
    });

    await t.step("a node that leaves and joins again keeps its tags", async () => {
      const node = cluster.members[changer].address;
      assert.equal((await member(["tags", "--node", node, "--set", "zone=c"])).code, 0);
      assert.equal((await member(["leave", "--node", node])).code, 0);
      const joined = await member(["join", "--node", node, "--json"]);
      assert.equal(joined.code, 0, joined.stderr);
      const self = JSON.parse(joined.stdout).self;
      assert.notEqual(self.id, ids[changer]);
      assert.deepEqual(self.tags, { role: "db", zone: "c" });
      await waitFor(
        "the new version's tags on every list",
        () => everyoneSees(cluster, self.id, { role: "db", zone: "c" }),
        5000,
      );
    });

    await t.step("too many bytes of tags: one line, exit 1 from a node, 2 at serve", async () => {
      const big = { big: "x".repeat(1100) };
      const bytes = tagsBytes({ role: "db", zone: "c", ...big });
      const refused = await member([
        "tags",
        "--node",
        cluster.members[2].address,
        "--set",
        `big=${big.big}`,
      ]);
      assert.equal(refused.code, 1);
      assert.equal(
        refused.stderr,
        `error: tags take ${tagsBytes({ role: "db", ...big })} bytes, more than 1024\n`,
      );
      assert.ok(bytes > 1024);
      const serve = await member([
        "serve",
        "--introducer",
        "--port",
        "1",
        "--tag",
        `big=${big.big}`,
      ]);
      assert.equal(serve.code, 2);
      assert.equal(
        serve.stderr,
        `error: --tag: tags take ${tagsBytes(big)} bytes, more than 1024\n`,
      );
      for (
        const args of [["members", "--tag", "role=["], ["members", "--status", "zombie"], [
          "tags",
          "--set",
          "no equals",
        ], ["tags", "--set", "a=1", "--delete", "a"]]
      ) {
        const result = await member(args);
        assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
        assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
        assert.match(result.stderr, /^error: /);
      }
    });
  } finally {
    await watch?.stop();
    await cluster.stop();
  }
});

Deno.test("tags in the library: startMember({ tags }), setTags, and what the others list", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "member-lib-tags-" });
  const port = freePort(["127.0.0.1"], 2);
  try {
    await using a = await startMember({ port, dataDir: `${dir}/a`, tags: { role: "web" } });
    await using b = await startMember({
      port: port + 1,
      dataDir: `${dir}/b`,
      join: `127.0.0.1:${port}`,
    });
    const listedBy = (m: Member, id: string) => m.members().find((e) => e.id === id)?.tags;
    await waitFor("b to list a's tags", () => listedBy(b, a.id)?.role === "web", 5000);
    const seen: MemberItem[] = [];
    const reading = (async () => {
      for await (const item of b.events()) {
        seen.push(item);
        if (item.kind === "UPDATE") break;
      }
    })();
    await waitFor("the list", () => seen.length >= 2, 5000);
    const listedA = seen.find((item) => item.kind === "MEMBER" && item.member === a.id);
    assert.deepEqual(listedA?.tags, { role: "web" });
    a.setTags({ role: "web", zone: "b" });
    await reading;
    const update = seen.at(-1)!;
    assert(update.kind === "UPDATE" && update.member === a.id);
    assert.deepEqual(update.tags, { role: "web", zone: "b" });
    assert.throws(() => a.setTags({ big: "x".repeat(1100) }), RangeError);
    assert.deepEqual(a.members()[0].tags, { role: "web", zone: "b" }, "a refusal changes nothing");
    await a.leave();
    assert.throws(() => a.setTags({ role: "db" }), /cannot set tags: this node is not a member/);
    await a.join();
    assert.deepEqual(a.members()[0].tags, { role: "web", zone: "b" }, "a rejoin keeps them");
    await assert.rejects(
      startMember({ port: port + 1, dataDir: `${dir}/c`, tags: { "bad key": "" } }),
      RangeError,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
