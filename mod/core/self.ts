/**
 * This node as a member: its address, its version (fixed per join, fail-stop), its incarnation
 * (raised to refute a suspicion), its heartbeat, and whether it is active, leaving or left; and
 * coming back as a new version when the cluster has ended the current one.
 */
import type { MemberTable } from "./member_table.ts";
import type { News } from "./news.ts";
import type { CoreCounters, Outputs } from "./outputs.ts";
import { emptyTags } from "./tags.ts";
import { type Address, type Entry, makeEntry, Status, type Tags, type Via } from "./types.ts";
import type { Watch } from "./watch.ts";
import { versionMax } from "./wire_size.ts";

/** Active until a leave, leaving while the leave is announced, then left and quiet. */
export type Phase = "active" | "leaving" | "left";

/** This node's own state. */
export class Self {
  readonly address: Address;
  /** This node's slot in the address book. */
  readonly slot: number;
  readonly #versionOrigin: number;
  readonly #originMs: number;
  version: number;
  incarnation = 0;
  heartbeat = 0;
  phase: Phase = "active";
  /** When this node's own status last changed: its start, or its leave. */
  sinceMs: number;
  /** Rounds a leave is still announced for. */
  leaveRoundsLeft = 0;
  /** What this node says about itself, and how many times this version changed it. */
  tags: Tags = emptyTags();
  tagsVersion = 0;
  /** Rounds for which every datagram still carries this node's tags, after they changed. */
  tagsRoundsLeft = 0;

  readonly #table: MemberTable;
  readonly #watch: Watch;
  readonly #news: News;
  readonly #outputs: Outputs;
  readonly #counters: CoreCounters;

  constructor(
    options: {
      address: Address;
      slot: number;
      version: number;
      nowMs: number;
      /** The process's first version and when it was taken, when this is not the first view. */
      origin?: { readonly version: number; readonly atMs: number };
      /** The tags this version starts with. */
      tags?: Tags;
    },
    parts: {
      table: MemberTable;
      watch: Watch;
      news: News;
      outputs: Outputs;
      counters: CoreCounters;
    },
  ) {
    this.address = options.address;
    this.slot = options.slot;
    this.version = options.version;
    if (options.tags !== undefined && Object.keys(options.tags).length > 0) {
      this.tags = options.tags;
      this.tagsVersion = 1;
      // Its first datagrams carry them: a member that hears of it second-hand first still gets
      // them within a round or two, not only when its join's news or a whole list comes.
      this.tagsRoundsLeft = 3;
    }
    this.#versionOrigin = options.origin?.version ?? options.version;
    this.#originMs = options.origin?.atMs ?? options.nowMs;
    this.sinceMs = options.nowMs;
    this.#table = parts.table;
    this.#watch = parts.watch;
    this.#news = parts.news;
    this.#outputs = parts.outputs;
    this.#counters = parts.counters;
  }

  /** True until a leave. */
  get active(): boolean {
    return this.phase === "active";
  }

  /** This node's own entry: with its tags version, not its tags. */
  get entry(): Entry {
    return this.#entry(undefined);
  }

  /** This node's own entry with its tags, when it has some. */
  get entryWithTags(): Entry {
    return this.#entry(this.tags);
  }

  #entry(tags: Tags | undefined): Entry {
    const status = this.phase === "active" ? Status.Alive : Status.Left;
    return makeEntry(
      this.address,
      this.version,
      this.incarnation,
      this.heartbeat,
      status,
      this.tagsVersion,
      tags,
    );
  }

  /** Members listed alive or suspect, this node included while it is active. */
  get liveCount(): number {
    return this.#table.live.size + (this.phase === "active" ? 1 : 0);
  }

  /**
   * The count every gossip carries: members listed alive and not suspected, this node included
   * while it is active. After a cut heals, each side reads the other's count to tell which was
   * the smaller (`Merger.aboutSelf`). A group cut off suspects the members across the cut well
   * before it fails them (it doubts itself first, `selfDoubtMs`), so a count of live members
   * still held the whole cluster when its first failures came, just as the cut healed, and its
   * news that a member of the larger side failed was believed.
   */
  get vouchedCount(): number {
    return this.liveCount - this.#table.suspects;
  }

  /**
   * The version this node comes back as, at least `atLeast`: later than the current one, and no
   * less than its first version plus the time since, as a restarted process would take.
   */
  nextVersion(nowMs: number, atLeast: number): number {
    // Versions are whole milliseconds; the shell hands in fractional times.
    return Math.max(
      atLeast,
      this.version + 1,
      Math.floor(this.#versionOrigin + (nowMs - this.#originMs)),
    );
  }

  /** The first version of this node's process, and when it was taken, for `nextVersion`. */
  get origin(): { readonly version: number; readonly atMs: number } {
    return { version: this.#versionOrigin, atMs: this.#originMs };
  }

  /**
   * Comes back as a new version, at least `atLeast`, after the group declared this one failed
   * (or saw a newer one): fail-stop, so the old version stays dead.
   */
  rejoin(nowMs: number, atLeast: number, via: Via, from?: Address): void {
    const old = this.version;
    const next = this.nextVersion(nowMs, atLeast);
    // Only a forged entry names a version this close to the wire's widest: ignored.
    if (next > versionMax) return;
    this.#outputs.event(nowMs, "REMOVE", this.address, old, this.incarnation, via, from);
    this.version = next;
    this.incarnation = 0;
    this.heartbeat = 0;
    // A new version starts with the tags the old one had, as its first set, and says so.
    if (this.tagsVersion > 0) {
      this.tagsVersion = 1;
      this.tagsRoundsLeft = 3;
    }
    this.#counters.rejoins++;
    this.#watch.setCenter(this.address, next);
    this.#watch.rebuild(nowMs);
    this.#news.announce(this.slot);
    this.#outputs.event(nowMs, "JOIN", this.address, next, 0, "self");
  }
}
