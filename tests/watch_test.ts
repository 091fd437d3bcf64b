/**
 * `member watch` as programs use it: the bundle under the binary's flags, piped into a reader, on
 * a cluster of real processes on 127.0.0.x. Every wait has a deadline; all is torn down in
 * `finally`.
 */
import assert from "node:assert/strict";
import { request } from "../mod/net/client.ts";
import { binaryFlags } from "../tasks/flags.ts";
import { bundle, Cluster, type MemberProcess, waitFor } from "./_cluster.ts";

/** A `member watch` process whose stdout is read line by line, or left unread until `resume`. */
class Watch {
  readonly #child: Deno.ChildProcess;
  readonly lines: string[] = [];
  #stderr = "";
  #reading: Promise<void> | undefined;
  readonly #stderrDone: Promise<void>;

  constructor(args: string[], read = true) {
    const child = this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...binaryFlags(), bundle, "watch", ...args],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stderrDone = (async () => {
      for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
        this.#stderr += text;
      }
    })();
    if (read) this.resume();
  }

  /** Starts reading stdout (a watch made with `read` false has read nothing until now). */
  resume(): void {
    this.#reading ??= (async () => {
      let carry = "";
      for await (const text of this.#child.stdout.pipeThrough(new TextDecoderStream())) {
        const parts = (carry + text).split("\n");
        carry = parts.pop()!;
        this.lines.push(...parts);
      }
    })();
  }

  /** The lines read so far, parsed (with `--json`). */
  objects(): Record<string, unknown>[] {
    return this.lines.map((line) => JSON.parse(line));
  }

  signal(signal: Deno.Signal): void {
    try {
      this.#child.kill(signal);
    } catch { /* exited */ }
  }

  /** Waits for the exit, within `timeoutMs`; its code and all it wrote to stderr. */
  async exit(timeoutMs = 15_000): Promise<{ code: number; stderr: string }> {
    const timer = setTimeout(() => this.signal("SIGKILL"), timeoutMs);
    try {
      const status = await this.#child.status;
      this.resume();
      await Promise.all([this.#reading, this.#stderrDone]);
      return { code: status.code, stderr: this.#stderr };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The member ids a node lists, its own included. */
async function listedIds(member: MemberProcess): Promise<string[]> {
  const stats = await member.stats();
  return [stats.self.id, ...stats.members.map((m) => m.id)];
}

/**
 * Two SETTINGS events on `member`: the suspicion switch off, then on again (a switch set to what
 * it already is logs nothing).
 */
async function settingsEvents(member: MemberProcess): Promise<void> {
  for (const suspicion of [false, true]) {
    const reply = await request(
      member.address,
      { kind: "control-request", action: "set", suspicion },
      2000,
    );
    assert.equal(reply.kind === "control-response" && reply.ok, true);
  }
}

Deno.test("member watch: the list then each event, no gap or duplicate; ends as a reader expects", async (t) => {
  const cluster = new Cluster("addresses", 6);
  const watches: Watch[] = [];
  const watch = (args: string[], read = true) => {
    const started = new Watch(args, read);
    watches.push(started);
    return started;
  };
  try {
    await cluster.start(3);
    const [introducer, second, third] = cluster.members;
    const introducerId = (await introducer.stats()).self.id;
    const first = watch(["--node", introducer.address, "--json"]);

    await t.step(
      "members joining while the watch starts appear once each, as MEMBER or JOIN",
      async () => {
        // Started at once, without waiting: their joins race the watch's list.
        const fourth = cluster.add(["--join", introducer.address]);
        const fifth = cluster.add(["--join", second.address]);
        await cluster.waitForAgreement(30_000);
        const ids = await listedIds(introducer);
        assert.equal(ids.length, 5);
        await waitFor("every member in the watch", () => {
          const seen = first.objects().filter((o) => o.kind === "MEMBER" || o.kind === "JOIN");
          return ids.every((id) => seen.some((o) => o.member === id));
        }, 15_000);
        const objects = first.objects();
        assert.equal(objects[0].kind, "MEMBER");
        assert.equal(objects[0].member, introducerId, "the node's own entry comes first");
        assert.equal(objects[0].node, introducerId);
        for (const id of ids) {
          const times = objects.filter((o) =>
            (o.kind === "MEMBER" || o.kind === "JOIN") && o.member === id
          );
          assert.equal(times.length, 1, `${id}: ${JSON.stringify(times)}`);
        }
        // The list comes first, then only events.
        const lastMember = objects.findLastIndex((o) => o.kind === "MEMBER");
        assert(objects.slice(0, lastMember + 1).every((o) => o.kind === "MEMBER"));
        for (const o of objects.slice(lastMember + 1)) {
          assert.equal(o.node, introducerId);
          assert.match(String(o.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        }
        assert(fourth.address !== fifth.address);
      },
    );

    await t.step("kill -9 of a member: its FAIL, with its id", async () => {
      const victim = cluster.members[4];
      const victimId = (await victim.stats()).self.id;
      victim.signal("SIGKILL");
      await victim.status;
      await waitFor(
        "the victim's FAIL in the watch",
        () => first.objects().some((o) => o.kind === "FAIL" && o.member === victimId),
        15_000,
      );
      const about = first.objects().filter((o) =>
        o.member === victimId && o.kind !== "MEMBER" &&
        o.kind !== "JOIN"
      );
      // Its port refuses the probes of its neighbours: failed at once, without a suspicion
      // (unless one came first), by the watched node or by gossip from another neighbour.
      const fail = about[about.length - 1];
      assert.deepEqual(about.map((o) => o.kind).filter((k) => k !== "SUSPECT"), ["FAIL"]);
      assert(["refused", "gossip"].includes(String(fail.via)), `via ${fail.via}`);
      assert.equal(fail.address, victim.address);
    });

    await t.step("SIGINT ends it with exit 0 and nothing on stderr", async () => {
      first.signal("SIGINT");
      const { code, stderr } = await first.exit();
      assert.equal(stderr, "");
      assert.equal(code, 0);
    });

    await t.step("| head -n 2: exit 0, no error", async () => {
      const shell = new Deno.Command("bash", {
        args: [
          "-c",
          'set -o pipefail; "$@" | head -n 2',
          "bash",
          Deno.execPath(),
          "run",
          ...binaryFlags(),
          bundle,
          "watch",
          "--node",
          introducer.address,
        ],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      // Its reader gone, a watch finds out at its next line, as `tail -f | head` does.
      let exited = false;
      const ended = shell.output().finally(() => (exited = true));
      await waitFor(
        "the pipeline to end",
        async () => {
          if (!exited) await settingsEvents(introducer);
          return exited;
        },
        15_000,
        300,
      );
      const output = await ended;
      const text = new TextDecoder();
      assert.equal(text.decode(output.stderr), "");
      assert.equal(output.code, 0);
      const lines = text.decode(output.stdout).trimEnd().split("\n");
      assert.equal(lines.length, 2);
      assert.match(lines[0], new RegExp(`^MEMBER ${introducerId} alive `));
    });

    await t.step("a watcher that never reads is cut off; detection is not delayed", async () => {
      const stalled = watch(["--node", introducer.address, "--json"], false);
      await waitFor(
        "the watch to open",
        async () =>
          ((await introducer.stats()) as unknown as { watches: { open: number } }).watches.open ===
            1,
        10_000,
      );
      // Events until the node gives up on it: the pipe, the sockets' buffers, then its queue.
      const cutOff = async () =>
        ((await introducer.stats()) as unknown as { watches: { cutOff: number } }).watches
          .cutOff >= 1;
      const deadline = Date.now() + 90_000;
      let sent = 0;
      while (!(await cutOff())) {
        assert(Date.now() < deadline, `not cut off after ${sent} events`);
        await Promise.all(Array.from({ length: 4 }, async () => {
          for (let i = 0; i < 250; i++) await settingsEvents(introducer);
        }));
        sent += 2000;
      }
      assert.match(introducer.stderr(), /a watch from 127\.0\.0\.1 fell behind/);
      // The node still detects a crash within the bounds.
      const killedAt = Date.now();
      third.signal("SIGKILL");
      await third.status;
      const fail = await waitFor(
        "the introducer to fail the third member",
        () =>
          introducer.events().find((e) =>
            e.kind === "FAIL" && e.member.startsWith(`${third.address}#`)
          ),
        15_000,
      );
      assert(fail.timeMs - killedAt <= 6000, `detected after ${fail.timeMs - killedAt} ms`);
      // Nobody alive was failed by anyone.
      for (const m of cluster.running()) {
        const wrong = m.events().filter((e) =>
          e.kind === "FAIL" && cluster.running().some((r) => e.member.startsWith(`${r.address}#`))
        );
        assert.deepEqual(wrong, [], `${m.address} failed a live member`);
      }
      // Read at last, the stream ends with the note that it fell behind.
      stalled.resume();
      const { code, stderr } = await stalled.exit(60_000);
      assert.equal(code, 1);
      assert.match(
        stderr,
        new RegExp(
          `^error: the watch of ${
            introducer.address.replaceAll(".", "\\.")
          } ended: the watch fell behind[^\n]*\n$`,
        ),
      );
      assert(stalled.lines.length > 0);
    });

    await t.step("the watched node killed: one line on stderr, exit 1", async () => {
      const watched = watch(["--node", second.address]);
      await waitFor("the list", () => watched.lines.length >= 1, 10_000);
      assert.match(
        watched.lines[0],
        /^MEMBER 127\.0\.0\.2:\d+#\d+ alive incarnation=0 heartbeat=\d+$/,
      );
      second.signal("SIGKILL");
      const { code, stderr } = await watched.exit();
      assert.equal(code, 1);
      assert.match(
        stderr,
        new RegExp(
          `^error: the watch of ${second.address.replaceAll(".", "\\.")} ended: [^\n]+\n$`,
        ),
      );
    });
  } finally {
    for (const w of watches) w.signal("SIGKILL");
    await Promise.all(watches.map((w) => w.exit().catch(() => {})));
    await cluster.stop();
  }
});
