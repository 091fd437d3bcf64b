/**
 * `member serve`: run this machine's member of the cluster until SIGINT or SIGTERM.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import {
  configureSync,
  getLogger,
  getTextFormatter,
  type Logger,
  type LogLevel,
} from "@logtape/logtape";
import { parseAddress } from "../mod/core/address.ts";
import type { MetricsServer } from "../mod/metrics/metrics.ts";
import { handlerQueueMax, Handlers, handlerTimeoutDefaultMs } from "../mod/handlers/handlers.ts";
import { type HandlerSpec, parseHandlerSpec, programProblem } from "../mod/handlers/spec.ts";
import { Node } from "../mod/node/node.ts";
import { StartError } from "../mod/node/options.ts";
import { integerIn, numberIn, RuntimeFailure, UsageError } from "./_cli.ts";
import { KeyError, Keyring } from "../mod/wire/seal.ts";
import { clusterNameProblem } from "../mod/wire/cluster.ts";
import { advertiseAddress, bindHost, joinAddress, serveAddresses } from "./_addresses.ts";
import { tagPair } from "./_tags.ts";
import { tagsProblem } from "../mod/core/tags.ts";
import type { Tags } from "../mod/core/types.ts";
import {
  configOption,
  profileOption,
  resolveSettings,
  settingOption,
  type SettingsFlags,
} from "./_settings.ts";

interface ServeFlags extends SettingsFlags {
  introducer?: boolean;
  join?: string[];
  host?: string;
  bind?: string;
  advertise?: string;
  retryJoin?: boolean;
  cluster?: string;
  port: number;
  dataDir?: string;
  dropRate: number;
  suspicion: boolean;
  logLevel: LogLevel;
  grep?: string[];
  grepLog: boolean;
  keyFile?: string;
  on?: HandlerSpec[];
  handlerTimeout: number;
  handlerQueue: number;
  metrics?: { host: string; port: number };
  tag?: Tags;
}

/** Parses `--metrics HOST:PORT`: any address of this machine, `0.0.0.0` for all of them. */
function metricsAddress(text: string): { host: string; port: number } {
  const parsed = parseAddress(text);
  if ("error" in parsed) throw new InvalidArgumentError(parsed.error);
  return { host: parsed.host.replace(/^\[(.*)\]$/, "$1"), port: parsed.port };
}

/** Parses `--cluster NAME`. */
function clusterName(text: string): string {
  const problem = clusterNameProblem(text);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  return text;
}

/** Parses one `--on KINDS=PROGRAM` and adds it to those before. */
function handlerSpec(text: string, previous: HandlerSpec[] = []): HandlerSpec[] {
  const parsed = parseHandlerSpec(text);
  if ("error" in parsed) throw new InvalidArgumentError(parsed.error);
  return [...previous, parsed];
}

