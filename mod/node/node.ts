/**
 * The shell around one core: UDP and TCP on the same port, the clock, the receive-side drop, the
 * event log, and the answers to joins, list exchanges, stats and control requests.
 *
 * The shell owns its core alone. Every input (a datagram, a TCP request, the timer) is a
 * synchronous call into the core followed by a flush of the core's outputs: datagrams are encoded
 * and sent, events are logged, list exchanges are started, and the timer is set to the core's
 * next wake-up. Nothing else touches the core, so there is nothing to lock.
 */
import type { Logger } from "@logtape/logtape";
import { concat } from "../bytes.ts";
import { formatAddress, isAddress, parseAddress } from "../core/address.ts";
import { bareHost, isLocal, isLoopback } from "../net/host.ts";
import type { Config } from "../core/config.ts";
import { probeTimeoutMs, requestTimeoutMs } from "../core/config.ts";
import { eventsBytesMax, grepBytesMax, grepTimeoutMaxMs } from "../limits.ts";
import { Core, type CoreCounters, type MemberView } from "../core/core.ts";
import type { OutgoingProbe } from "../core/types.ts";
import { DriverRules } from "../core/driver_rules.ts";
import { Random } from "../core/random.ts";
import {
  type Address,
  type Entry,
  type MemberEvent,
  memberId,
  Status,
  statusNames,
} from "../core/types.ts";
import {
  type ControlRequest,
  type ControlResponse,
  decodeDatagram,
  type DecodeLimits,
  encodeMessage,
  type FrameMessage,
  type GrepRequest,
} from "../wire/codec.ts";
import { expandPaths } from "../grep/glob.ts";
import { runGrep } from "../grep/run.ts";
import { EventLog } from "../log/event_log.ts";
import { request, RequestError } from "../net/client.ts";
import { describe, describeFileError } from "../errors.ts";
import { clock } from "./clock.ts";
import {
  ByteBudget,
  frame,
  FrameError,
  frameLimits,
  FrameReader,
  writeAll,
} from "../net/frames.ts";
import { type Keyring, sealOverheadBytes } from "../wire/seal.ts";
import { gossipEntriesMax, versionMax } from "../core/wire_size.ts";
import { Traffic } from "./traffic.ts";
import { version as toolVersion } from "../version.ts";

/** What a node is started with. */
export interface NodeOptions {
  /** The address others reach this node at; it binds exactly this host. */
  readonly host: string;
  readonly port: number;
  /** Holds `member.log` and the last version used. */
  readonly dataDir: string;
  /** Join through this member; without it the node starts a cluster of its own. */
  readonly join?: Address;
  /** Probability that an incoming datagram is dropped on purpose. */
  readonly dropRate: number;
  /** The suspicion switch, when this node starts the cluster. */
  readonly suspicion?: boolean;
  readonly config?: Partial<Config>;
  readonly logger: Logger;
  /** Join attempts before giving up. */
  readonly joinAttempts?: number;
  /** The files `member grep` searches here: paths or globs (default: the data dir's logs). */
  readonly grepPaths?: readonly string[];
  /** The cluster keys: with them every datagram and every frame from elsewhere is sealed. */
  readonly keyring?: Keyring;
}

/** Raised when a node cannot start: port in use, contact unreachable, unwritable data dir. */
export class StartError extends Error {
  override name = "StartError";
}

/** A join through one contact that failed, and why. */
class JoinError extends StartError {
  override name = "JoinError";
  readonly reason: string;

  constructor(contact: Address, reason: string) {
    super(`cannot join via ${contact}: ${reason}`);
    this.reason = reason;
  }
}

/** The wait before the `n`th retry of a join (from 1): 0.25, 0.5, 1, 2 s. */
function joinBackoffMs(n: number): number {
  return 250 * 2 ** (n - 1);
}

/** A connection that sends nothing for this long is closed. */
const idleTimeoutMs = 5000;
/**
 * Connections served at once. Past it, a connection still waiting for its request is closed to
 * make room: the longest-waiting one from the address that holds the most such connections, so
 * that one source, trickling bytes or not, can never lock the others out. When every connection
 * has its request, the newcomer is refused.
 */
const connectionsMax = 64;
/**
 * Bytes that requests still arriving may hold between them beyond a small buffer each: a sealed
 * request is read whole before it can be opened, so without this, connections announcing large
 * frames could make a node hold a gigabyte without the key. A list exchange of 16,384 members
 * takes well under a tenth of it.
 */
const requestBudgetBytes = 48 << 20;
/** How often, at most, the log says that a member was heard only over TCP. */
const tcpOnlyLogIntervalMs = 60_000;
/** A node joining again after a leave tries at most this many members it knew, ... */
const rejoinContactsMax = 8;
/** ... each once per round, in this many rounds, ... */
const rejoinRounds = 4;
/** ... and gives up after this long, within the 30 s `member join` waits by default. */
const rejoinDeadlineMs = 20_000;
/**
 * Members a node remembers in its data dir (`members`), looked over every second and rewritten
 * when one of them is gone, so that a restart finds its cluster again: an introducer brought back
 * after a leave or a long absence, whom nobody else would seek out, or a member whose contact is
 * down.
 */
const membersFileMax = 16;
/** How long a start spends trying the members it remembers before it goes on without them. */
const rememberedDeadlineMs = 5000;
/** Joins a node accepts per second, on average, and at once: a flood is refused, not absorbed. */
const joinsPerSecond = 200;
const joinsBurst = 400;
/** What a client is told when its request is refused for want of the right key. */
const keyRefusals: Partial<Record<string, string>> = {
  "plain-refused": "this cluster seals its traffic: pass the cluster's --key-file",
  "unauthenticated":
    "this node cannot open the request: --key-file does not hold the cluster's key",
  "sealed-without-key": "this node has no cluster key: do not pass --key-file to reach it",
};
/** The refusal a joiner retries after. */
const busyReason = "busy: too many joins at once";
/** Malformed datagrams logged per minute, at most. */
const malformedLogsPerMinute = 10;
/**
 * Grep queries run at once; as many more wait up to `grepQueueMs` for a turn, and the rest are
 * refused, so that a flood of queries can neither starve gossip nor hold the connections that
 * probes and list exchanges need.
 */
const grepsMax = 4;
const grepQueueMax = 4;
const grepQueueMs = 5000;
/** A query silent this long sends an empty chunk, so that the client knows it is still at work. */
const grepKeepAliveMs = 1000;
/** Files one query may search. */
const grepFilesMax = 10_000;
const filesCutNote = `the --grep paths name more than ${grepFilesMax} files: only the first ` +
  `${grepFilesMax} (in name order) are searched`;
/** A client that reads nothing for this long is given up on. */
const grepWriteTimeoutMs = 30_000;

