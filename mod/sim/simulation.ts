/**
 * Many cores in one process: a virtual clock that jumps to the next delivery or wake-up, and a
 * seeded network with loss, delay and jitter, duplication (and so reordering), partitions,
 * crashes, restarts and pauses. Only the socket and the clock are replaced: every node runs the
 * same {@linkcode Core} the daemon runs.
 *
 * A run is a function of its seed and its script: the same seed gives the same run, event for
 * event, so a failure found once can be replayed and debugged.
 *
 * This file is the script a run follows (start, crash, pause, partition...) and the parts' wiring.
 * The parts: `sim_node.ts` (a machine, the agenda's items), `network.ts` (datagrams, delays,
 * partitions), `tcp.ts` (joins, list exchanges, probes, under the driver rules), `driver.ts` (the
 * agenda run, each core's outputs moved out), `observer.ts` (events counted and checked).
 */
import { AddressBook } from "../core/address_book.ts";
import type { Config } from "../core/config.ts";
import { defaultConfig } from "../core/config.ts";
import { Core } from "../core/core.ts";
import { DriverRules } from "../core/driver_rules.ts";
import { Random } from "../core/random.ts";
import type { Address, Tags } from "../core/types.ts";
import { Driver } from "./driver.ts";
import { defaultNetwork, Network, type NetworkOptions } from "./network.ts";
import { type Detection, Observer } from "./observer.ts";
import type { SimulationOptions } from "./options.ts";
import { Agenda } from "./queue.ts";
import { type Item, SimNode } from "./sim_node.ts";
import { emptyStats, type SimulationStats } from "./stats.ts";
import { Tcp } from "./tcp.ts";

export { defaultNetwork, type NetworkOptions } from "./network.ts";
export type { Detection } from "./observer.ts";
export type { SimOutput, SimulationOptions } from "./options.ts";
export { SimNode } from "./sim_node.ts";
export type { SimulationStats } from "./stats.ts";

/** Wall-clock time at virtual time 0 unless a run says otherwise: 2026-01-01T00:00:00Z. */
export const simulationEpochMs = Date.UTC(2026, 0, 1);

/** Raised when a checker finds a broken invariant; its message carries the seed. */
export class SimulationError extends Error {
  override name = "SimulationError";
}

/** A simulated cluster. */
export class Simulation {
  readonly seed: number;
  readonly config: Config;
  readonly epochMs: number;
  readonly nodes: SimNode[] = [];
  readonly stats: SimulationStats = emptyStats();
  /** Member id -> who listed it as failed, and when. */
  readonly detections: Map<string, Detection>;

  readonly #agenda = new Agenda<Item>();
  readonly #random: Random;
  readonly #book: AddressBook;
  readonly #byAddress = new Map<Address, SimNode>();
  readonly #options: SimulationOptions;
  readonly #suspicion: boolean;
  readonly #network: Network;
  readonly #observer: Observer;
  readonly #tcp: Tcp;
  readonly #driver: Driver;

