/**
 * The shell around one core: UDP and TCP on the same port, the clock, the receive-side drop, the
 * event log, and the answers to joins, list exchanges, stats and control requests.
 *
 * `Node` is the facade that starts and stops the parts, each in its own file: the driver loop that
 * owns the core (`_driver.ts`), the TCP server and its policies (`_server.ts`), joining and leaving
 * (`_join.ts`), control requests (`_control.ts`), the data dir (`_data_dir.ts`) and the stats
 * (`stats.ts`). Grep serving (mod/grep/serve.ts) and log streaming (mod/log/stream.ts) are
 * answers the server hands on.
 */
import { formatAddress, isAddress } from "../core/address.ts";
import { type Address, memberId, type Tags } from "../core/types.ts";
import { describe, describeFileError } from "../errors.ts";
import { GrepServer } from "../grep/serve.ts";
import { EventLog } from "../log/event_log.ts";
import { sendEvents } from "../log/stream.ts";
import { bareHost, isLoopback } from "../net/host.ts";
import type { Keyring } from "../wire/seal.ts";
import { lockDataDir, nextVersion, readMembers } from "./_data_dir.ts";
import { setTags } from "./_control.ts";
import { Driver, type EventListener } from "./_driver.ts";
import { newCore } from "./options.ts";
import { join, JoinError, joinRemembered, leave, listed, rejoin } from "./_join.ts";
import { Server } from "./_server.ts";
import { WatchServer } from "./_watch.ts";
import { contactsOf, type NodeOptions, type NodeState, StartError } from "./options.ts";
import { type EntryJson, memberList, type NodeStats, nodeStats } from "./stats.ts";

/** A running member: the shell around a core. */
export class Node {
  readonly address: Address;
  readonly options: NodeOptions;
  readonly #driver: Driver;
  readonly #server: Server;
  readonly #grep: GrepServer;
  readonly #watches: WatchServer;
  readonly #startedMs = performance.now();
  /** Counters of parts built above the node, shown in its stats (`addStats`). */
  readonly #statsSections = new Map<string, () => Record<string, number>>();
  /** Held for the process's life: one member process per data dir (`lockDataDir`). */
  readonly #dataDirLock: Deno.FsFile;

