/**
 * Many cores in one process: a virtual clock that jumps to the next delivery or wake-up, and a
 * seeded network with loss, delay and jitter, duplication (and so reordering), partitions,
 * crashes, restarts and pauses. Only the socket and the clock are replaced: every node runs the
 * same {@linkcode Core} the daemon runs.
 *
 * A run is a function of its seed and its script: the same seed gives the same run, event for
 * event, so a failure found once can be replayed and debugged.
 */
import { AddressBook } from "../core/address_book.ts";
import type { Config } from "../core/config.ts";
import { defaultConfig, probeTimeoutMs, requestTimeoutMs } from "../core/config.ts";
import { Core } from "../core/core.ts";
import { DriverRules } from "../core/driver_rules.ts";
import { Random } from "../core/random.ts";
import type {
  Address,
  EventKind,
  Gossip,
  JoinRequest,
  JoinResponse,
  MemberEvent,
  Outgoing,
  Probe,
  ProbeAck,
  SyncRequest,
  SyncResponse,
} from "../core/types.ts";
import { memberId } from "../core/types.ts";
import { Agenda } from "./queue.ts";
import { StepChecker } from "./checkers.ts";

/** Wall-clock time at virtual time 0 unless a run says otherwise: 2026-01-01T00:00:00Z. */
export const simulationEpochMs = Date.UTC(2026, 0, 1);

/** How the simulated network behaves. */
export interface NetworkOptions {
  /** Probability that a datagram is lost. */
  readonly lossRate: number;
  /** One-way delay of every datagram and TCP message, in ms. */
  readonly delayMs: number;
  /** Extra delay, uniform in [0, jitterMs), so datagrams also arrive out of order. */
  readonly jitterMs: number;
  /** Probability that a datagram is delivered twice. */
  readonly duplicateRate: number;
}

/** The network defaults: a quiet LAN. */
export const defaultNetwork: NetworkOptions = {
  lossRate: 0,
  delayMs: 1,
  jitterMs: 2,
  duplicateRate: 0,
};

/** What a simulation is created with. */
export interface SimulationOptions {
  readonly seed: number;
  readonly network?: Partial<NetworkOptions>;
  readonly config?: Partial<Config>;
  /** The suspicion switch the first node starts the cluster with. */
  readonly suspicion?: boolean;
  /** Wall-clock time at virtual time 0, for versions and log lines. */
  readonly epochMs?: number;
  /** Called for every event every node reports. */
  readonly onEvent?: (node: SimNode, event: MemberEvent) => void;
  /**
   * Called for every output of every core, in the order the cores give them: what golden traces
   * hash, so that a change of the core's behaviour, however small, shows.
   */
  readonly onOutput?: (node: SimNode, output: SimOutput) => void;
  /** Datagrams a paused node's socket buffers before dropping more. */
  readonly pausedInboxMax?: number;
  /** How long a joiner waits before trying again when its contact does not answer. */
  readonly joinRetryMs?: number;
}

/** One output of a core, as {@linkcode SimulationOptions.onOutput} sees it. */
export type SimOutput =
  | { readonly kind: "datagram"; readonly datagram: Outgoing }
  | { readonly kind: "request"; readonly to: Address; readonly request: SyncRequest | Probe }
  | { readonly kind: "answer"; readonly to: Address; readonly response: SyncResponse | ProbeAck }
  | { readonly kind: "event"; readonly event: MemberEvent };

/** Requests over TCP a paused process's accept queue holds; more are refused. */
const pausedRequestsMax = 128;

/** One number for the unordered pair of node indexes `a` and `b`. */
function pairKey(a: number, b: number): number {
  return a < b ? a * 0x10_0000 + b : b * 0x10_0000 + a;
}

/** Raised when a checker finds a broken invariant; its message carries the seed. */
export class SimulationError extends Error {
  override name = "SimulationError";
}

