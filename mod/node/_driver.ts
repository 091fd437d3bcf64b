/**
 * The driver loop: the one owner of this process's core. Every input (a datagram, a TCP request,
 * an answer, the timer) is a synchronous call into the core followed by `flush`, which moves the
 * core's outputs out: datagrams are encoded and sent, events are logged, list exchanges and probes
 * are started, and the timer is set to the core's next wake-up. Everything runs on the one event
 * loop, so there is nothing to lock.
 */
import type { Logger } from "@logtape/logtape";
import { parseAddress } from "../core/address.ts";
import type { Core, CoreCounters } from "../core/core.ts";
import { DriverRules } from "../core/driver_rules.ts";
import { Random } from "../core/random.ts";
import { type Address, type MemberEvent, memberId, type OutgoingProbe } from "../core/types.ts";
import { describe } from "../errors.ts";
import type { EventLog } from "../log/event_log.ts";
import { type EventRecord, eventRecord } from "../log/event_line.ts";
import { bareHost } from "../net/host.ts";
import { encodeMessage } from "../wire/codec.ts";
import type { Keyring } from "../wire/seal.ts";
import { bindCluster } from "../wire/cluster.ts";
import { MembersFile, rememberVersion } from "./_data_dir.ts";
import { Inbound } from "./_inbound.ts";
import { CoreRequests } from "./_requests.ts";
import { clock } from "./clock.ts";
import type { NodeOptions, NodeState } from "./options.ts";
import { Traffic, trafficKinds } from "./traffic.ts";

/** Room for the largest datagram UDP carries, as a receive without a buffer gives. */
const datagramReceiveBytes = 65_536;

/** Hears each batch of events as the node logs them. */
export type EventListener = (records: readonly EventRecord[]) => void;

/** Sums two sets of counters, key by key. */
function addCounters(past: Partial<CoreCounters>, now: CoreCounters): CoreCounters {
  const sum = { ...now };
  for (const key of Object.keys(now) as (keyof CoreCounters)[]) sum[key] += past[key] ?? 0;
  return sum;
}

/** Drives one process's core: its UDP socket, its timer, its event log and its requests. */
export class Driver {
  readonly address: Address;
  readonly options: NodeOptions;
  readonly log: Logger;
  readonly eventLog: EventLog;
  readonly traffic = new Traffic(trafficKinds);
  /** The shell's own randomness (drops, the members file, join order), apart from the core's. */
  readonly random = new Random(crypto.getRandomValues(new Uint32Array(1))[0]);
  /** What arrives is checked here, and what is dropped counted. */
  readonly inbound: Inbound;
  readonly #udp: Deno.DatagramConn;
  readonly #addrCache = new Map<Address, Deno.NetAddr>();
  readonly #tasks = new Set<Promise<unknown>>();
  readonly #requests = new CoreRequests(this);

  /** Makes an indirect probe on another member's behalf (`CoreRequests.relay`). */
  relay(probe: OutgoingProbe): Promise<void> {
    return this.#requests.relay(probe);
  }
  readonly #membersFile: MembersFile;

  state: NodeState = "joining";
  /** The probability that an incoming datagram is dropped on purpose. */
  dropRate: number;
  droppedOnPurpose = 0;
  sendErrors = 0;
  /** List exchanges asked for, across versions; those answered are sync requests received. */
  listExchangesAsked = 0;
  /** The cluster keys, when the cluster has them; replaced whole on a reload. */
  keyring: Keyring | undefined;
  /** The cluster's name, carried by every message between members ("" for the unnamed one). */
  readonly cluster: string;
  closed = false;

  #core: Core;
  /** What the current core may be handed and may send; a new core comes with new rules. */
  #rules = new DriverRules();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAtMs = Infinity;
  #sampler: ReturnType<typeof setInterval> | undefined;
  /** The counters of this process's earlier versions (a leave and a join start a new core). */
  #pastCounters: Partial<CoreCounters> = {};
  /** Probes earlier versions asked for but did not send, at the in-flight limit. */
  #pastProbesSkipped = 0;
  #pastSecondProbesSkipped = 0;
  /** The version last recorded in the data dir. */
  #savedVersion: number;
  /** Events of a join under way, written once it is done (`flush`). */
  #joiningEvents: MemberEvent[] = [];
  /** Who hears of every event as it is logged (`subscribe`). */
  readonly #listeners = new Set<EventListener>();
  #leaveDone: (() => void) | undefined;

