/**
 * The node's TCP server and its policies: the accept loop, the connection limit and whom to evict
 * past it, the memory that requests still arriving may hold, the rate of joins, who may talk
 * without the cluster key, and the answer to each request.
 */
import { requestTimeoutMs } from "../core/config.ts";
import { describe } from "../errors.ts";
import { ByteBudget, FrameError, frameLimits, FrameReader, writeFrame } from "../net/frames.ts";
import { isLocal } from "../net/host.ts";
import type { ControlResponse, FrameMessage, GrepRequest } from "../wire/codec.ts";
import type { Keyring } from "../wire/seal.ts";
import { otherClusterReason } from "../wire/cluster.ts";
import { control } from "./_control.ts";
import type { Driver } from "./_driver.ts";
import { busyReason, warnOfTiming } from "./_join.ts";
import { stateWords } from "./options.ts";
import type { NodeStats } from "./stats.ts";
import { kindOf } from "./traffic.ts";

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

/**
 * The answers the server hands on: the streamed ones (grep, the event log, a watch) and the stats.
 */
export interface Answers {
  grep(conn: Deno.TcpConn, request: GrepRequest, keyring: Keyring | undefined): Promise<void>;
  events(conn: Deno.TcpConn, bytesMax: number, keyring: Keyring | undefined): Promise<void>;
  watch(conn: Deno.TcpConn, keyring: Keyring | undefined): Promise<void>;
  stats(): NodeStats;
}

/** Serves the node's TCP listeners. */
export class Server {
  readonly #driver: Driver;
  /** The member's own TCP listener, and a loopback one for local clients when it has one. */
  readonly #listeners: readonly Deno.TcpListener[];
  readonly #answers: Answers;
  #connections = 0;
  /** Connections whose request has not fully arrived, oldest first, with their readers. */
  readonly #awaitingRequest = new Map<Deno.TcpConn, FrameReader>();
  readonly #requestBudget = new ByteBudget(requestBudgetBytes);
  /** Connections closed to make room for newer ones. */
  readonly #evicted = new WeakSet<Deno.TcpConn>();
  readonly #joinBucket = new TokenBucket(joinsPerSecond, joinsBurst);

  constructor(driver: Driver, listeners: readonly Deno.TcpListener[], answers: Answers) {
    this.#driver = driver;
    this.#listeners = listeners;
    this.#answers = answers;
  }

