/**
 * The TCP requests a core asks its node to make: list exchanges with a peer and probes of silent
 * neighbours, each within the driver rules and each answer handed back to the core that asked.
 */
import type { Logger } from "@logtape/logtape";
import { probeTimeoutMs, relayProbeTimeoutMs, requestTimeoutMs } from "../core/config.ts";
import { type Core, probeAsked } from "../core/core.ts";
import type { DriverRules } from "../core/driver_rules.ts";
import type { Address, OutgoingProbe } from "../core/types.ts";
import { request, RequestError } from "../net/client.ts";
import type { Keyring } from "../wire/seal.ts";
import type { NodeState } from "./options.ts";
import type { Traffic } from "./traffic.ts";

/** How often, at most, the log says that a member was heard only over TCP. */
const tcpOnlyLogIntervalMs = 60_000;

/** What the requests need of the driver that starts them. */
export interface RequestDriver {
  readonly core: Core;
  readonly rules: DriverRules;
  readonly state: NodeState;
  readonly keyring: Keyring | undefined;
  /** The cluster's name: a peer of another cluster is not answered, nor its answers taken. */
  readonly cluster: string;
  readonly traffic: Traffic;
  readonly log: Logger;
  /** List exchanges this node has asked for, over the whole process (metrics read it). */
  listExchangesAsked: number;
  now(): number;
  flush(): void;
}

/** Makes the requests of one node's cores. */
export class CoreRequests {
  readonly #driver: RequestDriver;
  #tcpOnlyLoggedMs = -Infinity;

  constructor(driver: RequestDriver) {
    this.#driver = driver;
  }

  /** Asks `peer` for its whole list, and merges the answer. */
  async sync(peer: Address): Promise<void> {
    const driver = this.#driver;
    const rules = driver.rules;
    if (driver.state !== "member" || !rules.beginSync()) return;
    driver.listExchangesAsked++;
    const core = driver.core;
    const askedMs = driver.now();
    try {
      let reply;
      try {
        reply = await request(
          peer,
          core.syncRequest(),
          requestTimeoutMs,
          driver.keyring,
          (bytes) => driver.traffic.countOut("sync", bytes),
          driver.cluster,
        );
      } finally {
        // Over before the answer is applied: a stall it reveals asks for a list again at once.
        rules.endSync();
      }
      if (reply.kind === "sync-response" && driver.state === "member" && driver.core === core) {
        core.applySync(driver.now(), reply, peer, askedMs);
        driver.flush();
      }
    } catch (error) {
      driver.log.debug("list exchange with {peer} failed: {error}", {
        peer,
        error: String(error),
      });
    }
  }

  /**
   * Sends a silent neighbour its heartbeat over TCP and merges the answer. An answer means the
   * member is alive but its datagrams do not reach this node (or this node's do not reach it): a
   * firewall dropping UDP, heavy loss, or `--drop-rate`. The log says so, at most once a minute.
   */
  async probe(probe: OutgoingProbe): Promise<void> {
    const driver = this.#driver;
    const { to, message, confirm } = probe;
    const rules = driver.rules;
    if (driver.state !== "member" || !rules.beginProbe(probe)) return;
    const core = driver.core;
    try {
      const reply = await request(
        to,
        message,
        probeTimeoutMs,
        driver.keyring,
        (bytes) => driver.traffic.countOut("probe", bytes),
        driver.cluster,
      );
      // An answer for a core that has since been replaced (a leave and a join) is not its own.
      if (reply.kind !== "probe-ack" || driver.state !== "member" || driver.core !== core) return;
      const now = driver.now();
      core.applyProbeAck(now, reply, probeAsked(message));
      driver.flush();
      // Only a silent neighbour's answer says its datagrams are lost: a member asked about one (a
      // far-side watcher, a helper) was probed because the neighbour was silent, not itself.
      if (
        !confirm && probe.second !== true && now - this.#tcpOnlyLoggedMs >= tcpOnlyLogIntervalMs
      ) {
        this.#tcpOnlyLoggedMs = now;
        driver.log.warn(
          "{peer} answered over TCP, yet none of its datagrams came for {silentMs} ms: UDP " +
            "between the two is being lost (a firewall dropping UDP, or --drop-rate)",
          { peer: to, silentMs: driver.core.config.probeAfterMs },
        );
      }
    } catch (error) {
      driver.log.debug("probe of {peer} failed: {error}", { peer: to, error: String(error) });
      // No process holds the port: proof that the member is gone, even to a node that hears
      // from nobody else (mod/core/local_health.ts).
      if (
        error instanceof RequestError && error.portClosed && driver.state === "member" &&
        driver.core === core
      ) {
        core.applyProbeRefused(driver.now(), to);
        driver.flush();
      }
    } finally {
      rules.endProbe(probe);
    }
  }

  /**
   * Probes a member on another member's behalf (`Core.relayProbe`), within `relayProbeTimeoutMs`
   * in all, and merges the answer: the answer to the asker then carries a fresh copy of it. A
   * request still under way at the deadline ends at its own timeouts, its answer unread.
   */
  async relay(probe: OutgoingProbe): Promise<void> {
    const driver = this.#driver;
    const rules = driver.rules;
    if (driver.state !== "member" || !rules.beginRelay()) return;
    const core = driver.core;
    try {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), relayProbeTimeoutMs);
      });
      const reply = await Promise.race([
        request(
          probe.to,
          probe.message,
          relayProbeTimeoutMs,
          driver.keyring,
          (bytes) => driver.traffic.countOut("probe", bytes),
          driver.cluster,
        ),
        deadline,
      ]).finally(() => clearTimeout(timer));
      if (reply === undefined || reply.kind !== "probe-ack") return;
      if (driver.state !== "member" || driver.core !== core) return;
      core.applyProbeAck(driver.now(), reply, { relayed: true });
      driver.flush();
    } catch (error) {
      driver.log.debug("indirect probe of {peer} failed: {error}", {
        peer: probe.to,
        error: String(error),
      });
    } finally {
      rules.endRelay();
    }
  }
}
