/**
 * `member serve --metrics`: the endpoint read as Prometheus reads it. A 3-member cluster of real
 * processes, its text checked by hand, then a real Prometheus server (Debian's `prometheus`) that
 * scrapes it every second and is asked through its HTTP API; the alert rules and the Grafana
 * dashboard shipped in docs/ are checked against the names the endpoint exports.
 */
import assert from "node:assert/strict";
import { Cluster, freePort, member, type MemberProcess, waitFor } from "./_cluster.ts";

const root = new URL("..", import.meta.url).pathname;
const prometheusPath = "/usr/bin/prometheus";
const promtoolPath = "/usr/bin/promtool";

/** Says what to install when Prometheus is missing, instead of a stack trace from spawn. */
function requirePrometheus(): void {
  for (const path of [prometheusPath, promtoolPath]) {
    try {
      Deno.statSync(path);
    } catch {
      throw new Error(
        `${path} is missing: install Debian's prometheus (apt-get install -y prometheus), as ` +
          "the README's Quick start and .ci/run do",
      );
    }
  }
}

/** One sample of the text format: name, labels and value. */
interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** Parses the Prometheus text format strictly enough to catch a malformed line. */
function parseText(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("# HELP ")) continue;
    const type = line.match(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$/);
    if (type !== null) {
      types.set(type[1], type[2]);
      continue;
    }
    const sample = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+]+|NaN)$/);
    assert(sample !== null, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (sample[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)",?/g)) {
      labels[pair[1]] = pair[2];
    }
    samples.push({ name: sample[1], labels, value: Number(sample[3]) });
  }
  return { samples, types };
}

function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples.filter((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  ).reduce((sum, s) => sum + s.value, 0);
}

async function scrape(address: string): Promise<string> {
  const response = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(2000) });
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return await response.text();
}

/** Asks Prometheus's HTTP API for an instant query; the vector's samples as numbers. */
async function query(prometheus: string, expr: string): Promise<number[]> {
  const url = `http://${prometheus}/api/v1/query?query=${encodeURIComponent(expr)}`;
  const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
  const body = await response.json();
  assert.equal(body.status, "success", JSON.stringify(body));
  return body.data.result.map((r: { value: [number, string] }) => Number(r.value[1]));
}

/** Runs `/usr/bin/prometheus` on loopback, scraping `targets` every second, until `stop`. */
function startPrometheus(dir: string, port: number, targets: string[]): {
  readonly address: string;
  readonly stop: () => Promise<void>;
} {
  const config = `${dir}/prometheus.yml`;
  Deno.writeTextFileSync(
    config,
    [
      "global:",
      "  scrape_interval: 1s",
      "  scrape_timeout: 1s",
      "  evaluation_interval: 1s",
      "rule_files:",
      `  - ${root}docs/alerts.yml`,
      "scrape_configs:",
      "  - job_name: member",
      "    static_configs:",
      `      - targets: [${targets.map((t) => `"${t}"`).join(", ")}]`,
      "",
    ].join("\n"),
  );
  const log = Deno.openSync(`${dir}/prometheus.log`, { create: true, append: true });
  const child = new Deno.Command(prometheusPath, {
    args: [
      `--config.file=${config}`,
      `--storage.tsdb.path=${dir}/tsdb`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const piped = child.stderr.pipeTo(log.writable).catch(() => {});
  return {
    address: `127.0.0.1:${port}`,
    stop: async () => {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // Gone meanwhile.
        }
      }, 5000);
      await child.status;
      await piped;
      clearTimeout(timer);
    },
  };
}

