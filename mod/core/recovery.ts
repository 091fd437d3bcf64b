/**
 * Recovery after a stall: a node that could not run for a while (a pause, a machine's sleep, a
 * long garbage collection) heard nothing in that time through no fault of the others.
 *
 * - Past `stallThresholdMs`, its silence clocks restart instead of firing at everyone at once.
 * - Past the fail timeout, the others have failed this version: it comes back as a new one, and
 *   its rows of others are out of date; some may be of members the cluster has since failed and
 *   forgotten. Until a whole list from a live member confirms or drops them, they are not passed
 *   on (the node doubts its list), and it asks for one every `syncIntervalMs`.
 * - Each live member the settling list did not hold is asked, by a probe, to confirm itself; one
 *   that does not answer in time is ended. They are asked `probesInFlightMax` at a time.
 * - A node told that it failed starts its list afresh instead (`merge.ts`).
 */
import type { Config } from "./config.ts";
import type { Datagrams } from "./datagram.ts";
import { probesInFlightMax } from "./driver_rules.ts";
import type { Endings } from "./ending.ts";
import type { MemberTable } from "./member_table.ts";
import type { News } from "./news.ts";
import type { CoreCounters, Outputs } from "./outputs.ts";
import type { Self } from "./self.ts";
import type { SettingsSwitch } from "./settings.ts";
import { failedAfterMs } from "./suspicion.ts";
import { type Address, type Entry, isTerminal, type Via } from "./types.ts";
import type { Watch } from "./watch.ts";

/** A member awaiting its own word after a stall, and its heartbeat when it was asked. */
interface Unconfirmed {
  readonly address: Address;
  readonly version: number;
  readonly heartbeat: number;
}

/** The parts recovery reads and acts through. */
export interface RecoveryParts {
  readonly config: Config;
  readonly table: MemberTable;
  readonly watch: Watch;
  readonly self: Self;
  readonly settings: SettingsSwitch;
  readonly endings: Endings;
  readonly datagrams: Datagrams;
  readonly news: News;
  readonly outputs: Outputs;
  readonly counters: CoreCounters;
}

/** A node's doubts about its own list, and how they are settled. */
export class Recovery {
  readonly #p: RecoveryParts;
  #doubting = false;
  #doubtSyncMs = 0;
  /** When the doubts began: a list asked for earlier may predate the stall, and settles none. */
  #doubtSinceMs = -Infinity;
  /**
   * Members the settling list did not hold, by slot, each sent a probe: passed on again if it
   * answers, ended at `#confirmByMs` if not. One list may be behind (on a member that joined a
   * moment ago); the member's own answer is not.
   */
  readonly #unconfirmed = new Map<number, Unconfirmed>();
  /** Members still to be asked, beyond those asked at once: asked in the next batches. */
  #toConfirm: Unconfirmed[] = [];
  #confirmByMs = Infinity;

  constructor(parts: RecoveryParts) {
    this.#p = parts;
  }

  /** True while the node doubts its list. */
  get doubting(): boolean {
    return this.#doubting;
  }

  /** True while members asked to confirm themselves have not all answered. */
  get confirming(): boolean {
    return this.#unconfirmed.size > 0;
  }

