/**
 * Requests over (simulated) TCP: joins through a contact, list exchanges and probes of silent
 * neighbours, their answers and their timeouts. Reliable, but only between connected machines
 * whose processes run: a paused process's accept queue holds requests until it runs again, and a
 * down one refuses them.
 *
 * What a node may send is decided by the driver rules the daemon follows too (one list exchange at
 * a time, a bounded number of probes in flight); each request ends once, at its answer or its
 * timeout, and the rules are told so.
 */
import { probeTimeoutMs, relayProbeTimeoutMs, requestTimeoutMs } from "../core/config.ts";
import { type Core, probeAsked } from "../core/core.ts";
import type { Address, Probe, ProbeRelay, SyncRequest } from "../core/types.ts";
import type { Network } from "./network.ts";
import type { SimOutput } from "./options.ts";
import type { Agenda } from "./queue.ts";
import type {
  Item,
  JoinArrive,
  JoinAsk,
  JoinReply,
  RequestArrive,
  RequestRefused,
  RequestReply,
  RequestTimeout,
  SimNode,
} from "./sim_node.ts";
import type { SimulationStats } from "./stats.ts";

/** Requests over TCP a paused process's accept queue holds; more are refused. */
const pausedRequestsMax = 128;

/** How long a joiner waits before trying again, unless a run says otherwise. */
const joinRetryMsDefault = 1000;

/** What the TCP links are built on: the run's agenda, network, counters and machines. */
export interface TcpParts {
  readonly agenda: Agenda<Item>;
  readonly network: Network;
  readonly stats: SimulationStats;
  readonly byAddress: ReadonlyMap<Address, SimNode>;
  /** The machine at an index; throws for an index that has none. */
  readonly node: (index: number) => SimNode;
  /** Moves a node's outputs out once its core has taken an input. */
  readonly flush: (node: SimNode) => void;
  /** Ends the run with a broken invariant. */
  readonly fail: (message: string) => never;
  readonly onOutput?: (node: SimNode, output: SimOutput) => void;
  readonly joinRetryMs?: number;
}

/** Joins, list exchanges and probes between the simulated machines. */
export class Tcp {
  readonly #agenda: Agenda<Item>;
  readonly #network: Network;
  readonly #stats: SimulationStats;
  readonly #byAddress: ReadonlyMap<Address, SimNode>;
  readonly #node: (index: number) => SimNode;
  readonly #flush: (node: SimNode) => void;
  readonly #fail: (message: string) => never;
  readonly #onOutput: ((node: SimNode, output: SimOutput) => void) | undefined;
  readonly #joinRetryMs: number;
  #nextRequestId = 0;
  /** What to do when an indirect probe made on another's behalf ends, by its request's id. */
  readonly #relayEnds = new Map<number, () => void>();
  /** The requests for indirect probes waiting for their answers, by id. */
  readonly #relaysAsked = new Map<number, ProbeRelay>();

  constructor(parts: TcpParts) {
    this.#agenda = parts.agenda;
    this.#network = parts.network;
    this.#stats = parts.stats;
    this.#byAddress = parts.byAddress;
    this.#node = parts.node;
    this.#flush = parts.flush;
    this.#fail = parts.fail;
    this.#onOutput = parts.onOutput;
    this.#joinRetryMs = parts.joinRetryMs ?? joinRetryMsDefault;
  }

  // ---- joins ------------------------------------------------------------------------------------

