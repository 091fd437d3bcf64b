/**
 * The simulator's driver of every core, what the daemon's driver loop is minus its sockets and its
 * clock: it takes the agenda's items in time order and hands each to the core it is for (a
 * datagram, a wake-up, a join or a request over TCP), then moves that core's outputs out
 * (datagrams to the network, requests to the TCP links, events to the observer) and puts its next
 * wake-up on the agenda.
 */
import type { Core } from "../core/core.ts";
import { memberId } from "../core/types.ts";
import type { Network } from "./network.ts";
import type { Observer } from "./observer.ts";
import type { SimOutput } from "./options.ts";
import type { Agenda } from "./queue.ts";
import type { Item, SimNode } from "./sim_node.ts";
import type { Tcp } from "./tcp.ts";

/** What the driver is built on: the run's agenda and the parts it hands inputs and outputs to. */
export interface DriverParts {
  readonly agenda: Agenda<Item>;
  readonly network: Network;
  readonly tcp: Tcp;
  readonly observer: Observer;
  /** Ends the run with a broken invariant. */
  readonly fail: (message: string) => never;
  readonly onOutput?: (node: SimNode, output: SimOutput) => void;
}

/** Runs the agenda, and moves every core's outputs out. */
export class Driver {
  readonly #agenda: Agenda<Item>;
  readonly #network: Network;
  readonly #tcp: Tcp;
  readonly #observer: Observer;
  readonly #fail: (message: string) => never;
  readonly #onOutput: ((node: SimNode, output: SimOutput) => void) | undefined;

  constructor(parts: DriverParts) {
    this.#agenda = parts.agenda;
    this.#network = parts.network;
    this.#tcp = parts.tcp;
    this.#observer = parts.observer;
    this.#fail = parts.fail;
    this.#onOutput = parts.onOutput;
  }

  /**
   * Runs until virtual time `untilMs`, calling `onSecond` at every whole virtual second on the
   * way, once the items due before it are handled.
   */
  runUntilTime(untilMs: number, onSecond?: (nowMs: number) => void): void {
    const agenda = this.#agenda;
    const end = Math.ceil(untilMs);
    let nextSecond = Math.floor(agenda.nowMs / 1000) * 1000 + 1000;
    for (;;) {
      const stop = onSecond === undefined ? end : Math.min(end, nextSecond);
      let item = agenda.shift(stop);
      while (item !== undefined) {
        this.#process(item);
        item = agenda.shift(stop);
      }
      agenda.advanceTo(stop);
      if (stop >= end) break;
      onSecond!(agenda.nowMs);
      nextSecond += 1000;
    }
  }

  /** Moves a node's outputs out: datagrams to the network, events to the checkers. */
  flush(node: SimNode): void {
    const core = node.core!;
    const nowMs = this.#agenda.nowMs;
    if (core.version !== node.lastVersion) {
      // The core came back as a new version by itself (after a stall, or told it had failed): a
      // restart must be newer still, and the old version is over.
      this.#observer.ended(memberId(node.address, node.lastVersion));
      node.lastVersion = core.version;
    }
    if (core.hasOutput) this.#drain(node, core);
    if (core.done) {
      this.#observer.ended(node.id!);
      node.state = "down";
      node.leftAtMs = nowMs;
      node.wakeAtMs = Infinity;
      return;
    }
    const wake = core.nextWakeMs();
    if (wake < node.wakeAtMs) {
      const atMs = Math.max(nowMs, Math.ceil(wake));
      node.wakeAtMs = atMs;
      this.#agenda.push(atMs, { kind: "wake", node, generation: node.generation, atMs });
    }
  }

  #process(item: Item): void {
    const now = this.#agenda.nowMs;
    switch (item.kind) {
      case "deliver": {
        const node = item.to;
        if (!this.#network.arrive(node, item.message)) return;
        node.core!.receive(now, item.message);
        this.flush(node);
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
        this.flush(node);
        if (node.state === "up" && node.core!.nextWakeMs() <= now) {
          this.#fail(`node ${node.address} does not progress: wake ${node.core!.nextWakeMs()}`);
        }
        return;
      }
      case "join-arrive":
        this.#tcp.joinArrive(item);
        return;
      case "join-reply":
        this.#tcp.joinReply(item);
        return;
      case "request-arrive":
        this.#tcp.requestArrive(item);
        return;
      case "request-timeout":
        this.#tcp.requestTimeout(item);
        return;
      case "request-refused":
        this.#tcp.requestRefused(item);
        return;
      case "request-reply":
        this.#tcp.requestReply(item);
        return;
      case "action":
        item.run();
        return;
    }
  }

  #drain(node: SimNode, core: Core): void {
    const trace = this.#onOutput;
    const datagrams = core.takeDatagrams();
    for (const datagram of datagrams) {
      trace?.(node, { kind: "datagram", datagram });
      this.#network.route(node, datagram);
    }
    this.#tcp.sendRequests(node, core);
    const events = core.takeEvents();
    for (const event of events) {
      trace?.(node, { kind: "event", event });
      this.#observer.observe(node, event);
    }
  }
}