  constructor(options: SimulationOptions) {
    this.seed = options.seed;
    this.#options = options;
    this.config = { ...defaultConfig, ...options.config };
    this.epochMs = options.epochMs ?? simulationEpochMs;
    this.#random = new Random(options.seed);
    this.#suspicion = options.suspicion ?? true;
    this.#book = new AddressBook(this.config.memberTableMax, true);
    const agenda = this.#agenda;
    const stats = this.stats;
    const byAddress = this.#byAddress;
    const fail = (message: string) => this.#fail(message);
    this.#network = new Network({
      options: { ...defaultNetwork, ...options.network },
      // Forked before any core's generator: the order of forks fixes every draw of a run.
      random: this.#random.fork(),
      agenda,
      stats,
      byAddress,
      pausedInboxMax: options.pausedInboxMax,
    });
    this.#observer = new Observer({
      clock: agenda,
      config: this.config,
      stats,
      byAddress,
      fail,
      onEvent: options.onEvent,
    });
    this.detections = this.#observer.detections;
    this.#tcp = new Tcp({
      agenda,
      network: this.#network,
      stats,
      byAddress,
      node: (index) => this.node(index),
      flush: (node) => this.#driver.flush(node),
      fail,
      onOutput: options.onOutput,
      joinRetryMs: options.joinRetryMs,
    });
    this.#driver = new Driver({
      agenda,
      network: this.#network,
      tcp: this.#tcp,
      observer: this.#observer,
      fail,
      onOutput: options.onOutput,
    });
  }

  /** How the network behaves; {@linkcode Simulation.setNetwork} changes it. */
  get network(): NetworkOptions {
    return this.#network.options;
  }

  set network(network: NetworkOptions) {
    this.#network.options = network;
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
   * `tags`: what it says about itself from the start, as `serve --tag` gives them.
   */
  start(index: number, contact?: number, tags?: Tags): void {
    const node = this.node(index);
    if (node.state !== "down") throw new Error(`node ${index} is already running`);
    const version = Math.max(this.epochMs + this.nowMs, node.lastVersion + 1);
    node.lastVersion = version;
    node.generation++;
    node.state = "up";
    node.machineDown = false;
    node.inbox = [];
    node.replies = [];
    node.requests = [];
    node.wakeAtMs = Infinity;
    node.leftAtMs = undefined;
    node.contact = contact;
    node.rules = new DriverRules();
    node.pending.clear();
    if (contact === undefined) node.rules.joined();
    this.#observer.forget(index);
    node.core = new Core({
      address: node.address,
      version,
      nowMs: this.nowMs,
      random: this.#random.fork(),
      config: this.#options.config,
      suspicion: contact === undefined ? this.#suspicion : undefined,
      book: this.#book,
      membersExpected: this.nodes.length + 16,
      tags,
    });
    this.#driver.flush(node);
    if (contact !== undefined) this.#tcp.sendJoin(node);
  }

  /**
   * Kills a node's process (kill -9): it sends nothing more and its datagrams are lost; its
   * machine refuses connections to the port. With `machine`, the whole machine goes (power, link):
   * connections to it time out instead.
   */
  crash(index: number, machine = false): void {
    const node = this.node(index);
    if (node.state === "down") return;
    this.#observer.ended(node.id!);
    node.state = "down";
    node.machineDown = machine;
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
      this.#driver.flush(node);
    }
    // Answers read after the datagrams: one written before the pause must not pass for new.
    this.#tcp.catchUp(node);
    if (node.state === "up") {
      node.core!.tick(this.nowMs);
      this.#driver.flush(node);
    }
  }

  /** Makes a node leave voluntarily; its process ends once the leave is announced. */
  leave(index: number): void {
    const node = this.node(index);
    if (node.state !== "up") return;
    node.core!.leave(this.nowMs);
    this.#observer.left(node.id!);
    this.#driver.flush(node);
  }

  /** Flips the cluster-wide suspicion switch from one node. */
  setSuspicion(index: number, enabled: boolean): void {
    const node = this.node(index);
    if (node.state !== "up") throw new Error(`node ${index} is not up`);
    node.core!.setSuspicion(this.nowMs, enabled);
    this.#driver.flush(node);
  }

  /** Sends a user event from a node; throws with the reason when it is refused. */
  sendUserEvent(index: number, name: string, payload: string): void {
    const node = this.node(index);
    if (node.state !== "up") throw new Error(`node ${index} is not up`);
    const problem = node.core!.sendUserEvent(this.nowMs, name, payload);
    if (problem !== undefined) throw new Error(`node ${index}: ${problem}`);
    this.#driver.flush(node);
  }

  /** Replaces what a node says about itself; throws with the reason when the tags are refused. */
  setTags(index: number, tags: Tags): void {
    const node = this.node(index);
    if (node.state !== "up") throw new Error(`node ${index} is not up`);
    const problem = node.core!.setTags(this.nowMs, tags);
    if (problem !== undefined) throw new Error(`node ${index}: ${problem}`);
    this.#driver.flush(node);
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
    this.#network.options = { ...this.#network.options, ...network };
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
    this.#network.block(a, b);
  }

  /** Restores a link that {@linkcode Simulation.block} cut. */
  unblock(a: number, b: number): void {
    this.#network.unblock(a, b);
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
    this.#driver.runUntilTime(untilMs, onSecond);
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

  #fail(message: string): never {
    throw new SimulationError(
      `${message}\n  seed ${this.seed}: the same seed and script replay this run exactly`,
    );
  }
}
