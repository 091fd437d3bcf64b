/**
 * Merging what others say of a member's tags: newer tags are taken (logged as UPDATE and passed on
 * as news); tags a member is known to have but that have not come are awaited, then asked for with
 * a whole list; and an entry with older tags than this node holds says its sender is behind.
 */
import type { Config } from "./config.ts";
import type { MemberTable } from "./member_table.ts";
import type { News } from "./news.ts";
import type { Outputs } from "./outputs.ts";
import type { Address, Entry, Via } from "./types.ts";

/** Members whose tags are awaited at once, at most: past it the wait starts again. */
const tagsWantedMax = 4096;

/** The parts merging tags reads and writes. */
export interface TagsMergeParts {
  readonly config: Config;
  readonly table: MemberTable;
  readonly news: News;
  readonly outputs: Outputs;
}

/** Merges members' tags into the member table. */
export class TagsMerger {
  readonly #p: TagsMergeParts;
  /** When this node last asked for a whole list to hear of tags it lacks. */
  #askedMs = -Infinity;
  /** Members whose newer tags this node knows of but lacks, and since when. */
  readonly #wanted = new Map<number, number>();

  constructor(parts: TagsMergeParts) {
    this.#p = parts;
  }

  /** A member just listed from `entry`, which said it has tags without carrying them. */
  joinedWithout(nowMs: number, slot: number, from: Address): void {
    this.#want(nowMs, slot, from);
  }

  /**
   * Merges the tags of an entry of the version the table holds. Returns true when the entry's
   * tags are older than this node's and it came from another than the member: its sender is to
   * be told them.
   */
  merge(
    nowMs: number,
    slot: number,
    entry: Entry,
    via: Via,
    from: Address,
    news: boolean,
  ): boolean {
    const held = this.#p.table.tagsVersion(slot);
    const version = entry.tagsVersion ?? 0;
    if (version > held) this.#take(nowMs, slot, entry, via, from, news);
    return version < held && from !== entry.address;
  }

  /**
   * Takes a member's newer tags: logged as UPDATE and passed on as news. An entry that says only
   * that there are newer tags (its tags version, without them) has this node wait for them.
   */
  #take(nowMs: number, slot: number, entry: Entry, via: Via, from: Address, news: boolean): void {
    const table = this.#p.table;
    if (entry.tags === undefined) {
      this.#want(nowMs, slot, from);
      return;
    }
    this.#wanted.delete(slot);
    table.setTags(slot, entry.tagsVersion!, entry.tags);
    if (news) this.#p.news.announce(slot);
    this.#p.outputs.event(
      nowMs,
      "UPDATE",
      entry.address,
      entry.version,
      table.incarnation(slot),
      via,
      from,
      entry.tags,
    );
  }

  /**
   * Notes that this node lacks a member's newer tags. They are most often a round or two behind,
   * as news or told back by a member this node gossiped its older copy to: a whole list, which
   * carries every member's tags, is asked of the sender only when they have not come for two list
   * intervals, and at most once a list interval.
   */
  #want(nowMs: number, slot: number, from: Address): void {
    const since = this.#wanted.get(slot);
    if (since === undefined) {
      if (this.#wanted.size >= tagsWantedMax) this.#wanted.clear();
      this.#wanted.set(slot, nowMs);
    } else if (nowMs - since >= 2 * this.#p.config.syncIntervalMs) {
      this.#wanted.delete(slot);
      if (nowMs - this.#askedMs < this.#p.config.syncIntervalMs) return;
      this.#askedMs = nowMs;
      this.#p.outputs.sync(from);
    }
  }
}
