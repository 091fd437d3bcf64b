/**
 * `/metrics` in the Prometheus text format, served over HTTP beside a running node
 * (`member serve --metrics HOST:PORT`), through prom-client's registry and text encoder.
 *
 * Almost everything is read from `node.stats()` when Prometheus scrapes, so the node keeps no
 * second set of counters and a scrape costs one stats call. Events are the exception: they are
 * counted as the node logs them, through `Node.watch`, whose listener runs inside the driver loop
 * and so does nothing but add to a counter. prom-client's default collectors are left out: they
 * read /proc and the environment, which the binary's permissions do not grant, and the process
 * figures they give are not this tool's to report.
 */
import type { Logger } from "@logtape/logtape";
import { Counter, Gauge, Registry } from "prom-client";
import { statusNames } from "../core/types.ts";
import { describe } from "../errors.ts";
import type { EventListener } from "../node/_driver.ts";
import type { NodeStats } from "../node/stats.ts";
import type { KindTotals } from "../node/traffic.ts";

/** What the metrics need of a node: its stats, and its events as they are logged. */
export interface MetricsNode {
  stats(): NodeStats;
  watch(listener: EventListener): { readonly stop: () => void };
}

/** The figures of a node's event handlers (`member serve --on`), over the whole process. */
export interface HandlerStats {
  /** Handler programs started. */
  readonly runs: number;
  /** Runs that exited with a status other than 0, or could not start. */
  readonly failures: number;
  /** Runs ended because they outlasted their timeout. */
  readonly timeouts: number;
  /** Events dropped because the handler queue was full. */
  readonly dropped: number;
}

/** Where and how to serve the metrics. */
export interface MetricsOptions {
  /** The address to bind: `127.0.0.1` keeps the endpoint on this machine. */
  readonly host: string;
  readonly port: number;
  /** Operational logging (the address once listening, a failed scrape). */
  readonly logger?: Logger;
  /**
   * The handlers' figures, exported as `member_handler_*`; by default the `handlers` section of
   * the node's stats, when it has one at start.
   */
  readonly handlerStats?: () => HandlerStats;
}

const noHandlerRuns: HandlerStats = { runs: 0, failures: 0, timeouts: 0, dropped: 0 };

/** Raised when the endpoint cannot listen: the port is in use, the address is not this machine's. */
export class MetricsError extends Error {
  /** The error's name. */
  override name = "MetricsError";
}

/** The one path served; anything else is a 404, so that a typo is not mistaken for no data. */
const metricsPath = "/metrics";

/** A label set and its value, as read at scrape time. */
type Sample = readonly [Record<string, string>, number];

/** Serves one node's metrics until `close`. */
export class MetricsServer {
  /** The registry the metrics live in: the library may add its own, or read `text()`. */
  readonly registry = new Registry();
  /** `host:port` the endpoint listens on (the port chosen by the system when 0 was asked). */
  readonly address: string;
  readonly #server: Deno.HttpServer;
  readonly #stopWatching: () => void;