/** One simulated machine: an address, and a running core when it is up. */
export class SimNode {
  readonly index: number;
  readonly address: Address;
  state: "down" | "up" | "paused" = "down";
  core: Core | undefined;
  /** Bumped at every start, so that messages meant for an earlier process are dropped. */
  generation = 0;
  wakeAtMs = Infinity;
  inbox: Gossip[] = [];
  /** Answers over TCP that came while the process was paused: read once it runs again. */
  replies: RequestReply[] = [];
  /**
   * Requests over TCP that came while the process was paused, waiting in its accept queue: read
   * and acted on once it runs again, though the asker may have stopped waiting for the answer.
   */
  requests: (RequestArrive | JoinArrive)[] = [];
  lastVersion = 0;
  contact: number | undefined;
  /** The rules the daemon's shell follows too; a new set with every start of the process. */
  rules = new DriverRules();
  /** Requests over TCP waiting for their answer or their timeout, by id. */
  readonly pending = new Map<number, "probe" | "sync">();
  /** Set when the process left voluntarily. */
  leftAtMs: number | undefined;
  /** The process's last pause: when it began and ended. */
  pausedAtMs = -Infinity;
  resumedAtMs = -Infinity;
  bytesSent = 0;
  datagramsSent = 0;
  /** Partition group; nodes talk only within a group. */
  group = 0;
  /** The share of datagrams this node drops on arrival, as `member serve --drop-rate` does. */
  dropRate = 0;
  /** The share of this node's datagrams lost on the way out (a firewall dropping its UDP). */
  sendDropRate = 0;

  /** True once the process started a cluster or its join was answered. */
  get joined(): boolean {
    return this.rules.takesGossip;
  }

  constructor(index: number, address: Address) {
    this.index = index;
    this.address = address;
  }

  /** The running member's id, when up or paused. */
  get id(): string | undefined {
    return this.core === undefined ? undefined : memberId(this.address, this.core.version);
  }
}

type Item =
  | { readonly kind: "deliver"; readonly to: SimNode; readonly message: Gossip }
  | {
    readonly kind: "wake";
    readonly node: SimNode;
    readonly generation: number;
    readonly atMs: number;
  }
  | { readonly kind: "join-arrive"; readonly joiner: SimNode; readonly generation: number }
  | {
    readonly kind: "join-reply";
    readonly joiner: SimNode;
    readonly generation: number;
    readonly contact: Address;
    readonly response: JoinResponse;
  }
  | RequestArrive
  | RequestTimeout
  | RequestReply
  | { readonly kind: "action"; readonly run: () => void };

/** A request over (simulated) TCP: reliable, but only between connected running nodes. */
interface RequestArrive {
  readonly kind: "request-arrive";
  readonly node: SimNode;
  readonly generation: number;
  readonly to: SimNode;
  readonly request: SyncRequest | Probe;
  readonly askedMs: number;
  /** Which of the asker's pending requests this is. */
  readonly id: number;
}

/** A join request read by a contact that was paused when it came; its answer is lost. */
interface JoinArrive {
  readonly kind: "join-queued";
  readonly request: JoinRequest;
}

/** An answer over TCP, on its way back to the node that asked at `askedMs`. */
interface RequestReply {
  readonly kind: "request-reply";
  readonly node: SimNode;
  readonly generation: number;
  readonly from: Address;
  readonly response: SyncResponse | ProbeAck;
  readonly askedMs: number;
  readonly id: number;
}

/** The moment the asker stops waiting for the answer to a request. */
interface RequestTimeout {
  readonly kind: "request-timeout";
  readonly node: SimNode;
  readonly generation: number;
  readonly id: number;
}

