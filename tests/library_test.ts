/**
 * The library as a program uses it: members started in this process with `startMember`, their
 * lists and event streams, a leave seen by another, and the example registry run as its own
 * process against a cluster of real `member serve` processes.
 */
import assert from "node:assert/strict";
import { type MemberItem, startMember, version } from "../mod/mod.ts";
import { Cluster, freePort, waitFor } from "./_cluster.ts";

const root = new URL("..", import.meta.url).pathname;

Deno.test("library: members started in-process join, list each other, and stream events", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "member-lib-" });
  const port = freePort(["127.0.0.1"], 3);
  const start = (i: number) =>
    startMember({
      port: port + i,
      dataDir: `${dir}/m${i}`,
      ...(i === 0 ? {} : { join: `127.0.0.1:${port}` }),
    });
  await using a = await start(0);
  await using b = await start(1);
  await using c = await start(2);
  try {
    await waitFor(
      "every member to list three alive",
      () => [a, b, c].every((m) => m.members().filter((e) => e.status === "alive").length === 3),
      15_000,
    );
    assert.equal(a.members()[0].id, a.id, "itself first");

    const seen: MemberItem[] = [];
    const leftId = c.id;
    const reading = (async () => {
      for await (const item of a.events()) {
        seen.push(item);
        if (item.kind === "LEAVE" && item.member === leftId) break;
      }
    })();
    await waitFor("the list", () => seen.length >= 3, 5000);
    const listed = seen.slice(0, 3);
    assert(listed.every((item) => item.kind === "MEMBER"));
    assert.deepEqual(
      new Set(listed.map((item) => item.member)),
      new Set([a.id, b.id, c.id]),
    );
    assert.equal(listed.find((item) => item.kind === "MEMBER" && item.self)?.member, a.id);

    await c.leave();
    await Promise.race([
      reading,
      new Promise((_, reject) => setTimeout(() => reject(new Error("no LEAVE in 10 s")), 10_000)),
    ]);
    const leave = seen.at(-1)!;
    assert(leave.kind === "LEAVE" && leave.member === leftId && leave.node === a.id);
    assert(!seen.slice(3).some((item) => item.kind === "MEMBER"), "the list comes once, first");

    // A member that left joins again as a new version.
    await c.join();
    assert.notEqual(c.id, leftId);
    await waitFor(
      "the new version to be listed",
      () => a.members().some((e) => e.id === c.id && e.status === "alive"),
      10_000,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("library: a reader that stops early stops its stream; an aborted one ends", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "member-lib-" });
  try {
    await using a = await startMember({ port: freePort(), dataDir: `${dir}/m` });
    for await (const item of a.events()) {
      assert.equal(item.kind, "MEMBER");
      break;
    }
    const stop = new AbortController();
    const items: MemberItem[] = [];
    const reading = (async () => {
      for await (const item of a.events({ signal: stop.signal })) items.push(item);
    })();
    await waitFor("its own entry", () => items.length === 1, 5000);
    stop.abort();
    await reading;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("example: the registry prints the live set as members join and fail", async () => {
  const cluster = new Cluster("ports", 4);
  let registry: Deno.ChildProcess | undefined;
  try {
    await cluster.start(2);
    const { host, port } = cluster.addressOf(2);
    registry = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--unstable-net",
        "--allow-net",
        "--allow-read",
        "--allow-write",
        `${root}examples/registry.ts`,
        "--host",
        host,
        "--port",
        `${port}`,
        "--join",
        cluster.members[0].address,
        "--data-dir",
        `${cluster.dir}/registry`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const lines: string[] = [];
    const reading = (async () => {
      const decoder = new TextDecoderStream();
      let rest = "";
      for await (const text of registry.stdout.pipeThrough(decoder)) {
        rest += text;
        const parts = rest.split("\n");
        rest = parts.pop()!;
        lines.push(...parts);
      }
    })();
    const addresses = [0, 1, 2].map((i) => {
      const a = cluster.addressOf(i);
      return `${a.host}:${a.port}`;
    });
    await waitFor(
      "the registry to print all three",
      () => lines.some((l) => l.endsWith(`live 3: ${addresses.join(" ")}`)),
      20_000,
    );
    cluster.members[1].signal("SIGKILL");
    await waitFor(
      "the registry to print the crash",
      () => lines.some((l) => l.endsWith(`live 2: ${addresses[0]} ${addresses[2]}`)),
      15_000,
    );
    registry.kill("SIGTERM");
    const status = await registry.status;
    await reading;
    assert.equal(
      status.code,
      0,
      new TextDecoder().decode(
        (await registry.stderr.getReader()
          .read()).value,
      ),
    );
    registry = undefined;
    // It left: the introducer logged LEAVE, not FAIL.
    await waitFor(
      "the introducer to list the registry as left",
      async () =>
        (await cluster.members[0].stats()).members.some((e) =>
          e.address === addresses[2] && e.status === "left"
        ),
      10_000,
    );
  } finally {
    if (registry !== undefined) {
      registry.kill("SIGKILL");
      await registry.status;
    }
    await cluster.stop();
  }
});

Deno.test("library: the package manifest names the library at the tool's version, and would publish", async () => {
  const manifest = JSON.parse(Deno.readTextFileSync(`${root}deno.json`));
  assert.equal(manifest.version, version);
  assert.equal(manifest.exports, "./mod/mod.ts");
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["publish", "--dry-run", "--allow-dirty"],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stderr) + new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0, text);
  assert.match(text, /mod\/mod\.ts/);
});