  constructor(options: NodeOptions, udp: Deno.DatagramConn, eventLog: EventLog, core: Core) {
    this.options = options;
    this.address = core.address;
    this.log = options.logger;
    this.#udp = udp;
    this.eventLog = eventLog;
    this.#core = core;
    this.#savedVersion = core.version;
    this.dropRate = options.dropRate;
    this.keyring = options.keyring;
    this.cluster = options.cluster ?? "";
    this.inbound = new Inbound(this.log, this.cluster, () => this.now());
    this.#membersFile = new MembersFile(options.dataDir);
  }

  /** The current core: a leave and a join replace it. */
  get core(): Core {
    return this.#core;
  }

  /** The driver rules the current core is driven by. */
  get rules(): DriverRules {
    return this.#rules;
  }

  /** The member's id, `host:port#version`. */
  get id(): string {
    return memberId(this.address, this.#core.version);
  }

  /** The core's time: monotonic, and moving on while the machine sleeps. */
  now(): number {
    return clock.now();
  }

  /** Starts the receive loop and the once-a-second chores. */
  run(): void {
    this.track(this.#receiveLoop());
    this.#sampler = setInterval(() => {
      this.traffic.sample(performance.now());
      if (this.state === "member") {
        this.#membersFile.update(this.#core, this.address, this.random, this.log);
      }
      this.eventLog.recheck(this.log);
    }, 1000);
    this.flush();
  }

  /** Keeps `task` until it settles, so that a close can wait for it. */
  track(task: Promise<unknown>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }

  /** Its join answered, or its cluster started: from now on the core takes gossip. */
  becomeMember(): void {
    this.state = "member";
    this.#rules.joined();
    this.flush();
  }

  /**
   * Starts a new version with `core` and fresh rules, counting the old core's figures as past;
   * returns what puts the old core back, left as it was, should the new one never join.
   */
  renew(core: Core): () => void {
    const left = this.#core;
    const leftRules = this.#rules;
    const pastCounters = this.#pastCounters;
    const pastProbesSkipped = this.#pastProbesSkipped;
    const pastSecondProbesSkipped = this.#pastSecondProbesSkipped;
    this.#savedVersion = core.version;
    this.#pastCounters = addCounters(this.#pastCounters, this.#core.counters);
    this.#pastProbesSkipped += this.#rules.probesSkipped;
    this.#pastSecondProbesSkipped += this.#rules.secondProbesSkipped;
    this.#core = core;
    this.#rules = new DriverRules();
    this.state = "joining";
    this.flush();
    return () => {
      this.#core = left;
      this.#rules = leftRules;
      this.#pastCounters = pastCounters;
      this.#pastProbesSkipped = pastProbesSkipped;
      this.#pastSecondProbesSkipped = pastSecondProbesSkipped;
      this.state = "left";
      this.#joiningEvents = [];
    };
  }