/** Counters of a run. */
export interface SimulationStats {
  datagramsSent: number;
  datagramsLost: number;
  datagramsDuplicated: number;
  datagramsUndeliverable: number;
  /** Datagrams that reached a process before its join was answered, dropped as the daemon does. */
  datagramsBeforeJoin: number;
  /** Datagrams a node's own drop rates (in or out) threw away. */
  datagramsDroppedOnPurpose: number;
  /** List exchanges (push-pull over TCP) completed. */
  syncs: number;
  /** Probes of silent neighbours sent over TCP, and the ones answered. */
  probes: number;
  probesAnswered: number;
  bytesSent: number;
  datagramBytesMax: number;
  events: Record<EventKind, number>;
  /**
   * FAIL events about a member whose process was running (not crashed, paused or left), and
   * members running yet ended as unknown to the cluster after a stall (REMOVE via stale).
   */
  falsePositives: number;
  /** FAIL events about a member that had left voluntarily. */
  leavesSeenAsFailures: number;
  /** FAIL events about a member that was paused at the time, or for the silence of a pause. */
  pausedDetections: number;
}

/** The first detection of a version by each observer. */
export interface Detection {
  readonly member: string;
  /** Observer index -> time it listed the member as failed. */
  readonly observers: Map<number, number>;
}

/** A simulated cluster. */
export class Simulation {
  readonly seed: number;
  network: NetworkOptions;
  readonly config: Config;
  readonly epochMs: number;
  readonly nodes: SimNode[] = [];
  readonly stats: SimulationStats = {
    datagramsSent: 0,
    datagramsLost: 0,
    datagramsDuplicated: 0,
    datagramsUndeliverable: 0,
    datagramsBeforeJoin: 0,
    datagramsDroppedOnPurpose: 0,
    syncs: 0,
    probes: 0,
    probesAnswered: 0,
    bytesSent: 0,
    datagramBytesMax: 0,
    events: { JOIN: 0, LEAVE: 0, SUSPECT: 0, REFUTE: 0, FAIL: 0, REMOVE: 0, SETTINGS: 0 },
    falsePositives: 0,
    leavesSeenAsFailures: 0,
    pausedDetections: 0,
  };
  /** Member id -> who listed it as failed, and when. */
  readonly detections = new Map<string, Detection>();

  readonly #agenda = new Agenda<Item>();
  readonly #random: Random;
  readonly #networkRandom: Random;
  readonly #book: AddressBook;
  readonly #byAddress = new Map<Address, SimNode>();
  /** Links cut by `block`, as `pairKey`s. */
  readonly #blocked = new Set<number>();
  readonly #checker = new StepChecker();
  readonly #options: SimulationOptions;
  readonly #leftIds = new Set<string>();
  /** Member id -> when its process stopped being that member: crashed, left, or a new version. */
  readonly #endedAtMs = new Map<string, number>();
  #suspicion: boolean;
  #nextRequestId = 0;

  constructor(options: SimulationOptions) {
    this.seed = options.seed;
    this.#options = options;
    this.network = { ...defaultNetwork, ...options.network };
    this.config = { ...defaultConfig, ...options.config };
    this.epochMs = options.epochMs ?? simulationEpochMs;
    this.#random = new Random(options.seed);
    this.#networkRandom = this.#random.fork();
    this.#suspicion = options.suspicion ?? true;
    this.#book = new AddressBook(this.config.memberTableMax, true);
  }

  /** The virtual time, in ms since the start. */
  get nowMs(): number {
    return this.#agenda.nowMs;
  }