/** The `serve` subcommand. */
export function serveCommand(setExit: (code: number) => void): Command {
  return new Command("serve")
    .description(
      "Run this machine's member: UDP gossip and TCP requests on one port, the event log in the " +
        "data dir. SIGINT or SIGTERM leaves the group and exits.",
    )
    .option("--introducer", "start a new cluster: the well-known contact others join through")
    .option(
      "--join <HOST:PORT>",
      "join the cluster through this member (a HOST alone: at this node's --port); " +
        "repeatable: each is tried in turn, and every address a name resolves to",
      joinAddress,
    )
    .option(
      "--retry-join",
      "keep trying the --join contacts, with backoff up to 10 s, instead of exiting",
    )
    .option(
      "--host <HOST>",
      "the address others reach this node at (default: 127.0.0.1 when joining a loopback " +
        "address, otherwise this machine's first non-loopback IPv4 address)",
    )
    .option(
      "--bind <HOST>",
      "the address the sockets bind, when not --host: 0.0.0.0 or :: for every address",
      bindHost,
    )
    .option(
      "--advertise <HOST[:PORT]>",
      "the address the others are told, when not --host and --port (behind NAT, in a container)",
      advertiseAddress,
    )
    .option(
      "--cluster <NAME>",
      "the cluster's name: members of another cluster are not joined nor heard (default: none)",
      clusterName,
    )
    .option("--port <PORT>", "UDP and TCP port", integerIn(1, 65535), 3000)
    .option("--data-dir <DIR>", "event log and state (default: ./member-data/HOST_PORT)")
    .option(
      "--drop-rate <P>",
      "drop this share of incoming datagrams on purpose (0 to 1), to measure false positives",
      numberIn(0, 1),
      0,
    )
    .option("--no-suspicion", "start the cluster with suspicion off (a joiner takes the cluster's)")
    .option(
      "--tag <KEY=VALUE>",
      "what this node says about itself, seen by every member (repeatable; at most 64 tags " +
        "in 1,024 bytes; member tags changes them at run time)",
      tagPair,
    )
    .option(
      "--grep <PATH_OR_GLOB>",
      "a file `member grep` may search here, besides the event log; repeatable " +
        "(default: DATA_DIR/*.log alone)",
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option(
      "--no-grep-log",
      "serve only the --grep files to `member grep`, not this node's event log (DATA_DIR/*.log)",
    )
    .option(
      "--key-file <FILE>",
      "seal every datagram and TCP frame with the cluster key(s) in FILE (see member keygen); " +
        "SIGHUP reloads it",
    )
    .option(
      "--metrics <HOST:PORT>",
      "serve Prometheus metrics at http://HOST:PORT/metrics (127.0.0.1:9464 keeps them local)",
      metricsAddress,
    )
    .option(
      "--on <KINDS=PROGRAM>",
      "run PROGRAM (an absolute path; no shell, no arguments) for each event of KINDS (a comma " +
        "list such as JOIN,FAIL, or *), the event as JSON on stdin and MEMBER_EVENT, MEMBER_ID, " +
        "MEMBER_ADDRESS, MEMBER_VERSION, MEMBER_SELF, MEMBER_TAGS set; one at a time, in order; " +
        "repeatable. The build must allow it: deno task compile --handler PROGRAM",
      handlerSpec,
    )
    .option(
      "--handler-timeout <SECONDS>",
      "kill a handler still running after this long (SIGTERM, then SIGKILL)",
      numberIn(0.001, 86_400),
      handlerTimeoutDefaultMs / 1000,
    )
    .option(
      "--handler-queue <RUNS>",
      "handler runs waiting at most; past it, runs are dropped, counted and logged",
      integerIn(1, 1_000_000),
      handlerQueueMax,
    )
    .addOption(
      new Option("--log-level <LEVEL>", "operational log level, on stderr")
        .choices(["debug", "info", "warning", "error"])
        .default("info"),
    )
    .addOption(profileOption())
    .addOption(configOption())
    .addOption(settingOption())
    .addHelpText(
      "after",
      "\nExamples:\n  member serve --introducer --host 10.0.0.1\n" +
        "  member serve --join 10.0.0.1:3000 --host 10.0.0.2 --data-dir /var/lib/member\n",
    )
    .action(async (flags: ServeFlags) => {
      setExit(await serve(flags));
    });
}

async function serve(flags: ServeFlags): Promise<number> {
  const { host, bindHost, advertisedPort, join } = serveAddresses(flags);
  if (!flags.grepLog && flags.grep === undefined) {
    throw new UsageError(
      "--no-grep-log leaves `member grep` nothing to search here: give --grep PATH_OR_GLOB too",
    );
  }
  if (flags.dataDir === "") throw new UsageError("--data-dir is empty: give a directory");
  for (const spec of flags.grep ?? []) {
    if (spec === "") throw new UsageError("--grep is empty: give a file, or a glob");
    if (!/[*?[]/.test(spec) && isDirectory(spec)) {
      throw new UsageError(
        `--grep ${spec} is a directory: give files, or a glob such as ${
          spec.replace(/\/$/, "")
        }/*.log`,
      );
    }
  }
  for (const spec of flags.on ?? []) {
    const problem = programProblem(spec.program);
    if (problem !== undefined) throw new UsageError(`--on: ${problem}`);
  }
  const tagsRefused = flags.tag === undefined ? undefined : tagsProblem(flags.tag);
  if (tagsRefused !== undefined) throw new UsageError(`--tag: ${tagsRefused}`);
  // Checked before anything starts: a bad setting is the operator's error, one line, exit 2.
  const settings = resolveSettings(flags);
  configureLogging(flags.logLevel);
  const logger = getLogger(["member", "serve"]);
  // Made before the node, so that the handlers hear the events of its join too.
  const eventHandlers = flags.on === undefined ? undefined : new Handlers(flags.on, {
    logger,
    timeoutMs: flags.handlerTimeout * 1000,
    queueMax: flags.handlerQueue,
  });
  let keyring: Keyring | undefined;
  if (flags.keyFile !== undefined) {
    try {
      keyring = await Keyring.load(flags.keyFile);
    } catch (error) {
      if (error instanceof KeyError) throw new RuntimeFailure(error.message);
      throw error;
    }
    warnIfShared(flags.keyFile, logger);
  }
  const dataDir = flags.dataDir ?? `member-data/${host.replaceAll(":", "_")}_${flags.port}`;
  // The event log stays searchable when the operator names files of their own: a `member grep`
  // for JOIN or FAIL that finds nothing on the nodes that serve an application's logs would read
  // as "nothing happened". --no-grep-log is how to serve the named files alone.
  const grepPaths = flags.grep === undefined
    ? undefined
    : flags.grepLog
    ? [...flags.grep, `${dataDir}/*.log`]
    : flags.grep;
  // Listening from the start: a signal while the join is still being retried ends it too.
  const stop = Promise.withResolvers<string>();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const handlers = signals.map((signal) => {
    const handler = () => stop.resolve(signal);
    Deno.addSignalListener(signal, handler);
    return [signal, handler] as const;
  });
  let node: Node;
  try {
    const starting = Node.start({
      host,
      port: flags.port,
      ...(bindHost === undefined ? {} : { bindHost }),
      ...(advertisedPort === undefined ? {} : { advertisedPort }),
      cluster: flags.cluster ?? "",
      dataDir,
      join,
      retryJoin: flags.retryJoin === true,
      dropRate: flags.dropRate,
      suspicion: flags.suspicion,
      config: settings.config,
      profile: settings.profile,
      ...(flags.tag === undefined ? {} : { tags: flags.tag }),
      logger,
      grepPaths,
      keyring,
      onEvents: eventHandlers?.listener,
    });
    const first = await Promise.race([starting, stop.promise]);
    if (typeof first === "string") {
      // Not a member yet, so there is nothing to leave; what was opened goes with the process.
      logger.info("{signal} before the node joined: stopping", { signal: first });
      await eventHandlers?.close(0);
      return 0;
    }
    node = first;
  } catch (error) {
    await eventHandlers?.close(0);
    if (error instanceof StartError) throw new RuntimeFailure(error.message);
    throw error;
  }
  eventHandlers?.showStats(node);
  logger.info("serving {address}; events in {dataDir}/member.log{sealed}", {
    address: node.address,
    dataDir,
    sealed: keyring === undefined ? "" : `; sealed with ${keyring.size} key(s)`,
  });
  let metrics: MetricsServer | undefined;
  if (flags.metrics !== undefined) {
    // Loaded only when asked for: the metrics library and the Node modules it pulls in (http,
    // zlib, cluster) hold about 6 MiB of every member's memory (docs/benchmarks.md).
    const { MetricsError, MetricsServer } = await import("../mod/metrics/metrics.ts");
    try {
      metrics = MetricsServer.start(node, { ...flags.metrics, logger });
    } catch (error) {
      if (!(error instanceof MetricsError)) throw error;
      // Already a member: it leaves as on SIGTERM, so that the others log LEAVE, not FAIL.
      await Promise.race([node.leave(), new Promise((resolve) => setTimeout(resolve, 3000))]);
      await node.close();
      throw new RuntimeFailure(error.message);
    }
  }
  if (join !== undefined && flags.suspicion === false) {
    logger.warn("--no-suspicion applies when starting a cluster; this node follows the cluster's");
  }
  const reload = async () => {
    try {
      const keys = await Keyring.load(flags.keyFile!);
      node.setKeyring(keys);
      logger.info("SIGHUP: reloaded {count} key(s) from {file}", {
        count: keys.size,
        file: flags.keyFile,
      });
    } catch (error) {
      logger.error("SIGHUP: kept the old keys: {error}", { error: (error as Error).message });
    }
  };
  // A hangup (a closed terminal, `systemctl reload`) must not kill the node: without a key there
  // is nothing to reload, and it says so.
  const onHangup = () =>
    keyring === undefined
      ? logger.info("SIGHUP: nothing to reload (no --key-file)")
      : void reload();
  Deno.addSignalListener("SIGHUP", onHangup);
  const signal = await stop.promise;
  logger.info(node.state === "member" ? "{signal}: leaving the group" : "{signal}: stopping", {
    signal,
  });
  const leaving = node.leave();
  await Promise.race([leaving, new Promise((resolve) => setTimeout(resolve, 3000))]);
  await metrics?.close();
  await node.close();
  // After the node: the handlers of its own LEAVE get their chance to run, within a grace.
  await eventHandlers?.close();
  for (const [name, handler] of handlers) Deno.removeSignalListener(name, handler);
  Deno.removeSignalListener("SIGHUP", onHangup);
  return 0;
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

const encoder = new TextEncoder();
/** A key file others on the machine may read gives the cluster away: the operator is told. */
function warnIfShared(path: string, logger: Logger): void {
  let mode: number | null = null;
  try {
    mode = Deno.statSync(path).mode;
  } catch {
    return;
  }
  if (mode !== null && (mode & 0o077) !== 0) {
    logger.warn("the key file {path} may be read by other users (mode {mode}): chmod 600 it", {
      path,
      mode: (mode & 0o777).toString(8).padStart(3, "0"),
    });
  }
}

/** Strings bare (addresses, ids), so that the operational log greps like the event log. */
const formatter = getTextFormatter({ value: "bare" });

/** Operational logging to stderr through LogTape, at the given level and above. */
export function configureLogging(level: LogLevel): void {
  configureSync({
    reset: true,
    sinks: {
      stderr: (record) => {
        try {
          Deno.stderr.writeSync(encoder.encode(formatter(record)));
        } catch {
          // Nowhere to report a broken stderr.
        }
      },
    },
    loggers: [
      { category: ["member"], lowestLevel: level, sinks: ["stderr"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
    ],
  });
}
