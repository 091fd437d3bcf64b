/**
 * Suspicion, all of it: when a silent neighbour is probed, suspected and failed; a suspicion or
 * refutation heard by gossip; and this node refuting a suspicion of itself.
 *
 * A neighbour silent for `probeAfterMs` is probed over TCP (its answer counts as hearing from
 * it). One whose heartbeat has not grown for `suspectAfterMs` is suspected; the suspicion spreads
 * as news and reaches the suspect (every datagram to a member held as suspect carries its entry,
 * `datagram.ts`), which refutes it by raising its incarnation. A suspect still silent and
 * unrefuted `suspectTimeoutMs` later is failed. With the cluster's switch off (`settings.ts`),
 * silence for `failAfterMs` fails a neighbour at once.
 */
import type { Config } from "./config.ts";
import type { Datagrams } from "./datagram.ts";
import type { Endings } from "./ending.ts";
import type { LocalHealth } from "./local_health.ts";
import type { MemberTable } from "./member_table.ts";
import type { News } from "./news.ts";
import type { CoreCounters, Outputs } from "./outputs.ts";
import type { Random } from "./random.ts";
import type { Self } from "./self.ts";
import type { SettingsSwitch } from "./settings.ts";
import { type Address, type Entry, isAhead, type ProbeAck, Status, type Via } from "./types.ts";
import type { Watch } from "./watch.ts";
import { uint32Max } from "./wire_size.ts";

/** Witnesses awaiting an answer remembered at most: a few per silent neighbour is all. */
const witnessesAskedMax = 256;

/** How long a member must be silent before it is failed, with suspicion on or off. */
export function failedAfterMs(config: Config, suspicion: boolean): number {
  return suspicion ? config.suspectAfterMs + config.suspectTimeoutMs : config.failAfterMs;
}

/** The parts suspicion reads and acts through. */
export interface SuspicionParts {
  readonly config: Config;
  readonly table: MemberTable;
  readonly watch: Watch;
  readonly settings: SettingsSwitch;
  readonly endings: Endings;
  readonly health: LocalHealth;
  readonly datagrams: Datagrams;
  readonly news: News;
  readonly outputs: Outputs;
  readonly self: Self;
  readonly counters: CoreCounters;
  readonly random: Random;
}

/** The members asked about one silent neighbour (`Suspicion.#probe`), and when last. */
interface Asked {
  readonly silenceMs: number;
  atMs: number;
  /** Asked and not yet answered; asked and answered (each member counted once a silence). */
  readonly waiting: Set<number>;
  readonly answered: Set<number>;
}

/** Suspects, fails and refutes. */
export class Suspicion {
  readonly #p: SuspicionParts;
  /** Witnesses probed and not yet answered. */
  readonly #witnessesAsked = new Set<number>();
  /**
   * With `helperQuorum`, for each silent neighbour probed, in the silence it was probed for: the
   * members asked about it (its far-side watcher, the helpers of indirect probes), answered or
   * not (`#waitingOn`).
   */
  readonly #asked = new Map<number, Asked>();

  constructor(parts: SuspicionParts) {
    this.#p = parts;
  }

  /**
   * When a neighbour's silence (or suspicion) runs out. A failure is put off while this node
   * doubts itself (most of its neighbours silent at once), and for a while after a cut that
   * healed (`local_health.ts`).
   */
  deadline(slot: number): number {
    const health = this.#p.health;
    if (health.provenGone(slot)) return this.#silenceDeadline(slot, true);
    const due = this.#silenceDeadline(slot, false);
    // A suspicion is refuted by the suspect once it hears of it, a cut or not: only failing waits.
    const suspects = this.#p.settings.suspicion && this.#p.table.status(slot) === Status.Alive;
    return suspects ? due : this.#afterHelpers(slot, health.dueAfterSelfDoubt(due));
  }

  /**
   * With `helperQuorum`, a failure waits while no more than half of the members asked about the
   * neighbour in this silence have answered (`Config.helperQuorum`); they are asked again, others
   * drawn, every `probeAfterMs` (`check`).
   */
  #afterHelpers(slot: number, dueMs: number): number {
    const asked = this.#waitingOn(slot);
    return asked === undefined ? dueMs : Math.max(dueMs, asked.atMs + this.#p.config.probeAfterMs);
  }

  /**
   * What a failure of `slot` waits on: the asking about it in its current silence, while no more
   * than half have answered. Never a suspicion, nor a neighbour proven gone.
   */
  #waitingOn(slot: number): Asked | undefined {
    const { config, settings, table, health } = this.#p;
    if (config.helperQuorum === 0 || health.provenGone(slot)) return undefined;
    if (settings.suspicion && table.status(slot) === Status.Alive) return undefined;
    const asked = this.#asked.get(slot);
    if (asked === undefined || asked.silenceMs !== this.#p.watch.silentSinceMs(slot)) return;
    // Nobody to ask (a cluster of two): the silence alone decides, as without the quorum.
    const count = asked.waiting.size + asked.answered.size;
    if (count === 0) return undefined;
    return 2 * asked.answered.size > count ? undefined : asked;
  }