  /** Adds machines (not yet started); returns their indexes. */
  addNodes(count: number): number[] {
    const added: number[] = [];
    for (let i = 0; i < count; i++) {
      const index = this.nodes.length;
      const n = index + 1;
      const address = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}:3000`;
      const node = new SimNode(index, address);
      this.nodes.push(node);
      this.#byAddress.set(address, node);
      added.push(index);
    }
    return added;
  }

  /** The node at an index. */
  node(index: number): SimNode {
    const node = this.nodes[index];
    if (node === undefined) throw new RangeError(`no node ${index}`);
    return node;
  }

  /** Nodes whose process is running and not paused. */
  upNodes(): SimNode[] {
    return this.nodes.filter((node) => node.state === "up");
  }

  // ---- the script ------------------------------------------------------------------------------

  /**
   * Starts a node's process with a new version. With a contact it joins through it over
   * (simulated) TCP, retrying while the contact does not answer; without, it starts a cluster.
   */
  start(index: number, contact?: number): void {
    const node = this.node(index);
    if (node.state !== "down") throw new Error(`node ${index} is already running`);
    const version = Math.max(this.epochMs + this.nowMs, node.lastVersion + 1);
    node.lastVersion = version;
    node.generation++;
    node.state = "up";
    node.inbox = [];
    node.replies = [];
    node.requests = [];
    node.wakeAtMs = Infinity;
    node.leftAtMs = undefined;
    node.contact = contact;
    node.rules = new DriverRules();
    node.pending.clear();
    if (contact === undefined) node.rules.joined();
    this.#checker.forget(index);
    node.core = new Core({
      address: node.address,
      version,
      nowMs: this.nowMs,
      random: this.#random.fork(),
      config: this.#options.config,
      suspicion: contact === undefined ? this.#suspicion : undefined,
      book: this.#book,
      membersExpected: this.nodes.length + 16,
    });
    this.#flush(node);
    if (contact !== undefined) this.#sendJoin(node);
  }

  /** Kills a node's process (kill -9): it sends nothing more and its datagrams are lost. */
  crash(index: number): void {
    const node = this.node(index);
    if (node.state === "down") return;
    this.#endedAtMs.set(node.id!, this.nowMs);
    node.state = "down";
    node.core = undefined;
    node.wakeAtMs = Infinity;
    node.inbox = [];
    node.replies = [];
    node.requests = [];
  }

  /** Kills a node's process and starts a new one at the same address, joining through `contact`. */
  restart(index: number, contact: number): void {
    this.crash(index);
    this.start(index, contact);
  }

  /** Stops a node's process (SIGSTOP): datagrams queue in its socket buffer, timers wait. */
  pause(index: number): void {
    const node = this.node(index);
    if (node.state !== "up") return;
    node.state = "paused";
    node.pausedAtMs = this.nowMs;
    node.wakeAtMs = Infinity;
  }

  /** Continues a paused process (SIGCONT): it reads its buffered datagrams, then its timers. */
  resume(index: number): void {
    const node = this.node(index);
    if (node.state !== "paused") return;
    node.state = "up";
    node.resumedAtMs = this.nowMs;
    const inbox = node.inbox;
    node.inbox = [];
    for (const message of inbox) {
      if (node.state !== "up") break;
      if (!node.rules.takesGossip) {
        this.stats.datagramsBeforeJoin++;
        continue;
      }
      node.core!.receive(this.nowMs, message);
      this.#flush(node);
    }
    // Answers read after the datagrams: one written before the pause must not pass for new.
    const replies = node.replies;
    node.replies = [];
    for (const reply of replies) if (node.state === "up") this.#reply(node, reply);
    const requests = node.requests;
    node.requests = [];
    for (const request of requests) {
      if (node.state !== "up") break;
      if (request.kind === "join-queued") {
        // The joiner gave up on this answer and tries again: accepting it twice must do no harm.
        node.core!.acceptJoin(this.nowMs, request.request);
        this.#flush(node);
      } else this.#answer(node, request);
    }
    if (node.state === "up") {
      node.core!.tick(this.nowMs);
      this.#flush(node);
    }
  }

  /** Makes a node leave voluntarily; its process ends once the leave is announced. */
  leave(index: number): void {
    const node = this.node(index);
    if (node.state !== "up") return;
    node.core!.leave(this.nowMs);
    this.#leftIds.add(node.id!);
    this.#flush(node);
  }

  /** Flips the cluster-wide suspicion switch from one node. */
  setSuspicion(index: number, enabled: boolean): void {
    const node = this.node(index);
    if (node.state !== "up") throw new Error(`node ${index} is not up`);
    node.core!.setSuspicion(this.nowMs, enabled);
    this.#flush(node);
  }

  /**
   * Sets the share of a node's incoming datagrams dropped (1: it hears none, but it still sends),
   * or with `"out"` of its outgoing ones (1: nobody hears it, but it still hears them). Its TCP
   * (list exchanges, probes) is untouched either way.
   */
  setDropRate(index: number, rate: number, direction: "in" | "out" = "in"): void {
    if (direction === "in") this.node(index).dropRate = rate;
    else this.node(index).sendDropRate = rate;
  }

  /** Changes how the network behaves from now on. */
  setNetwork(network: Partial<NetworkOptions>): void {
    this.network = { ...this.network, ...network };
  }

  /** Splits the network: nodes talk only to nodes in the same group. */
  partition(groups: readonly (readonly number[])[]): void {
    for (const node of this.nodes) node.group = -1 - node.index; // alone unless listed
    groups.forEach((group, g) => {
      for (const index of group) this.node(index).group = g;
    });
  }

  /** Joins the network back into one. */
  heal(): void {
    for (const node of this.nodes) node.group = 0;
  }

  /**
   * Cuts the link between two nodes, both ways, datagrams and requests alike (a firewall rule, a
   * route that drops everything), while each still reaches every other node.
   */
  block(a: number, b: number): void {
    this.#blocked.add(pairKey(a, b));
  }

  /** Runs `run` at virtual time `atMs`. */
  at(atMs: number, run: () => void): void {
    this.#agenda.push(Math.max(Math.ceil(atMs), this.nowMs), { kind: "action", run });
  }

  // ---- running ----------------------------------------------------------------------------------

  /** Runs for `durationMs` of virtual time. */
  runFor(durationMs: number, onSecond?: (nowMs: number) => void): void {
    this.runUntilTime(this.nowMs + durationMs, onSecond);
  }

  /** Runs until virtual time `untilMs`. */
  runUntilTime(untilMs: number, onSecond?: (nowMs: number) => void): void {
    const end = Math.ceil(untilMs);
    let nextSecond = Math.floor(this.nowMs / 1000) * 1000 + 1000;
    for (;;) {
      const stop = onSecond === undefined ? end : Math.min(end, nextSecond);
      let item = this.#agenda.shift(stop);
      while (item !== undefined) {
        this.#process(item);
        item = this.#agenda.shift(stop);
      }
      this.#agenda.advanceTo(stop);
      if (stop >= end) break;
      onSecond!(this.nowMs);
      nextSecond += 1000;
    }
  }

  /**
   * Runs until `done()` holds, checked every `everyMs`, or `limitMs` more has passed. Returns
   * whether it held.
   */
  runUntil(done: () => boolean, limitMs: number, everyMs = 100): boolean {
    const limit = this.nowMs + limitMs;
    while (!done()) {
      if (this.nowMs >= limit) return false;
      this.runUntilTime(Math.min(limit, this.nowMs + everyMs));
    }
    return true;
  }

  #process(item: Item): void {
    const now = this.nowMs;
    switch (item.kind) {
      case "deliver": {
        const node = item.to;
        if (node.state === "down") {
          this.stats.datagramsUndeliverable++;
          return;
        }
        if (node.state === "paused") {
          if (node.inbox.length < (this.#options.pausedInboxMax ?? 512)) {
            node.inbox.push(item.message);
          } else this.stats.datagramsUndeliverable++;
          return;
        }
        if (node.dropRate > 0 && this.#networkRandom.chance(node.dropRate)) {
          this.stats.datagramsDroppedOnPurpose++;
          return;
        }
        if (!node.rules.takesGossip) {
          this.stats.datagramsBeforeJoin++;
          return;
        }
        node.core!.receive(now, item.message);
        this.#flush(node);
        return;
      }
      case "wake": {
        const node = item.node;
        if (
          node.state !== "up" || node.generation !== item.generation ||
          node.wakeAtMs !== item.atMs
        ) return;
        node.wakeAtMs = Infinity;
        node.core!.tick(now);
        this.#flush(node);
        if (node.state === "up" && node.core!.nextWakeMs() <= now) {
          this.#fail(`node ${node.address} does not progress: wake ${node.core!.nextWakeMs()}`);
        }
        return;
      }
      case "join-arrive": {
        const joiner = item.joiner;
        if (joiner.state !== "up" || joiner.generation !== item.generation) return;
        const contact = this.node(joiner.contact!);
        const connected = this.#connected(joiner, contact);
        if (connected && contact.state === "paused") {
          this.#queueIfPaused(contact, {
            kind: "join-queued",
            request: joiner.core!.joinRequest(),
          });
        }
        if (contact.state !== "up" || !connected) {
          // A contact that is down refuses the connection; a paused or unreachable one times out.
          this.at(now + (this.#options.joinRetryMs ?? 1000), () => {
            if (joiner.state === "up" && joiner.generation === item.generation) {
              this.#sendJoin(joiner);
            }
          });
          return;
        }
        const response = contact.core!.acceptJoin(now, joiner.core!.joinRequest());
        this.#flush(contact);
        this.#agenda.push(now + this.#delay(), {
          kind: "join-reply",
          joiner,
          generation: item.generation,
          contact: contact.address,
          response,
        });
        return;
      }
      case "join-reply": {
        const joiner = item.joiner;
        if (joiner.state !== "up" || joiner.generation !== item.generation) return;
        if (!item.response.accepted) {
          this.#fail(`join of ${joiner.address} refused: ${item.response.reason}`);
        }
        joiner.core!.applyJoinResponse(now, item.response, item.contact);
        joiner.rules.joined();
        this.#flush(joiner);
        return;
      }
      case "request-arrive": {
        // A paused member answers once it runs again, a crashed or cut off one not at all.
        const peer = item.to;
        if (!this.#connected(item.node, peer)) return;
        this.#queueIfPaused(peer, item);
        if (peer.state === "up") this.#answer(peer, item);
        return;
      }
      case "request-timeout": {
        const node = item.node;
        if (node.generation === item.generation) this.#endRequest(node, item.id);
        return;
      }
      case "request-reply": {
        const node = item.node;
        if (node.generation !== item.generation) return;
        if (node.state === "paused") node.replies.push(item);
        else if (node.state === "up") this.#reply(node, item);
        return;
      }
      case "action":
        item.run();
        return;
    }
  }

  #sendJoin(node: SimNode): void {
    this.#agenda.push(this.nowMs + this.#delay(), {
      kind: "join-arrive",
      joiner: node,
      generation: node.generation,
    });
  }

  #delay(): number {
    const network = this.network;
    return Math.max(
      1,
      Math.round(network.delayMs + this.#networkRandom.float() * network.jitterMs),
    );
  }

  #connected(a: SimNode, b: SimNode): boolean {
    return a.group === b.group &&
      (this.#blocked.size === 0 || !this.#blocked.has(pairKey(a.index, b.index)));
  }

  /** Moves a node's outputs out: datagrams to the network, events to the checkers. */
  #flush(node: SimNode): void {
    const core = node.core!;
    if (core.version !== node.lastVersion) {
      // The core came back as a new version by itself (after a stall, or told it had failed): a
      // restart must be newer still, and the old version is over.
      this.#endedAtMs.set(memberId(node.address, node.lastVersion), this.nowMs);
      node.lastVersion = core.version;
    }
    if (core.hasOutput) this.#drain(node, core);
    if (core.done) {
      this.#endedAtMs.set(node.id!, this.nowMs);
      node.state = "down";
      node.leftAtMs = this.nowMs;
      node.wakeAtMs = Infinity;
      return;
    }
    const wake = core.nextWakeMs();
    if (wake < node.wakeAtMs) {
      const atMs = Math.max(this.nowMs, Math.ceil(wake));
      node.wakeAtMs = atMs;
      this.#agenda.push(atMs, { kind: "wake", node, generation: node.generation, atMs });
    }
  }

  #drain(node: SimNode, core: Core): void {
    const trace = this.#options.onOutput;
    const datagrams = core.takeDatagrams();
    for (const datagram of datagrams) {
      trace?.(node, { kind: "datagram", datagram });
      this.#route(node, datagram);
    }
    for (const address of core.takeSyncs()) {
      if (node.rules.beginSync()) this.#request(node, address, core.syncRequest());
    }
    for (const probe of core.takeProbes()) {
      if (!node.rules.beginProbe(probe)) continue;
      this.stats.probes++;
      this.#request(node, probe.to, probe.message);
    }
    const events = core.takeEvents();
    for (const event of events) {
      trace?.(node, { kind: "event", event });
      this.#observe(node, event);
    }
  }

  /** Sends a request the driver rules let through; it ends at its answer or its timeout. */
  #request(node: SimNode, address: Address, request: SyncRequest | Probe): void {
    this.#options.onOutput?.(node, { kind: "request", to: address, request });
    const id = this.#nextRequestId++;
    node.pending.set(id, request.kind === "probe" ? "probe" : "sync");
    const to = this.#byAddress.get(address);
    if (to === undefined) {
      // No such host: the connection fails at once.
      this.#endRequest(node, id);
      return;
    }
    const waitMs = request.kind === "probe" ? probeTimeoutMs : requestTimeoutMs;
    const generation = node.generation;
    this.#agenda.push(this.nowMs + waitMs, { kind: "request-timeout", node, generation, id });
    this.#agenda.push(this.nowMs + this.#delay(), {
      kind: "request-arrive",
      node,
      generation,
      to,
      request,
      askedMs: this.nowMs,
      id,
    });
  }

  /** Ends a pending request, answered or timed out, once: the driver rules count it no more. */
  #endRequest(node: SimNode, id: number): void {
    const kind = node.pending.get(id);
    if (kind === undefined) return;
    node.pending.delete(id);
    if (kind === "probe") node.rules.endProbe();
    else node.rules.endSync();
  }

  /** A request to a paused node waits in its accept queue, while there is room. */
  #queueIfPaused(node: SimNode, request: RequestArrive | JoinArrive): void {
    if (node.state === "paused" && node.requests.length < pausedRequestsMax) {
      node.requests.push(request);
    }
  }

  /** A running node reads a request and answers it, unless the asker has stopped waiting. */
  #answer(peer: SimNode, item: RequestArrive): void {
    const request = item.request;
    let response;
    if (request.kind === "probe") {
      response = peer.core!.acceptProbe(this.nowMs, request);
    } else {
      response = peer.core!.acceptSync(this.nowMs, request, item.node.address);
      this.stats.syncs++;
    }
    if (response !== undefined) {
      this.#options.onOutput?.(peer, { kind: "answer", to: item.node.address, response });
    }
    this.#flush(peer);
    const atMs = this.nowMs + this.#delay();
    const waitMs = request.kind === "probe" ? probeTimeoutMs : requestTimeoutMs;
    if (response === undefined || atMs - item.askedMs > waitMs) return;
    this.#agenda.push(atMs, {
      kind: "request-reply",
      node: item.node,
      generation: item.generation,
      from: peer.address,
      response,
      askedMs: item.askedMs,
      id: item.id,
    });
  }

  #reply(node: SimNode, reply: RequestReply): void {
    // Ended before the answer is merged: a stall the answer reveals asks for a list at once.
    this.#endRequest(node, reply.id);
    const response = reply.response;
    if (response.kind === "probe-ack") {
      node.core!.applyProbeAck(this.nowMs, response);
      this.stats.probesAnswered++;
    } else node.core!.applySync(this.nowMs, response, reply.from, reply.askedMs);
    this.#flush(node);
  }

  #route(from: SimNode, datagram: Outgoing): void {
    const stats = this.stats;
    stats.datagramsSent++;
    stats.bytesSent += datagram.bytes;
    if (datagram.bytes > stats.datagramBytesMax) stats.datagramBytesMax = datagram.bytes;
    from.bytesSent += datagram.bytes;
    from.datagramsSent++;
    const to = this.#byAddress.get(datagram.to);
    if (to === undefined || !this.#connected(from, to)) {
      stats.datagramsUndeliverable++;
      return;
    }
    const random = this.#networkRandom;
    if (from.sendDropRate > 0 && random.chance(from.sendDropRate)) {
      stats.datagramsDroppedOnPurpose++;
      return;
    }
    if (random.chance(this.network.lossRate)) {
      stats.datagramsLost++;
      return;
    }
    this.#agenda.push(this.nowMs + this.#delay(), {
      kind: "deliver",
      to,
      message: datagram.message,
    });
    if (random.chance(this.network.duplicateRate)) {
      stats.datagramsDuplicated++;
      this.#agenda.push(this.nowMs + this.#delay(), {
        kind: "deliver",
        to,
        message: datagram.message,
      });
    }
  }

  #observe(node: SimNode, event: MemberEvent): void {
    this.stats.events[event.kind]++;
    const violation = this.#checker.check(node.index, node.address, event);
    if (violation !== undefined) this.#fail(`${node.address} at ${this.nowMs} ms: ${violation}`);
    if (event.kind === "JOIN") {
      // Across the cluster: once every member that knew an ended version has removed it and let
      // its tombstone go, nothing true can bring it in again; only stale gossip could.
      const id = memberId(event.address, event.version);
      const endedAtMs = this.#endedAtMs.get(id);
      if (
        endedAtMs !== undefined &&
        this.nowMs - endedAtMs > this.config.cleanupAfterMs + this.config.tombstoneMs
      ) {
        this.#fail(
          `${node.address} at ${this.nowMs} ms: ${id} joined its list ${
            this.nowMs - endedAtMs
          } ms after its process ended (a ghost)`,
        );
      }
    }
    if (event.kind === "FAIL") {
      const id = memberId(event.address, event.version);
      let detection = this.detections.get(id);
      if (detection === undefined) {
        detection = { member: id, observers: new Map() };
        this.detections.set(id, detection);
      }
      if (!detection.observers.has(node.index)) detection.observers.set(node.index, event.atMs);
      const subject = this.#byAddress.get(event.address);
      if (this.#leftIds.has(id)) this.stats.leavesSeenAsFailures++;
      else if (subject?.id === id && this.#silencedByPause(subject)) this.stats.pausedDetections++;
      else if (subject?.id === id && subject.state === "up") this.stats.falsePositives++;
    } else if (event.kind === "REMOVE" && event.via === "stale") {
      // Ended for want of confirmation after a stall: wrong, and as costly as a false failure,
      // when the member is running (it is told so, and comes back as a new version).
      const subject = this.#byAddress.get(event.address);
      const id = memberId(event.address, event.version);
      if (subject?.id === id && subject.state === "up") this.stats.falsePositives++;
    }
    this.#options.onEvent?.(node, event);
  }

  /**
   * True when a member's failure is its pause's doing: it is paused, or it ran again so lately
   * that the silence it was failed for began while it was paused (a pause of over a second).
   */
  #silencedByPause(node: SimNode): boolean {
    if (node.state === "paused") return true;
    const config = this.config;
    const silenceMs = Math.max(config.failAfterMs, config.suspectAfterMs + config.suspectTimeoutMs);
    return node.state === "up" && this.nowMs - node.resumedAtMs < silenceMs &&
      node.resumedAtMs - node.pausedAtMs > config.stallThresholdMs;
  }

  #fail(message: string): never {
    throw new SimulationError(
      `${message}\n  seed ${this.seed}: the same seed and script replay this run exactly`,
    );
  }
}
