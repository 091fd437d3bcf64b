/**
 * `member grep` across a real local cluster, compared line for line and count for count with GNU
 * grep run here on the same files. Also: a member killed mid-query, one that stalls, an option
 * outside the allowlist, an invalid regular expression, a bounded output, and a node's bound on
 * queries at once.
 */
import assert from "node:assert/strict";
import { grepCommand, normalizedArgs, preparedArgs, refusedOption } from "../cmd/grep.ts";
import { binaryFlags } from "../tasks/flags.ts";
import { bundle, Cluster, member, type MemberProcess, waitFor } from "./_cluster.ts";
import { known, writeLog } from "./_logs.ts";
import { fanOut } from "../mod/grep/fanout.ts";
import { plainQuery } from "../mod/wire/grep_query.ts";

const nodes = 4;

/** Each member's files, in the order it serves them (sorted). */
function filesOf(cluster: Cluster, i: number): string[] {
  return [`${cluster.dir}/logs-${i}/app.1.log`, `${cluster.dir}/logs-${i}/app.log`];
}

async function startCluster(): Promise<Cluster> {
  const cluster = new Cluster("addresses");
  for (let i = 0; i < nodes; i++) {
    Deno.mkdirSync(`${cluster.dir}/logs-${i}`, { recursive: true });
    const [rotated, current] = filesOf(cluster, i);
    await writeLog(current, i, 600_000, 1);
    await writeLog(rotated, i, 200_000, 2);
  }
  // The files compared with GNU grep's, and those alone: not the event log beside them.
  const grepFlags = (i: number) => ["--grep", `${cluster.dir}/logs-${i}/*.log`, "--no-grep-log"];
  const introducer = cluster.add(["--introducer", ...grepFlags(0)]);
  await waitFor("the introducer", () => introducer.stats(), 15_000);
  for (let i = 1; i < nodes; i++) cluster.add(["--join", introducer.address, ...grepFlags(i)]);
  await cluster.waitForAgreement(30_000);
  return cluster;
}

/** GNU grep here over member `i`'s files, `-H` as member grep has it. */
async function localGrep(args: string[], files: string[]): Promise<{ code: number; out: string }> {
  const output = await new Deno.Command("grep", {
    args: ["-H", ...args, "--", ...files],
    env: { LC_ALL: "C.UTF-8" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: output.code, out: new TextDecoder().decode(output.stdout) };
}

/** Output lines of one member, prefix removed, in order; grep's `--` separators left out. */
function linesOf(stdout: string, m: MemberProcess): string[] {
  const prefix = `${m.address}:`;
  return stdout.split("\n").filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length));
}

function withoutSeparators(text: string): string[] {
  return text.split("\n").filter((l) => l !== "" && l !== "--");
}

const queries: string[][] = [
  [known.frequent],
  ["-c", known.frequent],
  ["-c", known.rare],
  ["-n", known.rare],
  ["-i", "-n", "error timeout"],
  ["-E", "-n", "timeout after [0-9]{4}ms"],
  ["-G", "-c", "timeout after [0-9]\\{4\\}ms"],
  ["-F", "-c", "a.b"],
  ["-c", "a.b"],
  ["-w", "-c", "id"],
  ["-x", "-n", "ok"],
  ["-v", "-c", "INFO"],
  ["-l", known.rare],
  ["-L", known.rare],
  ["-o", "-E", "user=[a-z]+"],
  ["-m", "3", "-n", "WARN"],
  ["-A", "2", "-n", known.rare],
  ["-B", "1", known.rare],
  ["-C", "1", "-n", "-e", known.rare, "-e", "^ok$"],
  ["-e", "user=ann", "-e", "user=cy", "-c"],
  ["-c", "no such line anywhere"],
  ["-i", "-c", "WARN"],
  // GNU grep's shorthands and orders: -NUM is -C NUM, -y is -i, -m -1 is no limit, and of -l/-L
  // and -h/-H the last wins.
  ["-1", "-n", known.rare],
  ["-n2", known.rare],
  ["-yc", "warn"],
  ["-m", "-1", "-c", "WARN"],
  ["-L", "-l", known.rare],
  ["-l", "-L", known.rare],
  ["-h", "-H", "-c", known.rare],
  // Quiet: the exit status alone, also where output would be a count or a file name.
  ["-q", known.rare],
  ["-q", "-c", "no such line anywhere"],
  ["-q", "-L", known.rare],
];