  /** Notes that a member answered a probe of this node's (not one made on another's behalf). */
  answered(slot: number): void {
    this.#p.watch.answered(slot);
    for (const asked of this.#asked.values()) {
      if (asked.waiting.delete(slot)) asked.answered.add(slot);
    }
  }

  /** When silence runs out (counted however long this node heard nothing, if `proven` gone). */
  #silenceDeadline(slot: number, proven: boolean): number {
    const { config, table, watch } = this.#p;
    const heard = watch.silentSinceMs(slot, proven);
    if (!this.#p.settings.suspicion) return heard + config.failAfterMs;
    if (table.status(slot) === Status.Alive) return heard + config.suspectAfterMs;
    const since = proven ? table.sinceMs(slot) : Math.max(table.sinceMs(slot), watch.trustSinceMs);
    return Math.max(
      since + config.suspectTimeoutMs,
      heard + config.suspectAfterMs + config.suspectTimeoutMs,
    );
  }

  /** The earliest probe or suspicion deadline among the neighbours. */
  nextDeadlineMs(): number {
    const { watch, health } = this.#p;
    let wake = Infinity;
    for (const slot of watch.neighbors()) {
      const deadline = this.deadline(slot);
      const due = Math.min(
        health.concludes(slot, deadline) ? deadline : Infinity,
        watch.probeDeadline(slot),
      );
      if (due < wake) wake = due;
    }
    return wake;
  }

  /**
   * Probes the neighbours silent long enough, and suspects or fails those silent too long, unless
   * this node was isolated by then (`local_health.ts`).
   */
  check(nowMs: number): void {
    // Failing a neighbour can end a doubt (`local_health.ts`): another member takes its place on
    // the ring, and a silent neighbour's deadline, put off by the doubt, may then be past. Each
    // pass that fails one checks again; every pass fails a member, so they end.
    while (this.#checkOnce(nowMs)) continue;
  }

  /** One pass of `check`; true when it failed a member. */
  #checkOnce(nowMs: number): boolean {
    const { table, watch, counters, health } = this.#p;
    health.noteSelfDoubt(nowMs);
    let due: number[] | undefined;
    for (const slot of watch.neighbors()) {
      if (watch.probeDeadline(slot) <= nowMs) this.#probe(slot, nowMs);
      const deadline = this.deadline(slot);
      if (deadline > nowMs || !health.concludes(slot, deadline)) continue;
      if (this.#waitingOn(slot) !== undefined) this.#probe(slot, nowMs);
      else (due ??= []).push(slot);
    }
    if (due === undefined) return false;
    let failed = false;
    for (const slot of due) {
      if (!table.listedLive(slot)) continue;
      if (this.#p.settings.suspicion && table.status(slot) === Status.Alive) {
        table.setStatus(slot, Status.Suspect, nowMs);
        counters.suspicionsRaised++;
        this.#p.news.announce(slot);
        this.#emit(nowMs, "SUSPECT", slot, "timeout");
      } else {
        counters.failuresDetected++;
        this.#p.endings.end(nowMs, slot, Status.Failed, "timeout");
        failed = true;
      }
    }
    return failed;
  }

  /**
   * Merges the status of an entry of the version this node lists as alive or suspect, after its
   * heartbeat (`incarnation` and `status` are the row's before the merge): a higher incarnation
   * is news (a refutation, or a suspicion of it), and so is a suspicion at the same one.
   */
  merge(
    nowMs: number,
    slot: number,
    entry: Entry,
    incarnation: number,
    status: Status,
    via: Via,
    from: Address,
    news: boolean,
  ): void {
    const table = this.#p.table;
    if (entry.incarnation > incarnation) {
      table.setIncarnation(slot, entry.incarnation);
      if (news) this.#p.news.announce(slot);
      if (entry.status === Status.Suspect) {
        table.setStatus(slot, Status.Suspect, nowMs);
        this.#emit(nowMs, "SUSPECT", slot, via, from);
      } else if (status === Status.Suspect) {
        table.setStatus(slot, Status.Alive, nowMs);
        this.#emit(nowMs, "REFUTE", slot, via, from);
      }
    } else if (
      entry.incarnation === incarnation && entry.status === Status.Suspect &&
      status === Status.Alive
    ) {
      table.setStatus(slot, Status.Suspect, nowMs);
      if (news) this.#p.news.announce(slot);
      this.#emit(nowMs, "SUSPECT", slot, via, from);
    }
  }

  /**
   * Merges what another node says of this node's current version while it lives: a suspicion is
   * refuted by a higher incarnation, and so is an entry ahead of what this node ever sent (a
   * higher incarnation, or a higher heartbeat at this one), forged or corrupt, which left
   * standing would hide this node's own heartbeats from everyone holding it. Returns true when
   * the sender should be answered at once.
   */
  refute(nowMs: number, entry: Entry, from: Address): boolean {
    const self = this.#p.self;
    const ahead = isAhead(entry.incarnation, entry.heartbeat, self.incarnation, self.heartbeat);
    const suspect = entry.status === Status.Suspect;
    if (!ahead && !(suspect && entry.incarnation === self.incarnation)) return suspect;
    if (entry.incarnation >= uint32Max) {
      // No larger incarnation fits the wire: come back as a new version instead.
      self.rejoin(nowMs, self.version + 1, "gossip", from);
      return false;
    }
    self.incarnation = entry.incarnation + 1;
    this.#p.counters.refutations++;
    this.#p.news.announce(self.slot);
    this.#p.outputs.event(
      nowMs,
      "REFUTE",
      self.address,
      self.version,
      self.incarnation,
      "self",
      from,
    );
    return true;
  }