  /** Has the core leave; resolves once the leave has been announced. */
  async leave(): Promise<void> {
    this.state = "leaving";
    const done = new Promise<void>((resolve) => (this.#leaveDone = resolve));
    this.#core.leave(this.now());
    this.flush();
    await done;
  }

  /** The core's counters over the whole process, across versions. */
  counters(): CoreCounters {
    return addCounters(this.#pastCounters, this.#core.counters);
  }

  /** Probes the cores asked for but the rules skipped, over the whole process. */
  get probesSkipped(): number {
    return this.#pastProbesSkipped + this.#rules.probesSkipped;
  }

  /** Probes asking about silent neighbours the rules skipped, over the whole process. */
  get secondProbesSkipped(): number {
    return this.#pastSecondProbesSkipped + this.#rules.secondProbesSkipped;
  }

  async #receiveLoop(): Promise<void> {
    // One buffer for every datagram, each copied out at its own size: without a buffer, every
    // receive allocates and zeroes 64 KiB, garbage that cost an idle member 9 MiB of memory.
    const buffer = new Uint8Array(datagramReceiveBytes);
    while (!this.closed) {
      let bytes: Uint8Array;
      try {
        const [received] = await this.#udp.receive(buffer);
        bytes = received.slice();
      } catch (error) {
        if (this.closed) return;
        this.log.warn("receiving a datagram failed: {error}", { error: describe(error) });
        continue;
      }
      this.traffic.countIn("gossip", bytes.length);
      if (this.dropRate > 0 && this.random.chance(this.dropRate)) {
        this.droppedOnPurpose++;
        continue;
      }
      const message = await this.inbound.datagram(bytes, this.keyring);
      if (message === undefined) continue;
      // A node that left keeps its list for a join again, unchanged by what it hears since.
      if (!this.#rules.takesGossip || this.state === "left" || this.state === "closed") continue;
      this.#core.receive(this.now(), message);
      this.flush();
    }
  }

  /**
   * Calls `listener` with every batch of events as they are logged, until the function returned
   * is called. A listener must not block: it is called inside the driver loop, so it queues what
   * it needs and returns (a watch stream, a handler queue, metrics). One that throws is dropped.
   */
  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #tell(listener: EventListener, records: readonly EventRecord[]): void {
    try {
      listener(records);
    } catch (error) {
      this.#listeners.delete(listener);
      this.log.error("an event listener failed and no longer hears events: {error}", {
        error: describe(error),
      });
    }
  }

  /** Moves the core's outputs out and sets the timer for its next wake-up. */
  flush(): void {
    const core = this.#core;
    for (const datagram of core.takeDatagrams()) {
      const target = this.#netAddr(datagram.to);
      if (target === undefined) continue;
      const bytes = bindCluster(encodeMessage(datagram.message), this.cluster);
      const keyring = this.keyring;
      if (keyring === undefined) {
        this.traffic.countOut("gossip", bytes.length);
        this.#udp.send(bytes, target).catch(() => this.sendErrors++);
      } else {
        keyring.seal(bytes).then((sealed) => {
          this.traffic.countOut("gossip", sealed.length);
          return this.#udp.send(sealed, target);
        }).catch(() => this.sendErrors++);
      }
    }
    let events = core.takeEvents();
    // Until the join is done its events wait: a join that fails leaves no JOIN in the log that
    // nothing would ever end.
    if (this.state === "joining") {
      for (const event of events) this.#joiningEvents.push(event);
      events = [];
    } else if (this.#joiningEvents.length > 0) {
      events = [...this.#joiningEvents, ...events];
      this.#joiningEvents = [];
    }
    if (core.version > this.#savedVersion) this.#saveVersion(core.version);
    if (events.length > 0) {
      const id = this.id;
      const wallOffsetMs = Date.now() - this.now();
      this.eventLog.write(events, id, wallOffsetMs, this.log);
      if (this.#listeners.size > 0) {
        const records = events.map((event) => eventRecord(event.atMs + wallOffsetMs, id, event));
        for (const listener of this.#listeners) this.#tell(listener, records);
      }
      for (const event of events) {
        const member = memberId(event.address, event.version);
        if (
          event.address === this.address && (event.kind === "REFUTE" || event.kind === "REMOVE")
        ) {
          this.#logOwn(event, member);
        } else if (event.kind === "FAIL" || event.kind === "LEAVE" || event.kind === "SETTINGS") {
          this.log.info("{kind} {member} via {via}", { kind: event.kind, member, via: event.via });
        }
      }
    }
    for (const peer of core.takeSyncs()) this.track(this.#requests.sync(peer));
    for (const probe of core.takeProbes()) this.track(this.#requests.probe(probe));
    if (core.done && this.state === "leaving") {
      this.state = "left";
      this.#leaveDone?.();
    }
    this.#schedule();
  }

  /** Says what happened to this node's own membership: an operator wants to know. */
  #logOwn(event: MemberEvent, member: string): void {
    if (event.kind === "REFUTE") {
      this.log.info("refuted a suspicion of this node, from {from}: now incarnation {n}", {
        from: event.from ?? "a member",
        n: event.incarnation,
      });
    } else if (event.kind === "REMOVE") {
      // A new version follows at once (its JOIN is in the event log).
      this.log.warn(
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
      this.log.warn("cannot record version {version} in {dir}: {error}", {
        version,
        dir: this.options.dataDir,
        error: describe(error),
      });
    }
  }

  #schedule(): void {
    if (this.closed) return;
    const wake = this.state === "left" ? Infinity : this.#core.nextWakeMs();
    if (wake === this.#timerAtMs) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAtMs = wake;
    if (wake === Infinity) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAtMs = Infinity;
      if (this.state === "left" || this.closed) return;
      this.#core.tick(this.now());
      this.flush();
    }, Math.max(0, Math.ceil(wake - this.now())));
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

  /** Stops the timers and the UDP socket; a leave under way is given up. */
  stop(): void {
    this.closed = true;
    this.state = "closed";
    this.#joiningEvents = [];
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#sampler !== undefined) clearInterval(this.#sampler);
    this.#leaveDone?.();
    try {
      this.#udp.close();
    } catch { /* closed */ }
  }

  /** Closes the event log (flushed) and waits for every task to settle. */
  async drain(): Promise<void> {
    this.eventLog.close();
    await Promise.allSettled([...this.#tasks]);
  }
}