Deno.test("member grep over a real cluster: the same lines and counts as GNU grep", async (t) => {
  const cluster = await startCluster();
  try {
    const node = cluster.members[1].address;
    for (const query of queries) {
      await t.step(query.join(" "), async () => {
        const result = await member(["grep", "--node", node, "--no-summary", ...query]);
        let anyMatch = false;
        for (let i = 0; i < nodes; i++) {
          const local = await localGrep(query, filesOf(cluster, i));
          anyMatch ||= local.code === 0;
          assert.deepEqual(
            withoutSeparators(linesOf(result.stdout, cluster.members[i]).join("\n")),
            withoutSeparators(local.out),
            `member ${i}: ${query.join(" ")}`,
          );
        }
        assert.equal(result.code, anyMatch ? 0 : 1, result.stderr);
        assert.equal(result.stderr, "");
      });
    }

    await t.step("--json: one object per match, with member, file, line and text", async () => {
      const result = await member(["grep", "--node", node, "--json", "--no-summary", known.rare]);
      assert.equal(result.code, 0, result.stderr);
      const records = result.stdout.trim().split("\n").map((l) => JSON.parse(l));
      const local = await localGrep(["-n", known.rare], filesOf(cluster, 0));
      assert.deepEqual(
        records.map((r) => `${r.file}:${r.line}:${r.text}`),
        withoutSeparators(local.out),
      );
      assert(records.every((r) => r.member === cluster.members[0].address && r.type === "match"));
      const counts = await member(["grep", "--node", node, "--json", "-c", known.frequent]);
      const perFile = counts.stdout.trim().split("\n").map((l) => JSON.parse(l));
      assert.equal(perFile.length, nodes * 2); // app.log and app.1.log
      assert(perFile.every((r) => r.type === "count" && Number.isInteger(r.count)));
    });

    await t.step("-h leaves out member and file; -q prints nothing, its status says", async () => {
      const bare = await member(["grep", "--node", node, "--no-summary", "-h", "-n", known.rare]);
      assert.equal(bare.code, 0, bare.stderr);
      const expected: string[] = [];
      for (let i = 0; i < nodes; i++) {
        expected.push(...withoutSeparators(
          (await localGrep(["-h", "-n", known.rare], filesOf(cluster, i))).out,
        ));
      }
      assert.deepEqual(withoutSeparators(bare.stdout).sort(), expected.sort());
      for (const [pattern, code] of [[known.rare, 0], ["no such line anywhere", 1]] as const) {
        const quiet = await member(["grep", "--node", node, "-q", pattern]);
        assert.deepEqual([quiet.code, quiet.stdout, quiet.stderr], [code, "", ""], pattern);
      }
      const help = await member(["grep", "--help"]);
      assert.equal(help.code, 0);
      assert.match(help.stdout, /-h, --no-filename/);
    });

    await t.step("the summary names every member and the total", async () => {
      const result = await member(["grep", "--node", node, "-c", known.rare]);
      assert.equal(result.code, 0);
      assert.match(result.stderr, new RegExp(`from ${nodes} of ${nodes} members`));
      for (const m of cluster.members) assert(result.stderr.includes(m.address), result.stderr);
    });

    await t.step("output past --max-output is cut at a line, with a notice", async () => {
      const result = await member(["grep", "--node", node, "--max-output", "10000", "INFO"]);
      assert.equal(result.code, 0, result.stderr);
      for (const m of cluster.members) {
        const bytes = linesOf(result.stdout, m).reduce((n, l) => n + l.length + 1, 0);
        assert(bytes > 0 && bytes <= 10000, `${m.address}: ${bytes} bytes`);
      }
      assert.match(result.stderr, /output cut at --max-output/);
      assert(result.stdout.endsWith("\n"));
      // Without the summary the notice still comes: a script must know its results are partial.
      const bare = await member([
        "grep",
        "--node",
        node,
        "--no-summary",
        "--max-output",
        "10000",
        "INFO",
      ]);
      const sorted = (text: string) => text.split("\n").sort();
      assert.deepEqual(sorted(bare.stdout), sorted(result.stdout));
      assert.deepEqual(
        bare.stderr.trim().split("\n").sort(),
        cluster.members.map((m) => `member grep: ${m.address}: output cut at --max-output`).sort(),
      );
    });

    await t.step("an option outside the allowlist: one clear line, exit 2", async () => {
      for (
        const args of [["-r", "x"], ["-f", "/etc/passwd"], ["--include=*.log", "x"], ["-ri", "x"]]
      ) {
        const result = await member(["grep", "--node", node, ...args]);
        assert.equal(result.code, 2, args.join(" "));
        assert.equal(result.stdout, "");
        assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
        assert.match(result.stderr, /not allowed/);
      }
      // A file named as grep takes one: each member's files are its own choice.
      for (const args of [["x", "app.log"], ["-e", "x", "app.log"]]) {
        const result = await member(["grep", "--node", node, ...args]);
        assert.equal(result.code, 2, args.join(" "));
        assert.equal(
          result.stderr,
          "error: member grep takes no FILE ('app.log'): each member searches the files it " +
            "serves (member serve --grep)\n",
        );
      }
    });

    await t.step("an invalid regular expression: one clear line, exit 2", async () => {
      for (const args of [["a\\{1"], ["-E", "(unclosed"], ["-E", "a{1"]]) {
        const local = await localGrep(args, filesOf(cluster, 0));
        if (local.code !== 2) continue; // GNU grep accepts some of these; so do we.
        const result = await member(["grep", "--node", node, ...args]);
        assert.equal(result.code, 2, args.join(" "));
        assert.equal(result.stdout, "");
        const lines = result.stderr.trim().split("\n");
        assert.equal(lines.length, 1, result.stderr);
        assert.match(lines[0], /^error: /);
      }
    });

    await t.step(
      "a member killed mid-query is reported with what it sent; the rest complete",
      async () => {
        // Member 3 gets a large file, so its output is still flowing when it dies.
        const victim = cluster.members[3];
        await writeLog(`${cluster.dir}/logs-3/big.log`, 3, 40_000_000, 3);
        const child = new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            ...binaryFlags(),
            bundle,
            "grep",
            "--node",
            node,
            "--timeout",
            "3",
            "-v",
            "zzzz",
          ],
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        const reader = child.stdout.getReader();
        const decoder = new TextDecoder();
        let text = "";
        // Read until the victim has sent something, then stop reading and kill it.
        while (!text.includes(`${victim.address}:${cluster.dir}/logs-3/big.log`)) {
          const { value, done } = await reader.read();
          if (done) break;
          text += decoder.decode(value, { stream: true });
          if (text.length > 1_000_000) text = text.slice(-200_000);
        }
        victim.signal("SIGKILL");
        await victim.status;
        for (;;) {
          const { done } = await reader.read();
          if (done) break;
        }
        const status = await child.status;
        const stderr = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
        assert.equal(status.code, 2, stderr);
        const victimRow = stderr.split("\n").find((l) => l.includes(victim.address))!;
        assert.match(victimRow, /failed: .*\((\d+) lines before\)/);
        assert(Number(/\((\d+) lines before\)/.exec(victimRow)![1]) > 0, victimRow);
        for (const m of cluster.members.slice(0, 3)) {
          const row = stderr.split("\n").find((l) => l.includes(m.address))!;
          assert.doesNotMatch(row, /failed/, row);
        }
      },
    );

    await t.step("a stalled member times out; the rest complete", async () => {
      const stalled = cluster.members[2];
      stalled.signal("SIGSTOP");
      try {
        const started = Date.now();
        const result = await member(["grep", "--node", node, "--timeout", "2", "-c", known.rare]);
        const took = Date.now() - started;
        assert.equal(result.code, 2);
        assert(took < 10_000, `took ${took} ms`);
        const row = result.stderr.split("\n").find((l) => l.includes(stalled.address))!;
        assert.match(row, /failed/);
        assert.equal(linesOf(result.stdout, cluster.members[0]).length, 2);
        // Quiet, the first match settles it: nobody waits for the stalled member.
        const quietStarted = Date.now();
        const quiet = await member(["grep", "--node", node, "--timeout", "20", "-q", known.rare]);
        assert.deepEqual([quiet.code, quiet.stdout, quiet.stderr], [0, "", ""]);
        assert(Date.now() - quietStarted < 10_000, `took ${Date.now() - quietStarted} ms`);
      } finally {
        stalled.signal("SIGCONT");
      }
    });
  } finally {
    await cluster.stop();
  }
});