Deno.test("metrics: a 3-member cluster, scraped by hand and by a real Prometheus", async (t) => {
  requirePrometheus();
  const cluster = new Cluster("ports");
  const metricsPort = freePort(["127.0.0.1"], 3);
  const metricsOf = (i: number) => `127.0.0.1:${metricsPort + i}`;
  let prometheus: { stop: () => Promise<void> } | undefined;
  const members: MemberProcess[] = [];
  try {
    // A handler on the introducer, so that its figures show too.
    const introducer = cluster.add([
      "--introducer",
      "--metrics",
      metricsOf(0),
      "--on",
      "JOIN=/usr/bin/true",
    ]);
    members.push(introducer);
    await waitFor("the introducer", () => introducer.stats(), 15_000);
    for (const i of [1, 2]) {
      members.push(cluster.add(["--join", introducer.address, "--metrics", metricsOf(i)]));
    }
    await cluster.waitForAgreement(30_000);

    await t.step("the text format, members by status, JOIN events counted", async () => {
      // The introducer lists a joiner as soon as it accepts its join, over TCP: a scrape just after
      // may come before the joiners' first gossip has.
      const text = await waitFor("3 alive and traffic in the introducer's metrics", async () => {
        const text = await scrape(metricsOf(0));
        const samples = parseText(text).samples;
        return valueOf(samples, "member_members", { status: "alive" }) === 3 &&
          valueOf(samples, "member_received_bytes_total", { kind: "gossip" }) > 0 &&
          valueOf(samples, "member_sent_messages_total", { kind: "gossip" }) > 0 && text;
      }, 10_000);
      const { samples, types } = parseText(text);
      for (const name of types.keys()) {
        assert.match(name, /^member_/, `${name}: every name carries the member_ prefix`);
        if (types.get(name) === "counter") assert.match(name, /_total$/);
      }
      assert.equal(types.get("member_members"), "gauge");
      assert.equal(types.get("member_events_total"), "counter");
      assert.equal(types.get("member_watcher_probes_total"), "counter");
      assert.equal(types.get("member_indirect_probes_total"), "counter");
      assert.equal(valueOf(samples, "member_members", { status: "failed" }), 0);
      assert.equal(valueOf(samples, "member_live_members"), 3);
      assert.equal(valueOf(samples, "member_suspicion_enabled"), 1);
      // The introducer was listening when the other two joined: it logged a JOIN for each.
      assert(valueOf(samples, "member_events_total", { kind: "JOIN" }) >= 2);
      assert(valueOf(samples, "member_received_bytes_total", { kind: "gossip" }) > 0);
      assert(valueOf(samples, "member_sent_messages_total", { kind: "gossip" }) > 0);
      assert(valueOf(samples, "member_received_messages_total", { kind: "join" }) >= 2);
      await waitFor("the handler's runs counted", async () => {
        const { samples } = parseText(await scrape(metricsOf(0)));
        return valueOf(samples, "member_handler_runs_total") >= 3 &&
          valueOf(samples, "member_handler_failures_total") === 0;
      }, 10_000);
      const joiner = parseText(await scrape(metricsOf(1)));
      assert(!joiner.types.has("member_handler_runs_total"), "no handler metrics without --on");
      const notFound = await fetch(`http://${metricsOf(0)}/`, {
        signal: AbortSignal.timeout(2000),
      });
      await notFound.body?.cancel();
      assert.equal(notFound.status, 404);
    });

    await t.step("the alert rules pass promtool; the dashboard parses", async () => {
      const check = await new Deno.Command(promtoolPath, {
        args: ["check", "rules", `${root}docs/alerts.yml`],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(check.code, 0, new TextDecoder().decode(check.stderr));
      const exported = new Set(parseText(await scrape(metricsOf(0))).types.keys());
      // The handler metrics are there only on nodes with --on; every other name the docs use
      // must be one the endpoint exports.
      const known = (name: string) => exported.has(name) || name.startsWith("member_handler_");
      const rules = Deno.readTextFileSync(`${root}docs/alerts.yml`);
      for (const [name] of rules.matchAll(/member_[a-z_]+/g)) assert(known(name), name);
      const dashboard = JSON.parse(Deno.readTextFileSync(`${root}docs/grafana-dashboard.json`));
      const exprs: string[] = dashboard.panels.flatMap((p: { targets: { expr: string }[] }) =>
        p.targets.map((target) => target.expr)
      );
      assert(exprs.length >= 6);
      for (const expr of exprs) {
        for (const [name] of expr.matchAll(/member_[a-z_]+/g)) assert(known(name), name);
      }
      const titles = dashboard.panels.map((p: { title: string }) => p.title).join(" ");
      for (const word of ["Members", "Events", "Traffic", "Dropped", "Probes"]) {
        assert(titles.includes(word), `a panel for ${word}`);
      }
    });

    await t.step("Prometheus scrapes it; a crash shows as FAIL through its API", async () => {
      const dir = `${cluster.dir}/prometheus`;
      Deno.mkdirSync(dir);
      const started = startPrometheus(dir, freePort(), [0, 1, 2].map(metricsOf));
      prometheus = started;
      const alive = 'member_members{status="alive"}';
      await waitFor(
        "Prometheus to see 3 alive on each member",
        async () => {
          const values = await query(started.address, alive);
          return values.length === 3 && values.every((v) => v === 3);
        },
        30_000,
        500,
      );
      const fails = 'sum(member_events_total{kind="FAIL"}) or vector(0)';
      const before = (await query(started.address, fails))[0];
      members[2].signal("SIGKILL");
      await members[2].status;
      const after = await waitFor(
        "Prometheus to see the FAIL counted",
        async () => {
          const value = (await query(started.address, fails))[0];
          return value > before && value;
        },
        30_000,
        500,
      );
      assert(after >= before + 1);
      const survivors = await query(started.address, `${alive} and on(instance) up == 1`);
      assert(survivors.length >= 2);
    });
  } finally {
    await prometheus?.stop();
    await cluster.stop();
  }
});

Deno.test("metrics: a port in use or a bad --metrics is one line", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "member-metrics-" });
  const held = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const heldPort = (held.addr as Deno.NetAddr).port;
    const port = freePort();
    const inUse = await member([
      "serve",
      "--introducer",
      "--host",
      "127.0.0.1",
      "--port",
      `${port}`,
      "--data-dir",
      `${dir}/node`,
      "--log-level",
      "error",
      "--metrics",
      `127.0.0.1:${heldPort}`,
    ]);
    assert.equal(inUse.code, 1, inUse.stderr);
    const lines = inUse.stderr.trim().split("\n");
    assert.equal(lines.length, 1, inUse.stderr);
    assert.match(
      lines[0],
      new RegExp(`^error: cannot serve metrics on 127\\.0\\.0\\.1:${heldPort}`),
    );
    const bad = await member(["serve", "--introducer", "--metrics", "localhost"]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--metrics/);
  } finally {
    held.close();
    Deno.removeSync(dir, { recursive: true });
  }
});