  /** Starts accepting on every listener. */
  run(): void {
    for (const listener of this.#listeners) this.#driver.track(this.#acceptLoop(listener));
  }

  /** Closes the listeners, and the connections still waiting for a request. */
  close(): void {
    for (const listener of this.#listeners) {
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
  }

  async #acceptLoop(listener: Deno.TcpListener): Promise<void> {
    const driver = this.#driver;
    while (!driver.closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (driver.closed) return;
        driver.log.warn("accepting a connection failed: {error}", { error: describe(error) });
        continue;
      }
      if (this.#connections >= connectionsMax && !this.#evictWaiting()) {
        conn.close();
        driver.inbound.malformed("too-many-connections", "connection");
        continue;
      }
      this.#connections++;
      driver.track(this.#serve(conn).finally(() => this.#connections--));
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
    const driver = this.#driver;
    try {
      // With a cluster key, only this machine may talk without it (the local CLI).
      const keyring = driver.keyring;
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
        if (this.#evicted.has(conn)) driver.inbound.malformed("evicted", "connection");
        else if (error instanceof FrameError && !driver.closed) {
          driver.inbound.malformed(error.reason, "request");
        }
        throw error;
      } finally {
        this.#awaitingRequest.delete(conn);
        reader.release();
      }
      if (received === null) return;
      if (!received.ok) {
        driver.inbound.malformed(received.reason, "request");
        const why = keyRefusals[received.reason];
        if (why !== undefined) {
          // Say why, in the clear: it tells only that this cluster has a key.
          const refusal: FrameMessage = { kind: "control-response", ok: false, message: why };
          await writeFrame(conn, refusal, requestTimeoutMs);
        }
        return;
      }
      const replyKey = reader.lastSealed ? keyring : undefined;
      const kind = received.message.kind;
      // Members talk within their cluster; clients are not bound to one (they reach a node by its
      // address, and the key, not the name, says who may), so they ask unbound and get unbound
      // answers.
      const fromMember = kind === "join-request" || kind === "sync-request" || kind === "probe" ||
        kind === "probe-relay";
      const cluster = reader.lastCluster;
      if (cluster !== driver.cluster && (fromMember || cluster !== "")) {
        driver.inbound.otherCluster(cluster, kind === "join-request" ? "join request" : "request");
        if (kind === "join-request") {
          // Answered in this node's cluster: the joiner names both clusters from it.
          const refusal: FrameMessage = {
            kind: "join-response",
            accepted: false,
            reason: otherClusterReason(cluster, driver.cluster),
          };
          await writeFrame(conn, refusal, requestTimeoutMs, replyKey, driver.cluster);
        }
        return;
      }
      const replyCluster = fromMember ? driver.cluster : "";
      if (
        keyring !== undefined && !reader.lastSealed && kind !== "stats-request" &&
        kind !== "grep-request" && kind !== "events-request" && kind !== "control-request" &&
        kind !== "watch-request"
      ) {
        // Local clients may ask without the key; members (join, sync) never may.
        driver.inbound.malformed("plain-refused", "request");
        if (kind === "join-request") {
          const refusal: FrameMessage = {
            kind: "join-response",
            accepted: false,
            reason:
              "this cluster seals its traffic: start the joiner with the cluster's --key-file",
          };
          await writeFrame(conn, refusal, requestTimeoutMs, undefined, driver.cluster);
        }
        return;
      }
      driver.traffic.countIn(kindOf(received.message), reader.bytesRead);
      if (received.message.kind === "grep-request") {
        await this.#answers.grep(conn, received.message, replyKey);
        return;
      }
      if (received.message.kind === "events-request") {
        await this.#answers.events(conn, received.message.bytesMax, replyKey);
        return;
      }
      if (received.message.kind === "watch-request") {
        await this.#answers.watch(conn, replyKey);
        return;
      }
      const reply = await this.#answer(received.message, conn);
      if (reply !== undefined) {
        const bytes = await writeFrame(conn, reply, requestTimeoutMs, replyKey, replyCluster);
        driver.traffic.countOut(kindOf(reply), bytes);
      }
    } catch (error) {
      if (!driver.closed) {
        driver.log.debug("a connection failed: {error}", { error: String(error) });
      }
    } finally {
      try {
        conn.close();
      } catch { /* closed */ }
    }
  }

  async #answer(message: FrameMessage, conn: Deno.TcpConn): Promise<FrameMessage | undefined> {
    const driver = this.#driver;
    const refuse = (text: string): ControlResponse => ({
      kind: "control-response",
      ok: false,
      message: text,
    });
    switch (message.kind) {
      case "join-request": {
        if (driver.state !== "member") {
          const reason = `this node is ${stateWords[driver.state]}`;
          return { kind: "join-response", accepted: false, reason };
        }
        if (!this.#joinBucket.take(driver.now())) {
          driver.inbound.malformed("join-flood", "join request");
          return { kind: "join-response", accepted: false, reason: busyReason };
        }
        const response = driver.core.acceptJoin(driver.now(), message);
        driver.flush();
        if (response.accepted) {
          const joiner = message.entry.address;
          warnOfTiming(
            driver,
            message.timing,
            "{member} joined with a timing unlike this one's",
            joiner,
          );
        }
        return response;
      }
      case "sync-request": {
        if (driver.state !== "member") return undefined;
        const from = message.entries[0]?.address ?? conn.remoteAddr.hostname;
        const response = driver.core.acceptSync(driver.now(), message, from);
        driver.flush();
        return response;
      }
      case "probe": {
        if (driver.state !== "member" && driver.state !== "leaving") return undefined;
        const ack = driver.core.acceptProbe(driver.now(), message);
        driver.flush();
        return ack;
      }
      case "probe-relay": {
        // Probe the member asked about first, so that the answer carries a fresh copy of it.
        if (driver.state !== "member") return undefined;
        const probe = driver.core.relayProbe(driver.now(), message);
        driver.flush();
        if (probe !== undefined) await driver.relay(probe);
        if (driver.state !== "member" && driver.state !== "leaving") return undefined;
        const ack = driver.core.answerRelay(driver.now(), message);
        driver.flush();
        return ack;
      }
      case "stats-request":
        return { kind: "stats-response", json: JSON.stringify(this.#answers.stats()) };
      case "control-request":
        if (!isLocal(conn)) {
          driver.log.warn("refused a control request from {peer}", {
            peer: conn.remoteAddr.hostname,
          });
          return refuse("control requests are accepted only from this node's own machine");
        }
        return await control(driver, message);
      default:
        return undefined;
    }
  }
}

/** A token bucket: `rate` tokens a second, at most `burst` saved up. */
class TokenBucket {
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