  /** The earliest deadline of this file's: the confirmations' end, or the doubts'. */
  nextDeadlineMs(): number {
    let wake = Infinity;
    if (this.#awaitingConfirms && this.#confirmByMs < wake) wake = this.#confirmByMs;
    if (this.#doubting && this.#doubtsEndMs() < wake) wake = this.#doubtsEndMs();
    return wake;
  }

  /** Notes that `stalledMs` went by since the core last ran; a stall restarts its clocks. */
  afterGap(nowMs: number, stalledMs: number): void {
    const { config, self } = this.#p;
    if (stalledMs <= config.stallThresholdMs) return;
    this.#p.watch.trustFrom(nowMs);
    this.#p.counters.stalls++;
    // Silent for longer than a member takes to be failed, this version has been failed by the
    // others: fail-stop, so it comes back as a new one. Waiting to be told so is not enough:
    // after a long enough stall nobody remembers the old version, and would take it back.
    if (self.active && stalledMs > failedAfterMs(config, this.#p.settings.suspicion)) {
      self.rejoin(nowMs, self.version + 1, "self");
      this.doubtAll(nowMs);
    }
  }

  /**
   * Stops passing on every row of a live member until a whole list confirms it. Gossip cannot:
   * the datagrams a stalled process reads first are the oldest, queued when it stopped.
   *
   * The list is asked of the next member that speaks to this node: a member picked from the
   * doubted list may be one that died meanwhile, and a driver runs one list exchange at a time,
   * so asking it would hold up every other until it timed out, past the end of the doubts.
   */
  doubtAll(nowMs: number): void {
    const { table, news } = this.#p;
    const live = table.live;
    for (let i = 0; i < live.size; i++) {
      table.present.delete(live.at(i));
      news.forget(live.at(i));
    }
    this.#unconfirmed.clear();
    this.#toConfirm = [];
    this.#doubtSinceMs = nowMs;
    this.#doubting = live.size > 0;
    if (!this.#doubting) return;
    this.#doubtSyncMs = nowMs;
  }

  /** While doubting, asks a member that spoke for its whole list, once every list interval. */
  askOf(nowMs: number, sender: Address): void {
    if (!this.#doubting || nowMs < this.#doubtSyncMs) return;
    this.#p.outputs.sync(sender);
    this.#doubtSyncMs = nowMs + this.#p.config.syncIntervalMs;
  }

  /**
   * True when a gossiped entry is not taken while doubting: just after a stall the datagrams read
   * first are the oldest, queued while it stopped, and a member they bring in may have died and
   * been forgotten by everyone since, and would come back through this node. Until a whole list
   * settles the doubts (and brings in every member that is real), gossip adds no live member.
   */
  refuses(entry: Entry, via: Via): boolean {
    if (!this.#doubting || via !== "gossip" || isTerminal(entry.status)) return false;
    const table = this.#p.table;
    const held = table.book.find(entry.address);
    if (table.hasRow(held) && entry.version <= table.version(held)) return false;
    this.#p.counters.entriesDoubted++;
    return true;
  }

  /** True when a list asked for at `askedMs` settles the doubts: asked after they began. */
  settles(askedMs: number): boolean {
    return this.#doubting && askedMs >= this.#doubtSinceMs;
  }

  /**
   * Passes on again the rows a whole list from a live member confirmed (`listed`: the same
   * version, whatever the status or incarnation, which may be newer here). Each live member the
   * list did not hold is probed: the cluster may have failed and forgotten it, or the list may
   * be behind. One that does not answer in time is ended (`endUnconfirmed`).
   */
  settle(nowMs: number, listed: readonly number[]): void {
    const table = this.#p.table;
    this.#doubting = false;
    for (const slot of listed) if (table.live.has(slot)) table.present.add(slot);
    const doubted: Unconfirmed[] = [];
    for (let i = 0; i < table.live.size; i++) {
      const slot = table.live.at(i);
      if (table.present.has(slot)) continue;
      doubted.push({
        address: table.address(slot),
        version: table.version(slot),
        heartbeat: table.heartbeat(slot),
      });
    }
    this.#toConfirm = doubted;
    this.#askNextConfirms(nowMs);
  }

  /**
   * Doubts no whole list settled in two list intervals are dropped: nobody answered with a list
   * because every member is in doubt too (the whole cluster was stopped, as on a laptop that
   * slept). This node's own list is the best there is; silence timeouts end whoever died, and the
   * others' memory of ended versions keeps those out.
   */
  endDoubts(nowMs: number): void {
    if (!this.#doubting || nowMs < this.#doubtsEndMs()) return;
    this.#doubting = false;
    const table = this.#p.table;
    for (let i = 0; i < table.live.size; i++) table.present.add(table.live.at(i));
  }

  /**
   * Passes on again a member that answered for itself, or that a later whole list holds. True
   * when it was awaited.
   */
  confirm(slot: number): boolean {
    const waiting = this.#unconfirmed.get(slot);
    if (waiting === undefined) return false;
    this.#unconfirmed.delete(slot);
    if (this.#stillUnconfirmed(slot, waiting)) this.#p.table.present.add(slot);
    return true;
  }

  /**
   * A datagram from an awaited member itself, with a heartbeat past the one held when it was
   * asked, is its word too: what was queued during the stall had been read by then.
   */
  confirmSender(sender: Entry): void {
    const slot = this.#p.table.book.find(sender.address);
    const waiting = this.#unconfirmed.get(slot);
    if (
      waiting !== undefined && waiting.version === sender.version &&
      sender.heartbeat > waiting.heartbeat
    ) this.confirm(slot);
  }

  /** Ends the members that did not answer their probe in time. */
  endUnconfirmed(nowMs: number): void {
    if (!this.#awaitingConfirms || nowMs < this.#confirmByMs) return;
    for (const [slot, waiting] of this.#unconfirmed) {
      if (this.#stillUnconfirmed(slot, waiting)) {
        this.#p.counters.confirmsEnded++;
        this.#p.endings.endStale(nowMs, slot);
      }
    }
    this.#unconfirmed.clear();
    this.#askNextConfirms(nowMs);
  }

  /** True while members are asked to confirm themselves, or wait to be. */
  get #awaitingConfirms(): boolean {
    return this.#unconfirmed.size > 0 || this.#toConfirm.length > 0;
  }

  /** Asks the next batch of doubted members, still as they were doubted, to confirm themselves. */
  #askNextConfirms(nowMs: number): void {
    const table = this.#p.table;
    while (this.#unconfirmed.size < probesInFlightMax && this.#toConfirm.length > 0) {
      const waiting = this.#toConfirm.pop()!;
      const slot = table.book.find(waiting.address);
      if (slot < 0 || !this.#stillUnconfirmed(slot, waiting)) continue;
      this.#unconfirmed.set(slot, waiting);
      this.#p.counters.confirmsAsked++;
      this.#p.datagrams.probe(slot, true);
    }
    // Given as long to answer as a silent neighbour is before it is suspected.
    if (this.#awaitingConfirms) this.#confirmByMs = nowMs + this.#p.config.suspectAfterMs;
  }

  #doubtsEndMs(): number {
    return this.#doubtSinceMs + 2 * this.#p.config.syncIntervalMs;
  }

  #stillUnconfirmed(slot: number, waiting: Unconfirmed): boolean {
    const table = this.#p.table;
    return table.live.has(slot) && !table.present.has(slot) &&
      table.address(slot) === waiting.address && table.version(slot) === waiting.version;
  }
}