  /** Sends a node's join request to its contact. */
  sendJoin(node: SimNode): void {
    this.#agenda.push(this.#agenda.nowMs + this.#network.delay(), {
      kind: "join-arrive",
      joiner: node,
      generation: node.generation,
    });
  }

  /** A join request reaches the contact: answered if it runs, tried again later if not. */
  joinArrive(item: JoinAsk): void {
    const now = this.#agenda.nowMs;
    const joiner = item.joiner;
    if (joiner.generation !== item.generation) return;
    // A joiner stopped before its request went out sends it once it runs again.
    if (joiner.state === "paused") return this.#retryJoin(joiner, item.generation);
    if (joiner.state !== "up") return;
    const contact = this.#node(joiner.contact!);
    const connected = this.#network.connected(joiner, contact);
    if (connected && contact.state === "paused") {
      this.#queueIfPaused(contact, {
        kind: "join-queued",
        request: joiner.core!.joinRequest(),
      });
    }
    if (contact.state !== "up" || !connected) {
      // A contact that is down refuses the connection; a paused or unreachable one times out.
      this.#retryJoin(joiner, item.generation);
      return;
    }
    const response = contact.core!.acceptJoin(now, joiner.core!.joinRequest());
    this.#flush(contact);
    this.#agenda.push(now + this.#network.delay(), {
      kind: "join-reply",
      joiner,
      generation: item.generation,
      contact: contact.address,
      response,
    });
  }

  /** The contact's answer reaches the joiner, which takes gossip from then on. */
  joinReply(item: JoinReply): void {
    const joiner = item.joiner;
    if (joiner.generation !== item.generation) return;
    // An answer that came while the joiner was stopped is read too late: it asks again.
    if (joiner.state === "paused") return this.#retryJoin(joiner, item.generation);
    if (joiner.state !== "up") return;
    if (!item.response.accepted) {
      this.#fail(`join of ${joiner.address} refused: ${item.response.reason}`);
    }
    joiner.core!.applyJoinResponse(this.#agenda.nowMs, item.response, item.contact);
    joiner.rules.joined();
    this.#flush(joiner);
  }

  // ---- list exchanges and probes ----------------------------------------------------------------

  /** Sends the list exchanges and probes a core asks for, those the driver rules let through. */
  sendRequests(node: SimNode, core: Core): void {
    for (const address of core.takeSyncs()) {
      if (node.rules.beginSync()) this.#request(node, address, core.syncRequest());
    }
    for (const probe of core.takeProbes()) {
      if (!node.rules.beginProbe(probe)) continue;
      this.#stats.probes++;
      this.#request(node, probe.to, probe.message, undefined, probe.second === true);
    }
  }

  /**
   * A request reaches its peer: a paused peer answers once it runs again, a cut off one never,
   * and the machine of a crashed one refuses the connection (no process holds the port), unless
   * the machine went down with it.
   */
  requestArrive(item: RequestArrive): void {
    const peer = item.to;
    if (!this.#network.connected(item.node, peer) || peer.machineDown) return;
    if (peer.state === "down") {
      this.#agenda.push(this.#agenda.nowMs + this.#network.delay(), {
        kind: "request-refused",
        node: item.node,
        generation: item.generation,
        id: item.id,
        to: peer.address,
      });
      return;
    }
    this.#queueIfPaused(peer, item);
    if (peer.state === "up") this.#answer(peer, item);
  }

  /** The asker learns that its request's connection was refused. */
  requestRefused(item: RequestRefused): void {
    const node = item.node;
    if (node.generation !== item.generation) return;
    const kind = node.pending.get(item.id);
    this.#endRequest(node, item.id);
    // A helper of an indirect probe only answers its asker: the member is not its neighbour.
    if ((kind !== "probe" && kind !== "second") || node.state !== "up") return;
    node.core!.applyProbeRefused(this.#agenda.nowMs, item.to);
    this.#flush(node);
  }

  /** The asker stops waiting for an answer. */
  requestTimeout(item: RequestTimeout): void {
    const node = item.node;
    if (node.generation === item.generation) this.#endRequest(node, item.id);
  }

  /** An answer reaches the asker: read now, or once its process runs again. */
  requestReply(item: RequestReply): void {
    const node = item.node;
    if (node.generation !== item.generation) return;
    if (node.state === "paused") node.replies.push(item);
    else if (node.state === "up") this.#reply(node, item);
  }

  /**
   * A process that runs again reads the answers that came while it was paused, then the requests
   * waiting in its accept queue.
   */
  catchUp(node: SimNode): void {
    const replies = node.replies;
    node.replies = [];
    for (const reply of replies) if (node.state === "up") this.#reply(node, reply);
    const requests = node.requests;
    node.requests = [];
    for (const request of requests) {
      if (node.state !== "up") break;
      if (request.kind === "join-queued") {
        // The joiner gave up on this answer and tries again: accepting it twice must do no harm.
        node.core!.acceptJoin(this.#agenda.nowMs, request.request);
        this.#flush(node);
      } else this.#answer(node, request);
    }
  }

  /**
   * Tries a join again after the wait a joiner gives its contact: at once when its process runs,
   * later again while it is stopped, never once it is gone.
   */
  #retryJoin(joiner: SimNode, generation: number): void {
    const run = () => {
      if (joiner.generation !== generation) return;
      if (joiner.state === "up") this.sendJoin(joiner);
      else if (joiner.state === "paused") this.#retryJoin(joiner, generation);
    };
    const atMs = this.#agenda.nowMs + this.#joinRetryMs;
    this.#agenda.push(Math.max(Math.ceil(atMs), this.#agenda.nowMs), { kind: "action", run });
  }

  /**
   * Sends a request the driver rules let through; it ends at its answer or its timeout. With
   * `relayEnd`, it is an indirect probe made on another member's behalf, and `relayEnd` runs when
   * it ends, after its answer is merged. `second`: a probe asking about a silent neighbour.
   */
  #request(
    node: SimNode,
    address: Address,
    request: SyncRequest | Probe | ProbeRelay,
    relayEnd?: () => void,
    second = false,
  ): void {
    const now = this.#agenda.nowMs;
    this.#onOutput?.(node, { kind: "request", to: address, request });
    const id = this.#nextRequestId++;
    node.pending.set(
      id,
      relayEnd !== undefined
        ? "relay"
        : request.kind === "sync-request"
        ? "sync"
        : second
        ? "second"
        : "probe",
    );
    if (relayEnd !== undefined) this.#relayEnds.set(id, relayEnd);
    if (request.kind === "probe-relay") this.#relaysAsked.set(id, request);
    const to = this.#byAddress.get(address);
    if (to === undefined) {
      // No such host: the connection fails at once.
      this.#endRequest(node, id);
      return;
    }
    const waitMs = relayEnd !== undefined
      ? relayProbeTimeoutMs
      : request.kind === "sync-request"
      ? requestTimeoutMs
      : probeTimeoutMs;
    const generation = node.generation;
    this.#agenda.push(now + waitMs, { kind: "request-timeout", node, generation, id });
    this.#agenda.push(now + this.#network.delay(), {
      kind: "request-arrive",
      node,
      generation,
      to,
      request,
      askedMs: now,
      id,
    });
  }

  /** Ends a pending request, answered or timed out, once: the driver rules count it no more. */
  #endRequest(node: SimNode, id: number): void {
    const kind = node.pending.get(id);
    if (kind === undefined) return;
    node.pending.delete(id);
    this.#relaysAsked.delete(id);
    if (kind === "probe" || kind === "second") node.rules.endProbe({ second: kind === "second" });
    else if (kind === "sync") node.rules.endSync();
    else {
      node.rules.endRelay();
      const end = this.#relayEnds.get(id);
      this.#relayEnds.delete(id);
      end?.();
    }
  }

  /** A request to a paused node waits in its accept queue, while there is room. */
  #queueIfPaused(node: SimNode, request: RequestArrive | JoinArrive): void {
    if (node.state === "paused" && node.requests.length < pausedRequestsMax) {
      node.requests.push(request);
    }
  }

  /**
   * A running node reads a request and answers it, unless the asker has stopped waiting. Asked for
   * an indirect probe, it probes the member first and answers when that probe ends.
   */
  #answer(peer: SimNode, item: RequestArrive): void {
    const request = item.request;
    if (request.kind === "probe-relay") {
      const probe = peer.core!.relayProbe(this.#agenda.nowMs, request);
      this.#flush(peer);
      if (probe !== undefined && peer.rules.beginRelay()) {
        const generation = peer.generation;
        this.#request(peer, probe.to, probe.message, () => {
          if (peer.generation === generation && peer.state === "up") this.#respond(peer, item);
        });
        return;
      }
    }
    this.#respond(peer, item);
  }

  /** Answers a request, unless the asker has stopped waiting. */
  #respond(peer: SimNode, item: RequestArrive): void {
    const now = this.#agenda.nowMs;
    const request = item.request;
    let response;
    if (request.kind === "probe-relay") {
      response = peer.core!.answerRelay(now, request);
    } else if (request.kind === "probe") {
      response = peer.core!.acceptProbe(now, request);
    } else {
      response = peer.core!.acceptSync(now, request, item.node.address);
      this.#stats.syncs++;
    }
    if (response !== undefined) {
      this.#onOutput?.(peer, { kind: "answer", to: item.node.address, response });
    }
    this.#flush(peer);
    const atMs = now + this.#network.delay();
    const waitMs = request.kind === "sync-request" ? requestTimeoutMs : probeTimeoutMs;
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
    const response = reply.response;
    if (node.pending.get(reply.id) === "relay") {
      // Merged before the request ends: the helper's answer to its asker carries what it learnt.
      if (response.kind === "probe-ack") {
        node.core!.applyProbeAck(this.#agenda.nowMs, response, { relayed: true });
      }
      this.#flush(node);
      this.#endRequest(node, reply.id);
      return;
    }
    const relayAsked = this.#relaysAsked.get(reply.id);
    // Ended before the answer is merged: a stall the answer reveals asks for a list at once.
    this.#endRequest(node, reply.id);
    if (response.kind === "probe-ack") {
      const asked = relayAsked === undefined ? {} : probeAsked(relayAsked);
      node.core!.applyProbeAck(this.#agenda.nowMs, response, asked);
      this.#stats.probesAnswered++;
    } else node.core!.applySync(this.#agenda.nowMs, response, reply.from, reply.askedMs);
    this.#flush(node);
  }
}