  private constructor(node: MetricsNode, options: MetricsOptions) {
    register(this.registry, node, options.handlerStats);
    const events = new Counter({
      name: "member_events_total",
      help: "Events this node logged since the endpoint started, by kind and how it knew (via).",
      labelNames: ["kind", "via"],
      registers: [this.registry],
    });
    // Inside the driver loop: count and return, nothing more.
    this.#stopWatching = node.watch((records) => {
      for (const record of records) events.inc({ kind: record.kind, via: record.via });
    }).stop;
    try {
      this.#server = Deno.serve({
        hostname: options.host,
        port: options.port,
        onListen: () => {},
      }, (request) => this.#respond(request, options.logger));
    } catch (error) {
      this.#stopWatching();
      throw new MetricsError(
        `cannot serve metrics on ${hostPort(options.host, options.port)}: ${describe(error)}`,
      );
    }
    this.address = hostPort(options.host, (this.#server.addr as Deno.NetAddr).port);
    options.logger?.info("metrics at http://{address}{path}", {
      address: this.address,
      path: metricsPath,
    });
  }

  /** Starts serving `node`'s metrics at `http://HOST:PORT/metrics`; throws a `MetricsError`. */
  static start(node: MetricsNode, options: MetricsOptions): MetricsServer {
    return new MetricsServer(node, options);
  }

  /** The metrics as a scrape returns them, in the Prometheus text format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  async #respond(request: Request, logger: Logger | undefined): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname !== metricsPath) {
      return new Response(`not found: metrics are at ${metricsPath}\n`, { status: 404 });
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("only GET\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    try {
      return new Response(await this.text(), {
        headers: { "content-type": this.registry.contentType },
      });
    } catch (error) {
      logger?.error("a metrics scrape failed: {error}", { error: describe(error) });
      return new Response("error: the metrics could not be read\n", { status: 500 });
    }
  }

  /** Stops listening and stops counting events; scrapes under way are let finish. */
  async close(): Promise<void> {
    this.#stopWatching();
    await this.#server.shutdown();
  }
}

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Registers the metrics read from `node.stats()` at scrape time. A scrape reads the stats once,
 * however many metrics it fills from them.
 */