Deno.test("refused options are found in bundles, but not in what a bundle's -e takes", () => {
  assert.match(refusedOption(["-nr", "x"])!, /option -r is not allowed/);
  assert.equal(refusedOption(["-ief"]), undefined); // -i -e f
  assert.equal(refusedOption(["-ie", "-r"]), undefined); // -i -e -r
  assert.match(refusedOption(["-ie", "x", "-r"])!, /-r is not allowed/);
  assert.equal(refusedOption(["--", "-r"]), undefined);
});

Deno.test("long options cut short stand for the one they begin, as with grep", () => {
  const command = grepCommand(() => {});
  assert.deepEqual(preparedArgs(["--ignore", "--line-n", "--max-c=2", "x"], command), [
    "--ignore-case",
    "--line-number",
    "--max-count=2",
    "x",
  ]);
  assert.deepEqual(preparedArgs(["--reg", "--ig", "--", "--ign"], command), [
    "--regexp",
    "--ig",
    "--",
    "--ign",
  ], "values and what follows -- are not options");
  assert.deepEqual(preparedArgs(["-ie", "--ig"], command), ["-ie", "--ig"]);
  assert.deepEqual(preparedArgs(["--cou", "--con", "3", "x"], command), [
    "--count",
    "--context",
    "3",
    "x",
  ]);
  assert.equal(
    preparedArgs(["--co", "x"], command),
    "option '--co' is ambiguous; possibilities: '--count' '--context'",
  );
  assert.match(preparedArgs(["--files-with", "x"], command) as string, /ambiguous/);
  assert.match(preparedArgs(["--recur", "x"], command) as string, /--recursive is not allowed/);
  assert.match(preparedArgs(["--file=p"], command) as string, /--file is not allowed/);
  assert.deepEqual(preparedArgs(["--bogus", "x"], command), ["--bogus", "x"], "the parser says");
});