  private constructor(
    options: NodeOptions,
    driver: Driver,
    tcp: readonly Deno.TcpListener[],
    dataDirLock: Deno.FsFile,
  ) {
    this.options = options;
    this.address = driver.address;
    this.#driver = driver;
    this.#dataDirLock = dataDirLock;
    this.#grep = new GrepServer(options.grepPaths ?? [`${options.dataDir}/*.log`]);
    this.#watches = new WatchServer((listener) => this.watch(listener), driver.log);
    this.addStats("watches", () => ({ open: this.#watches.open, cutOff: this.#watches.cutOff }));
    this.#server = new Server(driver, tcp, {
      grep: (conn, request, keyring) =>
        this.#grep.serve(conn, request, keyring, (bytes) => driver.traffic.countOut("grep", bytes)),
      events: (conn, bytesMax, keyring) =>
        sendEvents(
          conn,
          driver.eventLog.path,
          bytesMax,
          keyring,
          (bytes) => driver.traffic.countOut("events", bytes),
        ),
      watch: (conn, keyring) =>
        this.#watches.serve(conn, keyring, (bytes) => driver.traffic.countOut("watch", bytes)),
      stats: () => this.stats(),
    });
  }

  /**
   * Binds UDP and TCP on the same port, opens the event log, and joins through the contact (with
   * retries and backoff) or starts a cluster. Resolves once the node is a member.
   */
  static async start(options: NodeOptions): Promise<Node> {
    const address = formatAddress(options.host, options.advertisedPort ?? options.port);
    if (!isAddress(address)) throw new StartError(`bad address ${address}`);
    const hostname = bareHost(options.bindHost ?? options.host);
    const bound = formatAddress(hostname, options.port);
    const lock = lockDataDir(options.dataDir);
    // What is open so far, closed again if a later step fails.
    const opened: { close(): void }[] = [lock];
    const abandon = (message: string): StartError => {
      for (const resource of opened) resource.close();
      return new StartError(message);
    };
    let udp: Deno.DatagramConn;
    try {
      udp = Deno.listenDatagram({ hostname, port: options.port, transport: "udp" });
    } catch (error) {
      throw abandon(`cannot listen on ${bound} (UDP): ${describe(error)}`);
    }
    opened.push(udp);
    let tcp: Deno.TcpListener;
    try {
      tcp = Deno.listen({ hostname, port: options.port, transport: "tcp" });
    } catch (error) {
      throw abandon(`cannot listen on ${bound} (TCP): ${describe(error)}`);
    }
    const listeners = [tcp, ...Node.#localListener(options)];
    opened.push(...listeners);
    let eventLog: EventLog;
    let version: number;
    try {
      eventLog = EventLog.open(options.dataDir);
      opened.push(eventLog);
      version = nextVersion(options.dataDir);
    } catch (error) {
      throw abandon(`cannot use data dir ${options.dataDir}: ${describeFileError(error)}`);
    }
    const driver = new Driver(options, udp, eventLog, newCore(options, address, version));
    // Before the join: a listener given here hears the join's own events, which come before
    // Node.start returns and so before any Node.watch.
    if (options.onEvents !== undefined) driver.subscribe(options.onEvents);
    const node = new Node(options, driver, listeners, lock);
    driver.run();
    node.#server.run();
    const remembered = readMembers(options.dataDir).filter((a) => a !== address);
    const contacts = contactsOf(options);
    try {
      if (contacts.length > 0) {
        try {
          await join(driver, contacts);
        } catch (error) {
          // Its contacts are down, or no longer members: the members of its last run may be.
          if (!(error instanceof JoinError)) throw error;
          if (await joinRemembered(driver, remembered)) {
            // Joined through a member of its last run.
          } else if (!options.retryJoin) {
            throw error;
          } else {
            // Where the contacts come up later than this node (a cluster started all at once),
            // the operator asked to wait for them rather than exit.
            driver.log.warn("{error}; --retry-join: trying again until one answers", {
              error: error.message,
            });
            await join(driver, contacts, {
              forever: true,
              firstRound: (options.joinAttempts ?? 5) + 1,
            });
          }
        }
      } else if (remembered.length > 0 && !(await joinRemembered(driver, remembered))) {
        driver.log.info(
          "none of the {count} members remembered in {dataDir}/members answered: starting a cluster",
          { count: remembered.length, dataDir: options.dataDir },
        );
      }
    } catch (error) {
      await node.close();
      throw error;
    }
    driver.becomeMember();
    driver.log.info("member {id}, {listed}", {
      id: memberId(address, driver.core.version),
      listed: listed(driver.core.liveCount),
    });
    if (options.grepPaths !== undefined) await node.#grep.checkPaths(driver.log);
    return node;
  }

  /**
   * A member bound to a machine's network address also listens on loopback, same port, so that
   * the clients on that machine reach it with their default `--node 127.0.0.1:PORT`. Only
   * clients come that way: members talk to the address the member advertises.
   */
  static #localListener(options: NodeOptions): Deno.TcpListener[] {
    const hostname = bareHost(options.bindHost ?? options.host);
    // Bound to loopback, or to every address (which loopback is one of): nothing to add.
    if (isLoopback(hostname) || hostname === "0.0.0.0" || hostname === "::") return [];
    try {
      return [Deno.listen({ hostname: "127.0.0.1", port: options.port, transport: "tcp" })];
    } catch (error) {
      options.logger.warn(
        "cannot also listen on 127.0.0.1:{port} for local clients ({error}): give them --node {address}",
        {
          port: options.port,
          error: describe(error),
          address: formatAddress(hostname, options.port),
        },
      );
      return [];
    }
  }

  /** Where the node stands. */
  get state(): NodeState {
    return this.#driver.state;
  }

  /**
   * Replaces the cluster keys (a key file reloaded on SIGHUP), for rotation without downtime: the
   * first key seals from now on, every key opens. A node started without a key stays without.
   */
  setKeyring(keyring: Keyring): void {
    const current = this.#driver.keyring;
    if (current === undefined) {
      throw new Error("this node was started without a key; restart it with --key-file");
    }
    keyring.continueFrom(current);
    this.#driver.keyring = keyring;
  }

  /** The member's id, `host:port#version`. */
  get id(): string {
    return this.#driver.id;
  }

  /** The current receive-side drop rate. */
  get dropRate(): number {
    return this.#driver.dropRate;
  }

  /** The files this node serves to `member grep`. */
  grepPaths(): readonly string[] {
    return this.#grep.paths;
  }

  /** What this node says about itself now. */
  get tags(): Tags {
    return this.#driver.core.tags;
  }

  /**
   * Replaces what this node says about itself; the change reaches every member and is logged as
   * UPDATE. Returns why it cannot (the tags past a bound, the node not a member), in one line, or
   * undefined once done.
   */
  setTags(tags: Tags): string | undefined {
    return setTags(this.#driver, tags);
  }

  /** Leaves the group voluntarily; resolves once the leave has been announced. */
  async leave(): Promise<void> {
    await leave(this.#driver);
  }

  /**
   * Joins again after a leave, as a new version: through the original contact, or through any
   * member this node knew. It gives up within a deadline, and the node then stays as it was,
   * left, with the list it had.
   */
  async rejoin(): Promise<void> {
    await rejoin(this.#driver);
  }

  /** Stops everything: sockets, timers, the event log (flushed). Does not announce a leave. */
  async close(): Promise<void> {
    if (this.#driver.closed) return;
    this.#driver.stop();
    this.#server.close();
    this.#watches.close();
    await this.#driver.drain();
    this.#dataDirLock.close();
  }

  /**
   * The node's list as it stands, and from then on every event as it is logged, with no gap and
   * no duplicate between the two: both are taken in one step of the driver loop. `listener` must
   * not block (it runs inside the loop); the function returned stops it.
   */
  watch(
    listener: EventListener,
  ): { readonly self: EntryJson; readonly members: EntryJson[]; readonly stop: () => void } {
    const { self, members } = memberList(this.#driver);
    return { self, members, stop: this.#driver.subscribe(listener) };
  }

  /**
   * Adds a section to the stats under `name` (event handlers add `handlers`): parts built above
   * the node show their counters beside the node's own. The function returned removes it.
   */
  addStats(name: string, section: () => Record<string, number>): () => void {
    this.#statsSections.set(name, section);
    return () => this.#statsSections.delete(name);
  }

  /** The statistics `member stats --json` prints. */
  stats(): NodeStats {
    return nodeStats(this.#driver, this.#startedMs, this.grepPaths(), this.#statsSections);
  }
}