export const datagramLimits: DecodeLimits = { bytesMax: 65_535, entriesMax: gossipEntriesMax };

/** Where a node stands. */
export type NodeState = "joining" | "member" | "leaving" | "left" | "closed";

/** Each state as the end of "this node is ...". */
const stateWords: Record<NodeState, string> = {
  joining: "still joining",
  member: "already a member",
  leaving: "leaving",
  left: "not a member (it left)",
  closed: "shutting down",
};

/** A running member: the shell around a core. */
export class Node {
  readonly address: Address;
  readonly options: NodeOptions;
  readonly #log: Logger;
  readonly #udp: Deno.DatagramConn;
  /** The member's own TCP listener, and a loopback one for local clients when it has one. */
  readonly #tcp: readonly Deno.TcpListener[];
  readonly #eventLog: EventLog;
  readonly #traffic = new Traffic(trafficKinds);
  readonly #random: Random;
  readonly #startedMs = performance.now();
  readonly #addrCache = new Map<Address, Deno.NetAddr>();
  readonly #malformed: Record<string, number> = {};
  readonly #tasks = new Set<Promise<unknown>>();

  #core: Core;
  #state: NodeState = "joining";
  #dropRate: number;
  #droppedOnPurpose = 0;
  #sendErrors = 0;
  #connections = 0;
  /** Connections whose request has not fully arrived, oldest first, with their readers. */
  readonly #awaitingRequest = new Map<Deno.TcpConn, FrameReader>();
  readonly #requestBudget = new ByteBudget(requestBudgetBytes);
  /** Connections closed to make room for newer ones. */
  readonly #evicted = new WeakSet<Deno.TcpConn>();
  #greps = 0;
  /** Queries waiting for a turn, first come first served. */
  readonly #grepQueue: (() => void)[] = [];
  readonly #joinBucket = new TokenBucket(joinsPerSecond, joinsBurst);
  /** The cluster keys, when the cluster has them; replaced whole by `setKeyring`. */
  #keyring: Keyring | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAtMs = Infinity;
  #sampler: ReturnType<typeof setInterval> | undefined;
  #malformedLogged = 0;
  #malformedWindowMs = 0;
  /** What the current core may be handed and may send; a new core comes with new rules. */
  #rules = new DriverRules();
  /** The counters of this process's earlier versions (a leave and a join start a new core). */
  #pastCounters: Partial<CoreCounters> = {};
  /** Probes earlier versions asked for but did not send, at the in-flight limit. */
  #pastProbesSkipped = 0;
  #tcpOnlyLoggedMs = -Infinity;
  /** Held for the process's life: one member process per data dir (`lockDataDir`). */
  readonly #dataDirLock: Deno.FsFile;
  /** The version last recorded in the data dir. */
  #savedVersion = 0;
  /** The members last written to the data dir's `members` file. */
  #remembered: Address[] = [];
  /** Events of a join under way, written once it is done (`#flush`). */
  #joiningEvents: MemberEvent[] = [];
  #leaveDone: (() => void) | undefined;
  #closed = false;

  private constructor(
    options: NodeOptions,
    udp: Deno.DatagramConn,
    tcp: readonly Deno.TcpListener[],
    eventLog: EventLog,
    core: Core,
    dataDirLock: Deno.FsFile,
  ) {
    this.#dataDirLock = dataDirLock;
    this.options = options;
    this.address = core.address;
    this.#log = options.logger;
    this.#udp = udp;
    this.#tcp = tcp;
    this.#eventLog = eventLog;
    this.#core = core;
    this.#savedVersion = core.version;
    this.#dropRate = options.dropRate;
    this.#keyring = options.keyring;
    this.#random = new Random(crypto.getRandomValues(new Uint32Array(1))[0]);
  }