Deno.test("grep's shorthands: -NUM is --context=NUM, -y is -i, outside values and after --", () => {
  assert.deepEqual(normalizedArgs(["-3", "-yn", "x"]), ["--context=3", "-in", "x"]);
  assert.deepEqual(normalizedArgs(["-e", "-3", "-ey"]), ["-e", "-3", "-ey"]);
  assert.deepEqual(normalizedArgs(["-ye", "-y"]), ["-ie", "-y"]);
  assert.deepEqual(normalizedArgs(["--", "-3", "-y"]), ["--", "-3", "-y"]);
  assert.deepEqual(normalizedArgs(["-2n", "x"]), ["--context=2", "-n", "x"]);
  assert.deepEqual(normalizedArgs(["-n12v", "x"]), ["--context=12", "-nv", "x"]);
  assert.deepEqual(normalizedArgs(["-1n2", "x"]), ["--context=2", "-n", "x"]);
  assert.deepEqual(normalizedArgs(["-nm2", "x"]), ["-nm2", "x"], "a value is not context");
});

Deno.test("a heavy grep on every node stalls nobody's gossip: no false positive", async () => {
  const cluster = new Cluster("addresses");
  try {
    for (let i = 0; i < nodes; i++) {
      Deno.mkdirSync(`${cluster.dir}/logs-${i}`, { recursive: true });
      await writeLog(`${cluster.dir}/logs-${i}/app.log`, i, 30_000_000, 4);
    }
    const introducer = cluster.add([
      "--introducer",
      "--grep",
      `${cluster.dir}/logs-0/*.log`,
      "--no-grep-log",
    ]);
    await waitFor("the introducer", () => introducer.stats(), 15_000);
    for (let i = 1; i < nodes; i++) {
      cluster.add([
        "--join",
        introducer.address,
        "--grep",
        `${cluster.dir}/logs-${i}/*.log`,
        "--no-grep-log",
      ]);
    }
    await cluster.waitForAgreement(30_000);
    // Every node greps its 30 MB, over and over, from several clients at once, for 10 s; every
    // query answers in full (none is refused as busy).
    const until = Date.now() + 10_000;
    let queries = 0;
    const client = async (args: string[]) => {
      while (Date.now() < until) {
        const result = await member([
          "grep",
          "--node",
          introducer.address,
          "--no-summary",
          ...args,
        ]);
        assert.equal(result.code, 0, result.stderr);
        queries++;
      }
    };
    // Six clients: past the four queries a node runs at once, so some wait their turn.
    await Promise.all([
      client(["-c", "-i", "e.*r.*o"]),
      client(["-c", "-v", "-E", "(a|b)+c"]),
      client(["-c", "-w", "id"]),
      client(["-c", "-i", "e.*r.*o"]),
      client(["-c", "-v", "-E", "(a|b)+c"]),
      client(["-c", "-w", "id"]),
    ]);
    assert(queries >= 6);
    const failures = cluster.members.flatMap((m) => m.events().filter((e) => e.kind === "FAIL"));
    assert.deepEqual(failures, []);
  } finally {
    await cluster.stop();
  }
});

