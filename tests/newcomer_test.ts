/**
 * A newcomer's path, as the README walks it: `deno task install` puts `member` on the PATH,
 * `deno task demo --keep` leaves a cluster to try it on and `--stop` ends it, `deno task compile`
 * without its runtime says what to do in one line; and the frictions met on the way: the event log
 * stays searchable beside `--grep` files, `--join HOST` takes this node's port, `member viz` keeps
 * an earlier page, and the data dir stays out of `git status`.
 */
import assert from "node:assert/strict";
import { binaryFlags } from "../tasks/flags.ts";
import { Cluster, freePort, member, MemberProcess, waitFor } from "./_cluster.ts";

const root = new URL("..", import.meta.url).pathname;
const decoder = new TextDecoder();

/** Runs a `deno task` in the clone, as a user types it. */
async function task(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", ...args],
    cwd: root,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("deno task install: member on the PATH with the binary's flags, and removed again", async () => {
  const installRoot = Deno.makeTempDirSync({ prefix: "member-install-" });
  try {
    const installed = await task(["install"], { DENO_INSTALL_ROOT: installRoot });
    assert.equal(installed.code, 0, installed.stderr);
    const command = `${installRoot}/bin/member`;
    assert.match(installed.stdout, new RegExp(`Installed ${command}\n`));
    assert.match(installed.stdout, /To remove it: .*deno.* uninstall --global member\n/);
    // Exactly the flags the compiled binary holds: no more, no fewer.
    const script = Deno.readTextFileSync(command);
    const line = script.split("\n").find((l) => l.startsWith("exec "))!;
    const allows = line.split(" ").filter((word) => /^--(allow|deny|unstable)-/.test(word));
    assert.deepEqual(allows.toSorted(), binaryFlags().toSorted(), line);
    assert(!line.includes(" --allow-all") && !line.includes(" -A "), line);

    // From a shell whose PATH holds no deno, as after `npx deno task install`.
    for (const [args, expected] of [[["--version"], /^\d+\.\d+\.\d+\n$/], [["--help"], /serve/]]) {
      const ran = await new Deno.Command(command, {
        args: args as string[],
        env: { PATH: `${installRoot}/bin:/usr/bin:/bin` },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(ran.code, 0, decoder.decode(ran.stderr));
      assert.match(decoder.decode(ran.stdout), expected as RegExp);
    }

    const removed = await new Deno.Command(Deno.execPath(), {
      args: ["uninstall", "--global", "member"],
      env: { DENO_INSTALL_ROOT: installRoot },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(removed.success, decoder.decode(removed.stderr));
    assert.deepEqual([...Deno.readDirSync(`${installRoot}/bin`)], []);
  } finally {
    Deno.removeSync(installRoot, { recursive: true });
  }
});

Deno.test("deno task demo --keep leaves a cluster to try member on; --stop ends it", async () => {
  const kept = await task(["demo", "--keep"]);
  const pids = (kept.stdout.match(/or kill ([\d ]+);/)?.[1] ?? "").split(" ").map(Number);
  try {
    assert.equal(kept.code, 0, kept.stderr);
    assert.equal(pids.length, 4, kept.stdout);
    const dir = kept.stdout.match(/their files: (\S+)\)/)![1];
    // Every command it suggests names a node that answers.
    const nodes = new Set(
      [...kept.stdout.matchAll(/^ {2}member .*--node (\S+)/gm)].map((m) => m[1]),
    );
    assert(nodes.size >= 3, kept.stdout);
    for (const node of nodes) {
      const stats = await member(["stats", "--json", "--node", node]);
      assert.equal(stats.code, 0, stats.stderr);
      const listed = JSON.parse(stats.stdout).members.filter((m: { status: string }) =>
        m.status === "alive"
      );
      assert.equal(listed.length, 3, `${node}: ${stats.stdout}`);
    }
    const counted = await member(["grep", "-c", "FAIL", "--node", [...nodes][0]]);
    assert.equal(counted.code, 0, counted.stderr);
    assert.equal(counted.stdout.trim().split("\n").length, 4, counted.stdout);

    const stopped = await task(["demo", "--stop"]);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, new RegExp(`Stopped 4 members \\(${pids.join(" ")}\\)`));
    for (const pid of pids) assert(!alive(pid), `member ${pid} still runs`);
    assert.throws(() => Deno.statSync(dir));
  } finally {
    for (const pid of pids.filter(alive)) Deno.kill(pid, "SIGKILL");
  }
});

/** True while `pid` runs; a process that exited but is not yet reaped (a zombie) does not. */
function alive(pid: number): boolean {
  const shown = new Deno.Command("ps", { args: ["-p", `${pid}`, "-o", "stat="], stderr: "null" })
    .outputSync();
  const state = decoder.decode(shown.stdout).trim();
  return shown.success && state !== "" && !state.startsWith("Z");
}

Deno.test("deno task compile without its runtime: one line, the ways on, exit 1", async () => {
  // An unreachable proxy stands for a machine that cannot reach the download. A runtime already
  // in the cache needs no download: then the build simply succeeds.
  const target = "aarch64-unknown-linux-gnu";
  const unreachable = `http://127.0.0.1:${freePort()}`;
  try {
    const built = await task(["compile", "--target", target], {
      HTTPS_PROXY: unreachable,
      HTTP_PROXY: unreachable,
      https_proxy: unreachable,
      http_proxy: unreachable,
    });
    if (built.code === 0) return;
    assert.equal(built.code, 1, built.stderr);
    const lines = built.stderr.trimEnd().split("\n");
    assert.match(
      lines.at(-1)!,
      /^error: cannot build dist\/member-aarch64-unknown-linux-gnu: deno compile could not fetch its runtime from https:\/\/\S+denort-aarch64-unknown-linux-gnu\.zip \(.+\); run `deno task bundle` .*, or compile on a machine that can reach that address$/,
    );
    assert.equal(lines.filter((l) => l.includes("error")).length, 1, built.stderr);
    assert(!built.stderr.includes("Stack backtrace"), built.stderr);
    assert(!built.stderr.includes("Caused by"), built.stderr);
  } finally {
    try {
      Deno.removeSync(`${root}dist/member-${target}`);
    } catch {
      // Not built.
    }
  }
});

Deno.test("serve --grep FILE: the event log stays searchable, unless --no-grep-log", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "member-test-" });
  Deno.writeTextFileSync(`${dir}/app.log`, "ERROR disk full\nINFO ok\n");
  const port = freePort();
  const both = new MemberProcess("127.0.0.1", port, `${dir}/both`, [
    "--introducer",
    "--grep",
    `${dir}/app.log`,
  ]);
  let alone: MemberProcess | undefined;
  try {
    await waitFor("the node", () => both.stats(), 15_000);
    const joins = await member(["grep", "-c", "JOIN", "--no-summary", "--node", both.address]);
    assert.equal(joins.code, 0, joins.stderr);
    assert.match(joins.stdout, new RegExp(`^${both.address}:${dir}/both/member.log:1$`, "m"));
    const errors = await member(["grep", "-c", "ERROR", "--no-summary", "--node", both.address]);
    assert.match(errors.stdout, new RegExp(`^${both.address}:${dir}/app.log:1$`, "m"));

    alone = new MemberProcess("127.0.0.1", freePort(), `${dir}/alone`, [
      "--introducer",
      "--grep",
      `${dir}/app.log`,
      "--no-grep-log",
    ]);
    await waitFor("the node", () => alone!.stats(), 15_000);
    const only = await member(["grep", "-c", "JOIN", "--no-summary", "--node", alone.address]);
    assert.equal(only.code, 1, only.stderr);
    assert.equal(only.stdout, `${alone.address}:${dir}/app.log:0\n`);

    const nothing = await member(["serve", "--introducer", "--no-grep-log", "--port", "1"]);
    assert.equal(nothing.code, 2);
    assert.equal(
      nothing.stderr,
      "error: --no-grep-log leaves `member grep` nothing to search here: give --grep " +
        "PATH_OR_GLOB too\n",
    );
  } finally {
    await both.stop();
    await alone?.stop();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("serve --join HOST without a port joins at this node's --port", async () => {
  const cluster = new Cluster("addresses", 2);
  try {
    const introducer = cluster.add(["--introducer"]);
    assert.notEqual(introducer.port, 3000);
    await waitFor("the introducer", () => introducer.stats(), 15_000);
    const joiner = cluster.add(["--join", introducer.host]);
    await cluster.waitForAgreement(20_000);
    assert.match(joiner.stderr(), new RegExp(`member ${joiner.address}#`));
  } finally {
    await cluster.stop();
  }
});

Deno.test("viz keeps an earlier page unless --force", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "member-test-" });
  try {
    const sim = await member(
      [
        "sim",
        "--nodes",
        "4",
        "--fail",
        "1",
        "--duration",
        "5",
        "--seed",
        "1",
        "--events",
        "run.log",
      ],
      { cwd: dir },
    );
    assert.equal(sim.code, 0, sim.stderr);
    const first = await member(["viz", "run.log"], { cwd: dir });
    assert.equal(first.code, 0, first.stderr);
    Deno.writeTextFileSync(`${dir}/replay.html`, "an earlier run's page");
    const again = await member(["viz", "run.log"], { cwd: dir });
    assert.equal(again.code, 1);
    assert.equal(
      again.stderr,
      "error: replay.html exists: give -o another file, or --force to overwrite it\n",
    );
    assert.equal(Deno.readTextFileSync(`${dir}/replay.html`), "an earlier run's page");
    const forced = await member(["viz", "run.log", "--force"], { cwd: dir });
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(Deno.readTextFileSync(`${dir}/replay.html`), /^<!doctype html>/i);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("serve's default data dir, run in the clone, stays out of git status", async (t) => {
  let isRepository = true;
  try {
    Deno.statSync(`${root}.git`);
  } catch {
    isRepository = false;
  }
  if (!isRepository) return void t.step({ name: "not a git clone", ignore: true, fn() {} });
  const checked = await new Deno.Command("git", {
    args: ["check-ignore", "--no-index", "-q", "member-data/127.0.0.1_3000/member.log"],
    cwd: root,
  }).output();
  assert.equal(checked.code, 0, "member-data/ is not ignored");
});