  /**
   * Binds UDP and TCP on the same port, opens the event log, and joins through the contact (with
   * retries and backoff) or starts a cluster. Resolves once the node is a member.
   */
  static async start(options: NodeOptions): Promise<Node> {
    const address = formatAddress(options.host, options.port);
    if (!isAddress(address)) throw new StartError(`bad address ${address}`);
    const hostname = bareHost(options.host);
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
      throw abandon(`cannot listen on ${address} (UDP): ${describe(error)}`);
    }
    opened.push(udp);
    let tcp: Deno.TcpListener;
    try {
      tcp = Deno.listen({ hostname, port: options.port, transport: "tcp" });
    } catch (error) {
      throw abandon(`cannot listen on ${address} (TCP): ${describe(error)}`);
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
    const core = Node.#newCore(options, address, version);
    const node = new Node(options, udp, listeners, eventLog, core, lock);
    node.#run();
    const remembered = readMembers(options.dataDir).filter((a) => a !== address);
    try {
      if (options.join !== undefined) {
        try {
          await node.#join(options.join);
        } catch (error) {
          // Its contact is down, or no longer a member: the members of its last run may be.
          if (!(error instanceof JoinError) || !(await node.#joinRemembered(remembered))) {
            throw error;
          }
        }
      } else if (remembered.length > 0 && !(await node.#joinRemembered(remembered))) {
        node.#log.info(
          "none of the {count} members remembered in {dataDir}/members answered: starting a cluster",
          { count: remembered.length, dataDir: options.dataDir },
        );
      }
    } catch (error) {
      await node.close();
      throw error;
    }
    node.#becomeMember();
    node.#log.info("member {id}, {listed}", {
      id: memberId(address, node.#core.version),
      listed: listed(node.#core.liveCount),
    });
    if (options.grepPaths !== undefined) {
      // A typo in a path would otherwise show only as a member that never matches anything.
      const { unmatched, notUtf8, outside, cut } = await expandPaths(options.grepPaths, {
        filesMax: grepFilesMax,
      });
      if (cut) node.#log.warn("{note}", { note: filesCutNote });
      if (outside.length > 0) node.#log.warn("{note}", { note: outsideNote(outside) });
      for (const spec of unmatched) {
        node.#log.warn("--grep {spec} names no file yet: member grep finds nothing there", {
          spec,
        });
      }
      if (notUtf8.length > 0) node.#log.warn("{note}", { note: notUtf8Note(notUtf8) });
    }
    return node;
  }

  /**
   * A member bound to a machine's network address also listens on loopback, same port, so that
   * the clients on that machine reach it with their default `--node 127.0.0.1:PORT`. Only
   * clients come that way: members talk to the address the member advertises.
   */
  static #localListener(options: NodeOptions): Deno.TcpListener[] {
    const hostname = bareHost(options.host);
    if (isLoopback(hostname)) return [];
    try {
      return [Deno.listen({ hostname: "127.0.0.1", port: options.port, transport: "tcp" })];
    } catch (error) {
      options.logger.warn(
        "cannot also listen on 127.0.0.1:{port} for local clients ({error}): give them --node {address}",
        {
          port: options.port,
          error: describe(error),
          address: formatAddress(options.host, options.port),
        },
      );
      return [];
    }
  }

  static #newCore(options: NodeOptions, address: Address, version: number): Core {
    return new Core({
      address,
      version,
      nowMs: clock.now(),
      random: new Random(crypto.getRandomValues(new Uint32Array(1))[0]),
      // A sealed datagram is larger than its message: the core leaves room for the seal.
      config: {
        ...options.config,
        ...(options.keyring === undefined ? {} : { datagramOverheadBytes: sealOverheadBytes }),
      },
      suspicion: options.join === undefined ? options.suspicion : undefined,
    });
  }

  /** Its join answered, or its cluster started: from now on the core takes gossip. */
  #becomeMember(): void {
    this.#state = "member";
    this.#rules.joined();
    this.#flush();
  }

  /** Where the node stands. */
  get state(): NodeState {
    return this.#state;
  }

  /** The member's id, `host:port#version`. */
  /**
   * Replaces the cluster keys (a key file reloaded on SIGHUP), for rotation without downtime: the
   * first key seals from now on, every key opens. A node started without a key stays without.
   */
  setKeyring(keyring: Keyring): void {
    if (this.#keyring === undefined) {
      throw new Error("this node was started without a key; restart it with --key-file");
    }
    keyring.continueFrom(this.#keyring);
    this.#keyring = keyring;
  }

  get id(): string {
    return memberId(this.address, this.#core.version);
  }

  /** The current receive-side drop rate. */
  get dropRate(): number {
    return this.#dropRate;
  }

  // ---- running ------------------------------------------------------------------------------

  #run(): void {
    this.#track(this.#receiveLoop());
    for (const listener of this.#tcp) this.#track(this.#acceptLoop(listener));
    this.#sampler = setInterval(() => {
      this.#traffic.sample(performance.now());
      this.#rememberMembers();
      this.#eventLog.recheck(this.#log);
    }, 1000);
    this.#flush();
  }

  #track(task: Promise<unknown>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }

  /** The core's time: monotonic, and moving on while the machine sleeps. */
  #now(): number {
    return clock.now();
  }

  async #receiveLoop(): Promise<void> {
    while (!this.#closed) {
      let bytes: Uint8Array;
      try {
        [bytes] = await this.#udp.receive();
      } catch (error) {
        if (this.#closed) return;
        this.#log.warn("receiving a datagram failed: {error}", { error: describe(error) });
        continue;
      }
      this.#traffic.countIn("gossip", bytes.length);
      if (this.#dropRate > 0 && this.#random.chance(this.#dropRate)) {
        this.#droppedOnPurpose++;
        continue;
      }
      const keyring = this.#keyring;
      if (keyring !== undefined) {
        const opened = await keyring.open(bytes);
        if (!opened.ok) {
          this.#countMalformed(opened.reason, "datagram");
          continue;
        }
        bytes = opened.plain;
      }
      const decoded = decodeDatagram(bytes, datagramLimits);
      if (!decoded.ok) {
        this.#countMalformed(decoded.reason, "datagram");
        continue;
      }
      // A node that left keeps its list for a join again, unchanged by what it hears since.
      if (!this.#rules.takesGossip || this.#state === "left" || this.#state === "closed") continue;
      this.#core.receive(this.#now(), decoded.message);
      this.#flush();
    }
  }

  #countMalformed(reason: string, what: string): void {
    this.#malformed[reason] = (this.#malformed[reason] ?? 0) + 1;
    const now = this.#now();
    if (now - this.#malformedWindowMs > 60_000) {
      this.#malformedWindowMs = now;
      this.#malformedLogged = 0;
    }
    if (this.#malformedLogged++ < malformedLogsPerMinute) {
      this.#log.warn("dropped a malformed {what}: {reason}", { what, reason });
    }
  }

  /** Moves the core's outputs out and sets the timer for its next wake-up. */
  #flush(): void {
    const core = this.#core;
    for (const datagram of core.takeDatagrams()) {
      const target = this.#netAddr(datagram.to);
      if (target === undefined) continue;
      const bytes = encodeMessage(datagram.message);
      const keyring = this.#keyring;
      if (keyring === undefined) {
        this.#traffic.countOut("gossip", bytes.length);
        this.#udp.send(bytes, target).catch(() => this.#sendErrors++);
      } else {
        keyring.seal(bytes).then((sealed) => {
          this.#traffic.countOut("gossip", sealed.length);
          return this.#udp.send(sealed, target);
        }).catch(() => this.#sendErrors++);
      }
    }
    let events = core.takeEvents();
    // Until the join is done its events wait: a join that fails leaves no JOIN in the log that
    // nothing would ever end.
    if (this.#state === "joining") {
      for (const event of events) this.#joiningEvents.push(event);
      events = [];
    } else if (this.#joiningEvents.length > 0) {
      events = [...this.#joiningEvents, ...events];
      this.#joiningEvents = [];
    }
    if (core.version > this.#savedVersion) this.#saveVersion(core.version);
    if (events.length > 0) {
      const id = this.id;
      this.#eventLog.write(events, id, Date.now() - this.#now(), this.#log);
      for (const event of events) {
        const member = memberId(event.address, event.version);
        if (
          event.address === this.address && (event.kind === "REFUTE" || event.kind === "REMOVE")
        ) {
          this.#logOwn(event, member);
        } else if (event.kind === "FAIL" || event.kind === "LEAVE" || event.kind === "SETTINGS") {
          this.#log.info("{kind} {member} via {via}", { kind: event.kind, member, via: event.via });
        }
      }
    }
    for (const peer of core.takeSyncs()) this.#track(this.#sync(peer));
    for (const probe of core.takeProbes()) this.#track(this.#probe(probe));
    if (core.done && this.#state === "leaving") {
      this.#state = "left";
      this.#leaveDone?.();
    }
    this.#schedule();
  }

  /** Says what happened to this node's own membership: an operator wants to know. */
  #logOwn(event: MemberEvent, member: string): void {
    if (event.kind === "REFUTE") {
      this.#log.info("refuted a suspicion of this node, from {from}: now incarnation {n}", {
        from: event.from ?? "a member",
        n: event.incarnation,
      });
    } else if (event.kind === "REMOVE") {
      // A new version follows at once (its JOIN is in the event log).
      this.#log.warn(
        event.via === "self"
          ? "this process was stalled past the fail timeout: {member} has been failed by " +
            "the others, so this node comes back as a new version"
          : "{from} says {member} has ended (failed, or superseded): this node comes back as a " +
            "new version",
        { member, from: event.from ?? "a member" },
      );
    }
  }

  /**
   * Records a version the core took by itself (told the old one had failed): a restart must come
   * back newer still, and the others may know it even when it is ahead of this machine's clock.
   */
  #saveVersion(version: number): void {
    this.#savedVersion = version;
    try {
      rememberVersion(this.options.dataDir, version);
    } catch (error) {
      this.#log.warn("cannot record version {version} in {dir}: {error}", {
        version,
        dir: this.options.dataDir,
        error: describe(error),
      });
    }
  }

  #schedule(): void {
    if (this.#closed) return;
    const wake = this.#state === "left" ? Infinity : this.#core.nextWakeMs();
    if (wake === this.#timerAtMs) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAtMs = wake;
    if (wake === Infinity) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAtMs = Infinity;
      if (this.#state === "left" || this.#closed) return;
      this.#core.tick(this.#now());
      this.#flush();
    }, Math.max(0, Math.ceil(wake - this.#now())));
  }

  #netAddr(address: Address): Deno.NetAddr | undefined {
    let cached = this.#addrCache.get(address);
    if (cached === undefined) {
      const parsed = parseAddress(address);
      if ("error" in parsed) return undefined;
      cached = { transport: "udp", hostname: bareHost(parsed.host), port: parsed.port };
      if (this.#addrCache.size > 100_000) this.#addrCache.clear();
      this.#addrCache.set(address, cached);
    }
    return cached;
  }

  // ---- joining, leaving ---------------------------------------------------------------------

  async #join(
    contact: Address,
    attempts = this.options.joinAttempts ?? 5,
    timeoutMs = requestTimeoutMs,
  ): Promise<void> {
    let last = "";
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const reply = await request(contact, this.#core.joinRequest(), timeoutMs, this.#keyring);
        if (reply.kind !== "join-response") throw new RequestError(`unexpected ${reply.kind}`);
        if (!reply.accepted && reply.reason === busyReason) throw new RequestError(busyReason);
        if (!reply.accepted) throw new JoinError(contact, reply.reason);
        this.#core.applyJoinResponse(this.#now(), reply, contact);
        this.#flush();
        return;
      } catch (error) {
        if (error instanceof StartError) throw error;
        // A refusal (the wrong key or none) is an answer no retry can change.
        if (error instanceof RequestError && error.refused) {
          throw new JoinError(contact, error.reason);
        }
        last = error instanceof RequestError ? error.reason : describe(error);
        if (this.#keyring !== undefined && /closed without an answer/.test(last)) {
          last += " (does the contact hold this --key-file's key?)";
        }
        if (attempt < attempts) {
          const delayMs = joinBackoffMs(attempt);
          this.#log.warn("joining via {contact} failed ({reason}); retrying in {delayMs} ms", {
            contact,
            reason: last,
            delayMs,
          });
          await new Promise((resolve) => setTimeout(resolve, delayMs));
          if (this.#closed) throw new StartError("closed while joining");
        }
      }
    }
    throw new JoinError(contact, attempts === 1 ? last : `${last} after ${attempts} attempts`);
  }

  /**
   * Joins through the members its last run remembered, each tried once, within
   * `rememberedDeadlineMs`: a start must not wait long on machines that are gone. True once it is
   * a member again.
   */
  async #joinRemembered(remembered: readonly Address[]): Promise<boolean> {
    const deadlineMs = performance.now() + rememberedDeadlineMs;
    // In random order: the members of a cluster restarting together do not all ask the same one.
    const order = [...remembered];
    for (let i = order.length - 1; i > 0; i--) {
      const j = this.#random.below(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const contact of order) {
      const leftMs = deadlineMs - performance.now();
      if (this.#closed || leftMs <= 0) break;
      try {
        await this.#join(contact, 1, Math.min(requestTimeoutMs, leftMs));
        this.#log.info("joined the cluster of its last run via {contact} (from {path})", {
          contact,
          path: `${this.options.dataDir}/members`,
        });
        return true;
      } catch (error) {
        // Gone, or not a member any more: the next one may be. Only a close stops the start.
        if (this.#closed) throw error;
      }
    }
    return false;
  }

  /**
   * Writes down up to `membersFileMax` live members, each kept while it lives and the rest drawn
   * at random, for a later start to find its cluster by.
   */
  #rememberMembers(): void {
    if (this.#state !== "member") return;
    // Most seconds nothing changes: a full file of members all still alive is left as it is,
    // without going over the whole list.
    const core = this.#core;
    const stillAlive = (a: Address) => core.lookup(a)?.status === Status.Alive;
    if (this.#remembered.length === membersFileMax && this.#remembered.every(stillAlive)) return;
    const alive = core.members()
      .filter((m) => m.status === Status.Alive && m.address !== this.address)
      .map((m) => m.address);
    const live = new Set(alive);
    const kept = this.#remembered.filter((a) => live.has(a));
    const others = alive.filter((a) => !kept.includes(a));
    while (kept.length < membersFileMax && others.length > 0) {
      const i = this.#random.below(others.length);
      kept.push(others[i]);
      others[i] = others[others.length - 1];
      others.pop();
    }
    kept.sort();
    if (kept.join() === this.#remembered.join()) return;
    try {
      writeMembers(this.options.dataDir, kept);
      this.#remembered = kept;
    } catch (error) {
      this.#log.debug("cannot write {dataDir}/members: {error}", {
        dataDir: this.options.dataDir,
        error: describeFileError(error),
      });
    }
  }

  /** Leaves the group voluntarily; resolves once the leave has been announced. */
  async leave(): Promise<void> {
    if (this.#state !== "member") return;
    this.#state = "leaving";
    const done = new Promise<void>((resolve) => (this.#leaveDone = resolve));
    this.#core.leave(this.#now());
    this.#flush();
    await done;
    this.#log.info("left the group as {id}", { id: this.id });
  }

  /**
   * Joins again after a leave, as a new version: through the original contact, or through any
   * member this node knew. Each is tried once per round, and the rounds back off; it gives up
   * within `rejoinDeadlineMs`, and the node then stays as it was, left, with the list it had.
   */
  async rejoin(): Promise<void> {
    if (this.#state !== "left") {
      throw new Error(`cannot join: this node is ${stateWords[this.#state]}`);
    }
    const known = this.#core.members().filter((m) => m.status <= 2).map((m) => m.address);
    const contacts = [
      ...(this.options.join === undefined ? [] : [this.options.join]),
      ...known.filter((a) => a !== this.options.join),
    ].slice(0, rejoinContactsMax);
    const left = this.#core;
    const leftRules = this.#rules;
    const pastCounters = this.#pastCounters;
    const pastProbesSkipped = this.#pastProbesSkipped;
    const version = nextVersion(this.options.dataDir);
    this.#savedVersion = version;
    this.#pastCounters = addCounters(this.#pastCounters, this.#core.counters);
    this.#pastProbesSkipped += this.#rules.probesSkipped;
    this.#core = Node.#newCore(this.options, this.address, version);
    this.#rules = new DriverRules();
    this.#state = "joining";
    this.#flush();
    if (contacts.length === 0) {
      // It knew nobody: it starts a cluster of its own again.
      this.#becomeMember();
      return;
    }
    const deadlineMs = performance.now() + rejoinDeadlineMs;
    const failures = new Map<Address, string>();
    for (let round = 0; round < rejoinRounds && !this.#closed; round++) {
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, joinBackoffMs(round)));
      for (const contact of contacts) {
        if (this.#closed || performance.now() >= deadlineMs) break;
        try {
          await this.#join(contact, 1);
          this.#becomeMember();
          this.#log.info("joined the group again as {id} via {contact}, {listed}", {
            id: this.id,
            contact,
            listed: listed(this.#core.liveCount),
          });
          return;
        } catch (error) {
          failures.set(contact, error instanceof JoinError ? error.reason : describe(error));
        }
      }
    }
    // Nothing joined: the node is left as before, with its old entry and list, not half-joined.
    this.#core = left;
    this.#rules = leftRules;
    this.#pastCounters = pastCounters;
    this.#pastProbesSkipped = pastProbesSkipped;
    this.#state = "left";
    this.#joiningEvents = [];
    throw new Error(rejoinFailure(failures));
  }

  /** Stops everything: sockets, timers, the event log (flushed). Does not announce a leave. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#state = "closed";
    this.#joiningEvents = [];
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#sampler !== undefined) clearInterval(this.#sampler);
    this.#leaveDone?.();
    try {
      this.#udp.close();
    } catch { /* closed */ }
    for (const listener of this.#tcp) {
      try {
        listener.close();
      } catch { /* closed */ }
    }
    // Connections still waiting for a request would otherwise hold the close for their timeout.
    for (const conn of this.#awaitingRequest.keys()) {
      try {
        conn.close();
      } catch { /* closed */ }
    }
    this.#eventLog.close();
    await Promise.allSettled([...this.#tasks]);
    this.#dataDirLock.close();
  }

  // ---- TCP ----------------------------------------------------------------------------------

  async #acceptLoop(listener: Deno.TcpListener): Promise<void> {
    while (!this.#closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (this.#closed) return;
        this.#log.warn("accepting a connection failed: {error}", { error: describe(error) });
        continue;
      }
      if (this.#connections >= connectionsMax && !this.#evictWaiting()) {
        conn.close();
        this.#countMalformed("too-many-connections", "connection");
        continue;
      }
      this.#connections++;
      this.#track(this.#serve(conn).finally(() => this.#connections--));
    }
  }

  /**
   * Closes a connection still waiting for its request, to make room: the longest-waiting one of
   * the remote address that holds the most of them. False when every connection has its request.
   */
  #evictWaiting(): boolean {
    const waiting = new Map<string, Deno.TcpConn[]>();
    for (const conn of this.#awaitingRequest.keys()) {
      const host = conn.remoteAddr.hostname;
      const list = waiting.get(host);
      if (list === undefined) waiting.set(host, [conn]);
      else list.push(conn);
    }
    let victim: Deno.TcpConn | undefined;
    let most = 0;
    for (const list of waiting.values()) {
      // Map order is arrival order, so each list's first is its longest-waiting.
      if (list.length > most) [victim, most] = [list[0], list.length];
    }
    if (victim === undefined) return false;
    this.#awaitingRequest.delete(victim);
    this.#evicted.add(victim);
    try {
      victim.close();
    } catch { /* closed */ }
    return true;
  }

  async #serve(conn: Deno.TcpConn): Promise<void> {
    try {
      // With a cluster key, only this machine may talk without it (the local CLI).
      const keyring = this.#keyring;
      const reader = new FrameReader(conn, frameLimits, {
        keyring,
        allowPlain: keyring === undefined || isLocal(conn),
      }, this.#requestBudget);
      let received;
      this.#awaitingRequest.set(conn, reader);
      try {
        received = await reader.next(idleTimeoutMs);
      } catch (error) {
        // Cut short, too large, nothing sent in time, or closed to make room: bad input, counted
        // like a bad datagram.
        if (this.#evicted.has(conn)) this.#countMalformed("evicted", "connection");
        else if (error instanceof FrameError && !this.#closed) {
          this.#countMalformed(error.reason, "request");
        }
        throw error;
      } finally {
        this.#awaitingRequest.delete(conn);
        reader.release();
      }
      if (received === null) return;
      if (!received.ok) {
        this.#countMalformed(received.reason, "request");
        const why = keyRefusals[received.reason];
        if (why !== undefined) {
          // Say why, in the clear: it tells only that this cluster has a key.
          const refusal: FrameMessage = { kind: "control-response", ok: false, message: why };
          await writeAll(conn, await frame(refusal), requestTimeoutMs);
        }
        return;
      }
      const replyKey = reader.lastSealed ? keyring : undefined;
      const kind = received.message.kind;
      if (
        keyring !== undefined && !reader.lastSealed && kind !== "stats-request" &&
        kind !== "grep-request" && kind !== "events-request" && kind !== "control-request"
      ) {
        // Local clients may ask without the key; members (join, sync) never may.
        this.#countMalformed("plain-refused", "request");
        if (kind === "join-request") {
          const refusal: FrameMessage = {
            kind: "join-response",
            accepted: false,
            reason:
              "this cluster seals its traffic: start the joiner with the cluster's --key-file",
          };
          await writeAll(conn, await frame(refusal), requestTimeoutMs);
        }
        return;
      }
      this.#traffic.countIn(kindOf(received.message), reader.bytesRead);
      if (received.message.kind === "grep-request") {
        await this.#grep(conn, received.message, replyKey);
        return;
      }
      if (received.message.kind === "events-request") {
        await this.#sendEvents(conn, received.message.bytesMax, replyKey);
        return;
      }
      const reply = await this.#answer(received.message, conn);
      if (reply !== undefined) {
        const bytes = await frame(reply, replyKey);
        this.#traffic.countOut(kindOf(reply), bytes.length);
        await writeAll(conn, bytes, requestTimeoutMs);
      }
    } catch (error) {
      if (!this.#closed) this.#log.debug("a connection failed: {error}", { error: String(error) });
    } finally {
      try {
        conn.close();
      } catch { /* closed */ }
    }
  }

  async #answer(message: FrameMessage, conn: Deno.TcpConn): Promise<FrameMessage | undefined> {
    const refuse = (text: string): ControlResponse => ({
      kind: "control-response",
      ok: false,
      message: text,
    });
    switch (message.kind) {
      case "join-request": {
        if (this.#state !== "member") {
          const reason = `this node is ${stateWords[this.#state]}`;
          return { kind: "join-response", accepted: false, reason };
        }
        if (!this.#joinBucket.take(this.#now())) {
          this.#countMalformed("join-flood", "join request");
          return { kind: "join-response", accepted: false, reason: busyReason };
        }
        const response = this.#core.acceptJoin(this.#now(), message);
        this.#flush();
        return response;
      }
      case "sync-request": {
        if (this.#state !== "member") return undefined;
        const from = message.entries[0]?.address ?? conn.remoteAddr.hostname;
        const response = this.#core.acceptSync(this.#now(), message, from);
        this.#flush();
        return response;
      }
      case "probe": {
        if (this.#state !== "member" && this.#state !== "leaving") return undefined;
        const ack = this.#core.acceptProbe(this.#now(), message);
        this.#flush();
        return ack;
      }
      case "stats-request":
        return { kind: "stats-response", json: JSON.stringify(this.stats()) };
      case "control-request":
        if (!isLocal(conn)) {
          this.#log.warn("refused a control request from {peer}", {
            peer: conn.remoteAddr.hostname,
          });
          return refuse("control requests are accepted only from this node's own machine");
        }
        return await this.#control(message);
      default:
        return undefined;
    }
  }

  async #control(message: ControlRequest): Promise<ControlResponse> {
    const ok = (text: string): ControlResponse => ({
      kind: "control-response",
      ok: true,
      message: text,
    });
    const no = (text: string): ControlResponse => ({
      kind: "control-response",
      ok: false,
      message: text,
    });
    switch (message.action) {
      case "leave":
        if (this.#state !== "member") return no(`this node is ${stateWords[this.#state]}`);
        await this.leave();
        return ok(`${this.id} left the group`);
      case "join":
        if (this.#state !== "left") {
          return no(`this node is ${stateWords[this.#state]}: only a node that left can join`);
        }
        try {
          await this.rejoin();
          return ok(`joined as ${this.id}, ${listed(this.#core.liveCount)}`);
        } catch (error) {
          return no((error as Error).message);
        }
      case "set": {
        const changes: string[] = [];
        if (message.dropRate !== undefined) {
          this.#dropRate = message.dropRate;
          changes.push(`drop rate ${message.dropRate}`);
          this.#log.info("receive-side drop rate set to {rate}", { rate: message.dropRate });
        }
        if (message.suspicion !== undefined) {
          if (this.#state !== "member") return no(`this node is ${stateWords[this.#state]}`);
          this.#core.setSuspicion(this.#now(), message.suspicion);
          this.#flush();
          changes.push(`suspicion ${message.suspicion ? "on" : "off"} for the whole cluster`);
        }
        return ok(changes.length > 0 ? `set ${changes.join(", ")}` : "nothing to set");
      }
    }
  }

  /** The files this node serves to `member grep`. */
  grepPaths(): readonly string[] {
    return this.options.grepPaths ?? [`${this.options.dataDir}/*.log`];
  }

  /**
   * Runs GNU grep on this node's own files and streams its output back. The query is structured
   * and allowlisted (see mod/grep/argv.ts); the files are this node's choice, never the client's.
   */
  async #grep(conn: Deno.TcpConn, request: GrepRequest, keyring?: Keyring): Promise<void> {
    // Frames go out one at a time, in order. While the query waits its turn, and while a search
    // prints nothing for long (a count over a large file), an empty chunk every second tells the
    // client the member is at work, not stalled; one that cannot be sent means the client left.
    let sending = Promise.resolve();
    let sentMs = performance.now();
    let gone = false;
    let cancel = () => {};
    const send = (message: FrameMessage) => {
      sentMs = performance.now();
      sending = sending.then(async () => {
        const bytes = await frame(message, keyring);
        this.#traffic.countOut("grep", bytes.length);
        await writeAll(conn, bytes, grepWriteTimeoutMs);
      });
      return sending;
    };
    // Checked four times as often as it is due, so that no gap is much longer than a second.
    const keepAlive = setInterval(() => {
      if (gone || performance.now() - sentMs < grepKeepAliveMs) return;
      send({ kind: "grep-chunk", data: new Uint8Array(0) }).catch(() => {
        gone = true;
        cancel();
      });
    }, grepKeepAliveMs / 4);
    try {
      const turn = await this.#grepTurn();
      if (!turn) {
        // Refused as a whole, not answered: the client counts this member as failed.
        await send({
          kind: "control-response",
          ok: false,
          message: `busy: ${grepsMax} queries are running on this node, and ${grepQueueMax} ` +
            "more waiting",
        });
        return;
      }
      try {
        if (gone) return;
        await this.#search(request, send, (stop) => (cancel = stop));
      } finally {
        this.#grepDone();
      }
    } finally {
      clearInterval(keepAlive);
      await sending.catch(() => {});
    }
  }

  /** Runs one query over this node's files, sending its output and its end. */
  async #search(
    request: GrepRequest,
    send: (message: FrameMessage) => Promise<void>,
    onCancel: (cancel: () => void) => void,
  ): Promise<void> {
    const { files, unmatched, notUtf8, outside, cut } = await expandPaths(this.grepPaths(), {
      filesMax: grepFilesMax,
    });
    const run = runGrep(request.query, files, request.mode, {
      bytesMax: Math.min(request.bytesMax, grepBytesMax),
      timeoutMs: Math.min(request.timeoutMs, grepTimeoutMaxMs),
    });
    onCancel(() => run.cancel());
    try {
      for await (const data of run.chunks) await send({ kind: "grep-chunk", data });
    } catch (error) {
      run.cancel();
      throw error;
    }
    const outcome = await run.outcome;
    const problems = [
      outcome.stderr,
      unmatched.length > 0 ? `nothing matches ${unmatched.join(", ")}` : "",
      notUtf8.length > 0 ? notUtf8Note(notUtf8) : "",
      outside.length > 0 ? outsideNote(outside) : "",
      cut ? filesCutNote : "",
    ].filter((line) => line !== "");
    await send({
      kind: "grep-done",
      exitCode: outcome.exitCode,
      error: problems.join("\n"),
      truncated: outcome.truncated,
      timedOut: outcome.timedOut,
      files: files.length,
      bytes: outcome.bytes,
      lines: outcome.lines,
      elapsedMs: Math.round(outcome.elapsedMs),
    });
  }

  /**
   * Waits for a turn to run a query: true when it has one (and holds it), false when too many
   * wait already or the wait ran out.
   */
  #grepTurn(): Promise<boolean> {
    if (this.#greps < grepsMax) {
      this.#greps++;
      return Promise.resolve(true);
    }
    if (this.#grepQueue.length >= grepQueueMax) return Promise.resolve(false);
    return new Promise((resolve) => {
      // A turn handed over keeps the count: the query finishing passes its place on.
      const take = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        const at = this.#grepQueue.indexOf(take);
        if (at >= 0) this.#grepQueue.splice(at, 1);
        resolve(false);
      }, grepQueueMs);
      this.#grepQueue.push(take);
    });
  }

  /** Ends a query's turn: the first one waiting takes it. */
  #grepDone(): void {
    const next = this.#grepQueue.shift();
    if (next === undefined) this.#greps--;
    else next();
  }

  /** Streams this node's own event log (and nothing else), newest `bytesMax` bytes at most. */
  async #sendEvents(conn: Deno.TcpConn, bytesMax: number, keyring?: Keyring): Promise<void> {
    const send = async (message: FrameMessage) => {
      const bytes = await frame(message, keyring);
      this.#traffic.countOut("events", bytes.length);
      await writeAll(conn, bytes, grepWriteTimeoutMs);
    };
    const path = this.#eventLog.path;
    let file: Deno.FsFile | undefined;
    let truncated = false;
    let error = "";
    try {
      file = await Deno.open(path, { read: true });
      const size = (await file.stat()).size;
      const limit = Math.min(bytesMax, eventsBytesMax);
      let start = 0;
      if (size > limit) {
        truncated = true;
        start = size - limit;
        await file.seek(start, Deno.SeekMode.Start);
      }
      const buffer = new Uint8Array(256 * 1024);
      let first = start > 0;
      let carry: Uint8Array = new Uint8Array(0);
      for (let sent = 0; sent < size - start;) {
        const read = await file.read(buffer);
        if (read === null) break;
        sent += read;
        let data = concat(carry, buffer.subarray(0, read));
        // Cut the partial first line of a truncated log, and send whole lines only.
        if (first) {
          const newline = data.indexOf(10);
          if (newline < 0) {
            carry = data;
            continue;
          }
          data = data.subarray(newline + 1);
          first = false;
        }
        const last = data.lastIndexOf(10);
        carry = data.slice(last + 1);
        if (last >= 0) await send({ kind: "events-chunk", data: data.slice(0, last + 1) });
      }
      if (carry.length > 0) await send({ kind: "events-chunk", data: carry });
    } catch (failure) {
      error = `cannot read ${path}: ${describe(failure)}`;
    } finally {
      file?.close();
    }
    await send({ kind: "events-done", truncated, error });
  }

  async #sync(peer: Address): Promise<void> {
    const rules = this.#rules;
    if (this.#state !== "member" || !rules.beginSync()) return;
    const core = this.#core;
    const askedMs = this.#now();
    try {
      let reply;
      try {
        reply = await request(
          peer,
          core.syncRequest(),
          requestTimeoutMs,
          this.#keyring,
          (bytes) => this.#traffic.countOut("sync", bytes),
        );
      } finally {
        // Over before the answer is applied: a stall it reveals asks for a list again at once.
        rules.endSync();
      }
      if (reply.kind === "sync-response" && this.#state === "member" && this.#core === core) {
        core.applySync(this.#now(), reply, peer, askedMs);
        this.#flush();
      }
    } catch (error) {
      this.#log.debug("list exchange with {peer} failed: {error}", { peer, error: String(error) });
    }
  }

  /**
   * Sends a silent neighbour its heartbeat over TCP and merges the answer. An answer means the
   * member is alive but its datagrams do not reach this node (or this node's do not reach it): a
   * firewall dropping UDP, heavy loss, or `--drop-rate`. The log says so, at most once a minute.
   */
  async #probe(probe: OutgoingProbe): Promise<void> {
    const { to, message, confirm } = probe;
    const rules = this.#rules;
    if (this.#state !== "member" || !rules.beginProbe(probe)) return;
    const core = this.#core;
    try {
      const reply = await request(
        to,
        message,
        probeTimeoutMs,
        this.#keyring,
        (bytes) => this.#traffic.countOut("probe", bytes),
      );
      // An answer for a core that has since been replaced (a leave and a join) is not its own.
      if (reply.kind !== "probe-ack" || this.#state !== "member" || this.#core !== core) return;
      const now = this.#now();
      core.applyProbeAck(now, reply);
      this.#flush();
      if (!confirm && now - this.#tcpOnlyLoggedMs >= tcpOnlyLogIntervalMs) {
        this.#tcpOnlyLoggedMs = now;
        this.#log.warn(
          "{peer} answered over TCP, yet none of its datagrams came for {silentMs} ms: UDP " +
            "between the two is being lost (a firewall dropping UDP, or --drop-rate)",
          { peer: to, silentMs: this.#core.config.probeAfterMs },
        );
      }
    } catch (error) {
      this.#log.debug("probe of {peer} failed: {error}", { peer: to, error: String(error) });
    } finally {
      rules.endProbe();
    }
  }

  // ---- stats --------------------------------------------------------------------------------

  /** The statistics `member stats --json` prints. */
  stats(): NodeStats {
    const now = this.#now();
    const core = this.#core;
    const self = core.lookup(this.address)!;
    // Counters cover the whole process, as uptime and traffic do, across versions.
    const counters = addCounters(this.#pastCounters, core.counters);
    const probesSkipped = this.#pastProbesSkipped + this.#rules.probesSkipped;
    counters.probesSent -= probesSkipped;
    return {
      self: entryJson(self, now),
      members: core.members().map((m) => entryJson(m, now)).sort((a, b) =>
        a.address.localeCompare(b.address)
      ),
      node: {
        tool: toolVersion,
        state: this.#state,
        uptimeSeconds: Math.round((now - this.#startedMs) / 1000),
        dataDir: this.options.dataDir,
        grepPaths: this.grepPaths(),
        dropRate: this.#dropRate,
        suspicion: core.settings.suspicion,
        settingsEpoch: core.settings.epoch,
        neighbors: core.neighbors(),
        liveMembers: core.liveCount,
      },
      traffic: { perSecond: this.#traffic.rates(), totals: this.#traffic.totals() },
      dropped: {
        onPurpose: this.#droppedOnPurpose,
        malformed: { ...this.#malformed },
        sendErrors: this.#sendErrors,
      },
      detections: {
        suspicionsRaised: counters.suspicionsRaised,
        failuresDetected: counters.failuresDetected,
        refutations: counters.refutations,
        rejoins: counters.rejoins,
        stalls: counters.stalls,
        probesSent: counters.probesSent,
        probesSkipped,
        probesAnswered: counters.probesAnswered,
      },
      counters: { ...counters },
    };
  }
}

/** One member, as `member stats --json` prints it. */
export interface EntryJson {
  readonly id: string;
  readonly address: Address;
  readonly version: number;
  readonly status: string;
  readonly heartbeat: number;
  readonly incarnation: number;
  /** Seconds since the status last changed. */
  readonly statusForSeconds: number;
  /** Seconds since its heartbeat last grew, as this node heard it. */
  readonly heardSecondsAgo: number;
}

/** What `member stats --json` prints. */
export interface NodeStats {
  readonly self: EntryJson;
  readonly members: EntryJson[];
  readonly node: Record<string, unknown>;
  readonly traffic: Record<string, unknown>;
  readonly dropped: Record<string, unknown>;
  readonly detections: Record<string, number>;
  readonly counters: Record<string, number>;
}

function entryJson(
  view: MemberView | Entry & { sinceMs?: number; heardMs?: number },
  nowMs: number,
): EntryJson {
  const round = (ms: number | undefined) =>
    ms === undefined ? 0 : Math.max(0, Math.round((nowMs - ms) / 100) / 10);
  return {
    id: memberId(view.address, view.version),
    address: view.address,
    version: view.version,
    status: statusNames[view.status],
    heartbeat: view.heartbeat,
    incarnation: view.incarnation,
    statusForSeconds: round(view.sinceMs),
    heardSecondsAgo: round(view.heardMs),
  };
}

/** Why a join again failed, contact by contact (the first few). */
function rejoinFailure(failures: ReadonlyMap<Address, string>): string {
  const shown = 3;
  const each = [...failures].slice(0, shown).map(([contact, why]) => `${contact}: ${why}`);
  if (failures.size > shown) each.push(`and ${failures.size - shown} more`);
  return failures.size === 1
    ? `cannot join via ${each[0]}`
    : `cannot join via any of ${failures.size} members (${each.join("; ")})`;
}

/** Says which matched files are not searched for their names. */
function notUtf8Note(paths: readonly string[]): string {
  return `not searched (names not UTF-8): ${paths.join(", ")}`;
}

/** Says which matched files are not searched for linking outside their glob's directory. */
function outsideNote(paths: readonly string[]): string {
  return `not searched (links out of the --grep directory): ${paths.join(", ")}`;
}

/** The kinds traffic is counted by, in the order `member stats` shows them. */
const trafficKinds = ["gossip", "join", "sync", "probe", "grep", "events", "stats", "control"];

function kindOf(message: FrameMessage): string {
  switch (message.kind) {
    case "join-request":
    case "join-response":
      return "join";
    case "sync-request":
    case "sync-response":
      return "sync";
    case "probe":
    case "probe-ack":
      return "probe";
    case "stats-request":
    case "stats-response":
      return "stats";
    case "control-request":
    case "control-response":
      return "control";
    case "grep-request":
    case "grep-chunk":
    case "grep-done":
      return "grep";
    case "events-request":
    case "events-chunk":
    case "events-done":
      return "events";
  }
}

/**
 * The version of a new join: the time in ms, made strictly larger than any version this data dir
 * has used, and remembered there.
 */
export function nextVersion(dataDir: string): number {
  const path = `${dataDir}/version`;
  let last = 0;
  let text: string | undefined;
  try {
    text = Deno.readTextFileSync(path).trim();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (text !== undefined) {
    // A damaged file is not taken for 0: the versions it guards could then repeat.
    last = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(last + 1)) {
      throw new Error(
        `${path} holds '${text.slice(0, 40)}', not a version (milliseconds): fix or remove it`,
      );
    }
  }
  const version = Math.max(Date.now(), last + 1);
  if (version > versionMax) {
    // Only forged gossip (a keyless cluster) pushes a member this far; said, not sent unreadable.
    throw new Error(
      `${path} holds ${last}, the widest version the wire carries: no newer one exists. ` +
        "Remove the file; the others take this address back once they forget that version",
    );
  }
  rememberVersion(dataDir, version);
  return version;
}

/** Records in the data dir the last version used, replacing the file whole. */
function rememberVersion(dataDir: string, version: number): void {
  const path = `${dataDir}/version`;
  Deno.writeTextFileSync(`${path}.tmp`, `${version}\n`);
  Deno.renameSync(`${path}.tmp`, path);
}

/** The members a data dir's `members` file names; none when it is missing or unreadable. */
export function readMembers(dataDir: string): Address[] {
  let text: string;
  try {
    text = Deno.readTextFileSync(`${dataDir}/members`);
  } catch {
    return [];
  }
  return text.split("\n").map((line) => line.trim()).filter(isAddress).slice(0, membersFileMax);
}

/** Records the members a later start may join through, replacing the file whole. */
function writeMembers(dataDir: string, addresses: readonly Address[]): void {
  const path = `${dataDir}/members`;
  Deno.writeTextFileSync(`${path}.tmp`, addresses.map((a) => `${a}\n`).join(""));
  Deno.renameSync(`${path}.tmp`, path);
}

/**
 * Takes the data dir for this process: two member processes on one data dir would interleave
 * their event logs and reuse each other's versions. The lock goes with the process, however it
 * ends, so a crash leaves nothing to clean up.
 */
function lockDataDir(dataDir: string): Deno.FsFile {
  let file: Deno.FsFile;
  try {
    Deno.mkdirSync(dataDir, { recursive: true });
    file = Deno.openSync(`${dataDir}/lock`, { create: true, write: true });
  } catch (error) {
    throw new StartError(`cannot use data dir ${dataDir}: ${describeFileError(error)}`);
  }
  if (!file.tryLockSync(true)) {
    file.close();
    throw new StartError(`cannot use data dir ${dataDir}: another member process is using it`);
  }
  return file;
}

function listed(members: number): string {
  return `${members} member${members === 1 ? "" : "s"} listed`;
}

/** Sums two sets of counters, key by key. */
function addCounters(past: Partial<CoreCounters>, now: CoreCounters): CoreCounters {
  const sum = { ...now };
  for (const key of Object.keys(now) as (keyof CoreCounters)[]) sum[key] += past[key] ?? 0;
  return sum;
}

/** A token bucket: `rate` tokens a second, at most `burst` saved up. */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #lastMs: number | undefined;

  constructor(rate: number, burst: number) {
    this.#rate = rate;
    this.#burst = burst;
    this.#tokens = burst;
  }

  /** Takes a token at `nowMs` if there is one. */
  take(nowMs: number): boolean {
    if (this.#lastMs !== undefined) {
      this.#tokens = Math.min(
        this.#burst,
        this.#tokens + (nowMs - this.#lastMs) * this.#rate / 1000,
      );
    }
    this.#lastMs = nowMs;
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }
}