/** A pattern GNU grep takes seconds over a long line of `ab`s: back-references, tried every way. */
const slowPattern = String.raw`^(.*)(.*)(.*)\3\2\1x$`;

/** A one-node cluster serving `lines` lines that `slowPattern` is slow on. */
async function slowNode(
  cluster: Cluster,
  lines: number,
): Promise<{ node: MemberProcess; file: string }> {
  const file = `${cluster.dir}/slow.log`;
  await Deno.writeTextFile(file, `${"ab".repeat(46)} x\n`.repeat(lines));
  const node = cluster.add(["--introducer", "--grep", file, "--no-grep-log"]);
  await waitFor("the node", () => node.stats(), 15_000);
  return { node, file };
}

Deno.test("a member searching long without output is not taken for a stalled one", async () => {
  // Back-references make GNU grep slow on these lines (some seconds), and -c prints nothing
  // until the end: the member's empty chunks, one a second, keep the client waiting for it.
  const cluster = new Cluster("addresses");
  try {
    const { node, file } = await slowNode(cluster, 4);
    const result = await member([
      "grep",
      "--node",
      node.address,
      "--timeout",
      "3",
      "-c",
      "-E",
      slowPattern,
    ]);
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stdout, `${node.address}:${file}:0\n`);
    assert.match(result.stderr, /from 1 of 1 member/);
  } finally {
    await cluster.stop();
  }
});

Deno.test("a node runs 4 queries at once, lets 4 wait, and refuses the next as busy", async () => {
  // Nine queries reach one node together, each a search of some seconds (back-references over a
  // long line): four run, four wait for a turn (up to 5 s), and the ninth is refused at once
  // rather than piling up. A waiting query may also be refused when its wait runs out.
  const cluster = new Cluster("addresses");
  try {
    const { node } = await slowNode(cluster, 1);
    const query = { ...plainQuery([slowPattern], "extended"), count: true };
    const answers = await Promise.all(
      Array.from({ length: 9 }, async () => {
        const started = performance.now();
        const [outcome] = await fanOut([node.address], query, {
          mode: "text",
          idleTimeoutMs: 60_000,
          bytesMax: 1 << 20,
        });
        return { outcome, ms: performance.now() - started };
      }),
    );
    const refused = answers.filter((a) => a.outcome.failure !== undefined);
    const answered = answers.filter((a) => a.outcome.failure === undefined);
    for (const { outcome } of refused) {
      assert.match(outcome.failure!, /^busy: 4 queries are running on this node, and 4 more/);
    }
    for (const { outcome } of answered) assert.equal(outcome.done?.exitCode, 1);
    assert(refused.length >= 1, "the ninth query is refused");
    assert(answered.length >= 4, `${answered.length} of 9 answered`);
    // The one refused for a full queue is told at once, before any search could end.
    const first = Math.min(...refused.map((a) => a.ms));
    const searchMs = Math.min(...answered.map((a) => a.outcome.done!.elapsedMs));
    assert(first < searchMs, `refused after ${first} ms; a search takes ${searchMs} ms`);
  } finally {
    await cluster.stop();
  }
});