  /**
   * The record of those asked about `slot` in its current silence, asked again now. Asked again in
   * the same silence, the counts go on: each drawing of helpers is another chance that most of
   * them are on this node's side of a cut, and only the sum says which side is the larger.
   */
  #asking(slot: number, nowMs: number): Asked {
    const neighbors = this.#p.watch.neighbors();
    for (const other of this.#asked.keys()) if (!neighbors.has(other)) this.#asked.delete(other);
    const silenceMs = this.#p.watch.silentSinceMs(slot);
    let asked = this.#asked.get(slot);
    if (asked === undefined || asked.silenceMs !== silenceMs) {
      asked = { silenceMs, atMs: nowMs, waiting: new Set(), answered: new Set() };
      this.#asked.set(slot, asked);
    }
    asked.atMs = nowMs;
    return asked;
  }

  /**
   * Sends a silent neighbour, over TCP, the heartbeat it would get by UDP. Its answer, if it is
   * alive and reachable over TCP, ends the silence before the neighbour is suspected or failed.
   * The link from here to it may be all that is down (a firewall, a broken route): one member
   * that watches it from the far side is probed too, with this node's copy of it, and answers
   * with a newer copy if it has one, which ends the silence just as well. And `indirectProbes`
   * members drawn at random are asked to probe it themselves and answer likewise: the links from
   * here and from the far side may both be down (links that drop everything between a few pairs)
   * while the rest of the cluster reaches it.
   */
  #probe(slot: number, nowMs: number): void {
    const { watch, table, self, counters, datagrams, config, random } = this.#p;
    watch.probed(slot);
    counters.probesSent++;
    datagrams.probe(slot, false);
    const asked = config.helperQuorum === 1 ? this.#asking(slot, nowMs) : undefined;
    const witness = watch.farWatchers(slot).find((w) => w !== self.slot && table.listedLive(w));
    if (witness !== undefined) {
      counters.witnessProbesSent++;
      if (this.#witnessesAsked.size >= witnessesAskedMax) this.#witnessesAsked.clear();
      this.#witnessesAsked.add(witness);
      if (asked !== undefined && !asked.answered.has(witness)) asked.waiting.add(witness);
      watch.asked(witness, nowMs);
      datagrams.probe(witness, false, slot);
    }
    const live = table.live;
    // Besides this node, the neighbour and its watcher, there must be someone left to ask.
    if (live.size <= 3) return;
    const helpers = new Set<number>();
    // With a quorum to reach, twice as many: a crash among many (a third of the cluster at once)
    // takes some of the helpers too, and more of them make the count say sooner which it is.
    const wanted = config.helperQuorum === 1 ? 2 * config.indirectProbes : config.indirectProbes;
    for (let i = 0; i < 4 * wanted && helpers.size < wanted; i++) {
      const helper = live.at(random.below(live.size));
      if (helper === self.slot || helper === slot || helper === witness) continue;
      if (!table.listedLive(helper) || helpers.has(helper)) continue;
      helpers.add(helper);
      if (asked !== undefined && !asked.answered.has(helper)) asked.waiting.add(helper);
      counters.indirectProbesSent++;
      watch.asked(helper, nowMs);
      datagrams.probe(helper, false, slot, true);
    }
  }

  /** True, once, when the member at `slot` answers as a witness this node probed. */
  answeredAsWitness(slot: number): boolean {
    return this.#witnessesAsked.delete(slot);
  }

  /**
   * The slot of the member at `address` when a helper's answer vouches for it: the answer carries
   * its copy second, newer than this node's. The helper puts it there only when it heard the
   * member a moment ago, most often in answer to its own probe (`Datagrams.probeAnswer`), which is
   * as good as hearing it here, even for a new neighbour not yet heard from directly.
   */
  vouchedFor(address: Address, ack: ProbeAck): number | undefined {
    const copy = ack.entries[1];
    if (copy === undefined || copy.address !== address || copy.status !== Status.Alive) return;
    const table = this.#p.table;
    const about = table.book.find(address);
    if (!table.hasRow(about) || table.version(about) !== copy.version) return undefined;
    const newer = isAhead(
      copy.incarnation,
      copy.heartbeat,
      table.incarnation(about),
      table.heartbeat(about),
    );
    return newer ? about : undefined;
  }

  #emit(nowMs: number, kind: "SUSPECT" | "REFUTE", slot: number, via: Via, from?: Address): void {
    this.#p.outputs.member(nowMs, kind, this.#p.table, slot, via, from);
  }
}