function register(
  registry: Registry,
  node: MetricsNode,
  handlerStats: (() => HandlerStats) | undefined,
): void {
  // One stats call per scrape: prom-client collects every metric in turn, within the same task.
  let cached: NodeStats | undefined;
  const stats = (): NodeStats => {
    if (cached === undefined) {
      cached = node.stats();
      queueMicrotask(() => (cached = undefined));
    }
    return cached;
  };
  const traffic = (): [string, KindTotals][] =>
    Object.entries(stats().traffic.totals as Record<string, KindTotals>);
  const gauge = (name: string, help: string, labelNames: string[], read: () => Sample[]) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const [labels, value] of read()) this.set(labels, value);
      },
    });
  // A counter read from the node's own totals: set to them at each scrape. The totals cover the
  // whole process, so they only grow, as a Prometheus counter must.
  const counter = (name: string, help: string, labelNames: string[], read: () => Sample[]) =>
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const [labels, value] of read()) this.inc(labels, value);
      },
    });
  const one = (read: () => number) => (): Sample[] => [[{}, read()]];
  const detection = (key: string) => one(() => stats().detections[key] ?? 0);

  gauge(
    "member_members",
    "Members in this node's list by status, this node included.",
    ["status"],
    () => {
      const { self, members } = stats();
      const counts = new Map(Object.values(statusNames).map((status) => [status, 0]));
      for (const entry of [self, ...members]) {
        counts.set(entry.status, (counts.get(entry.status) ?? 0) + 1);
      }
      return [...counts].map(([status, count]) => [{ status }, count]);
    },
  );
  gauge(
    "member_live_members",
    "Members this node counts as live (alive or suspect), itself included.",
    [],
    one(() => Number(stats().node.liveMembers)),
  );
  gauge(
    "member_suspicion_enabled",
    "1 when the cluster-wide suspicion switch is on, 0 when off.",
    [],
    one(() => (stats().node.suspicion ? 1 : 0)),
  );
  gauge(
    "member_drop_rate_ratio",
    "The share of incoming datagrams this node drops on purpose (--drop-rate).",
    [],
    one(() => Number(stats().node.dropRate)),
  );
  gauge(
    "member_uptime_seconds",
    "Seconds since this process started.",
    [],
    one(() => Number(stats().node.uptimeSeconds)),
  );
  gauge(
    "member_info",
    "Always 1; `id` names this node's current member, `tool` the tool's version.",
    ["id", "tool"],
    () => [[{ id: stats().self.id, tool: String(stats().node.tool) }, 1]],
  );

  counter(
    "member_received_bytes_total",
    "Bytes received, by message kind (gossip over UDP, the rest over TCP).",
    ["kind"],
    () => traffic().map(([kind, t]) => [{ kind }, t.bytesIn]),
  );
  counter(
    "member_sent_bytes_total",
    "Bytes sent, by message kind (gossip over UDP, the rest over TCP).",
    ["kind"],
    () => traffic().map(([kind, t]) => [{ kind }, t.bytesOut]),
  );
  counter(
    "member_received_messages_total",
    "Datagrams (gossip) and TCP messages received, by message kind.",
    ["kind"],
    () => traffic().map(([kind, t]) => [{ kind }, t.messagesIn]),
  );
  counter(
    "member_sent_messages_total",
    "Datagrams (gossip) and TCP messages sent, by message kind.",
    ["kind"],
    () => traffic().map(([kind, t]) => [{ kind }, t.messagesOut]),
  );
  counter(
    "member_dropped_total",
    "Incoming datagrams, requests and connections dropped, by reason " +
      "(on-purpose: --drop-rate; the others: malformed or refused input).",
    ["reason"],
    () => {
      const dropped = stats().dropped;
      const malformed = dropped.malformed as Record<string, number>;
      return [
        [{ reason: "on-purpose" }, Number(dropped.onPurpose)],
        ...Object.entries(malformed).map(([reason, n]): Sample => [{ reason }, n]),
      ];
    },
  );
  counter(
    "member_send_errors_total",
    "Datagrams the socket failed to send.",
    [],
    one(() => Number(stats().dropped.sendErrors)),
  );
  counter(
    "member_probes_sent_total",
    "TCP probes of silent neighbours sent.",
    [],
    detection("probesSent"),
  );
  counter(
    "member_probes_answered_total",
    "TCP probes answered.",
    [],
    detection("probesAnswered"),
  );
  counter(
    "member_probes_skipped_total",
    "Probes not sent because the most allowed in flight were under way.",
    [],
    detection("probesSkipped"),
  );
  counter(
    "member_watcher_probes_total",
    "Probes of a silent neighbour's far-side watcher, asking for its copy: sent and answered.",
    ["result"],
    () => [
      [{ result: "sent" }, stats().detections.witnessProbesSent ?? 0],
      [{ result: "answered" }, stats().detections.witnessProbesAnswered ?? 0],
    ],
  );
  counter(
    "member_indirect_probes_total",
    "Indirect probes: asked of other members about a silent neighbour, answered, and made by " +
      "this node on another's behalf.",
    ["result"],
    () => [
      [{ result: "asked" }, stats().detections.indirectProbesSent ?? 0],
      [{ result: "answered" }, stats().detections.indirectProbesAnswered ?? 0],
      [{ result: "made" }, stats().detections.indirectProbesRelayed ?? 0],
    ],
  );
  counter(
    "member_list_exchanges_total",
    "List exchanges: asked (this node asked a member for its whole list) and answered.",
    ["side"],
    () => [
      [{ side: "asked" }, stats().detections.listExchangesAsked ?? 0],
      [{ side: "answered" }, traffic().find(([kind]) => kind === "sync")?.[1].messagesIn ?? 0],
    ],
  );
  counter(
    "member_grep_queries_total",
    "member grep queries this node received.",
    [],
    one(() => traffic().find(([kind]) => kind === "grep")?.[1].messagesIn ?? 0),
  );
  // Handlers show their figures in the node's stats (`member serve --on`); a program that runs
  // its own may hand them in. A node without handlers exports none, rather than zeros.
  const section = () => stats().handlers as Partial<HandlerStats> | undefined;
  const readHandlers = handlerStats ??
    (section() === undefined ? undefined : () => ({ ...noHandlerRuns, ...section() }));
  if (readHandlers !== undefined) {
    const handlers = (key: keyof HandlerStats) => one(() => readHandlers()[key]);
    counter("member_handler_runs_total", "Event handler programs run.", [], handlers("runs"));
    counter(
      "member_handler_failures_total",
      "Event handler runs that failed (a non-zero exit, or no start).",
      [],
      handlers("failures"),
    );
    counter(
      "member_handler_timeouts_total",
      "Event handler runs ended at their timeout.",
      [],
      handlers("timeouts"),
    );
    counter(
      "member_handler_dropped_total",
      "Events not handed to handlers because their queue was full.",
      [],
      handlers("dropped"),
    );
  }
}
