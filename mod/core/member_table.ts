/**
 * The member table: one row per address slot, the fields of every member this node knows (and
 * of the tombstones it keeps), and the sets of slots the other mechanisms walk.
 *
 * Rows live in one Float64Array, `rowSize` numbers per slot, so that a merge touches one cache
 * line; the accessors below are the only code that knows the layout.
 */
import type { AddressBook } from "./address_book.ts";
import { SlotSet } from "./slot_set.ts";
import { type Address, type Entry, isLive, makeEntry, Status, type Tags } from "./types.ts";
import { emptyTags } from "./tags.ts";

/** A member as this node lists it. */
export interface MemberView {
  readonly address: Address;
  readonly version: number;
  readonly incarnation: number;
  readonly heartbeat: number;
  readonly status: Status;
  /** When the status last changed, on the core's clock. */
  readonly sinceMs: number;
  /** When its heartbeat last grew, on the core's clock. */
  readonly heardMs: number;
  /** What the member says about itself, as far as this node has heard. */
  readonly tags: Tags;
}

/** The status field of a slot that holds no row. */
export const noEntryStatus = 0;

const rowSize = 9;
const fVersion = 0;
const fIncarnation = 1;
const fHeartbeat = 2;
/** When the heartbeat last grew. */
const fHeard = 3;
/** When the status last changed. */
const fSince = 4;
/** 0 (no entry) or a Status. */
const fStatus = 5;
/** 1 for a tombstone: remembered, no longer listed. */
const fRemoved = 6;
/** Marks entries already in the datagram being built (or the list being compared). */
const fStamp = 7;
/** The tags version whose tags this node holds (0: none known). */
const fTagsVersion = 8;

/** Every member this node knows, by the slot its address book gave the address. */
export class MemberTable {
  readonly book: AddressBook;
  /** Members listed alive or suspect. */
  readonly live = new SlotSet();
  /** Every row this node passes on in lists and slices: all but tombstones heard second-hand. */
  readonly present = new SlotSet();
  /** Failed members, in the table still: the addresses a reconnect gossip goes to. */
  readonly failed = new SlotSet();

  #capacity = 0;
  #rows = new Float64Array(0);
  #stampValue = 0;
  /** Members' tags, for those whose tags this node holds. */
  readonly #tags = new Map<number, Tags>();
  readonly #onGrow: (capacity: number) => void;

  /** A table with room for `capacity` slots; `onGrow` hears of every new capacity. */
  constructor(book: AddressBook, capacity: number, onGrow: (capacity: number) => void) {
    this.book = book;
    this.#onGrow = onGrow;
    this.grow(capacity);
  }

  /** Slots the table has room for. */
  get capacity(): number {
    return this.#capacity;
  }

  /** The address of a slot. */
  address(slot: number): Address {
    return this.book.address(slot);
  }

  /** True when the table holds a row (a tombstone too) at `slot`, as `book.find` gave it. */
  hasRow(slot: number): boolean {
    return slot >= 0 && slot < this.#capacity &&
      this.#rows[slot * rowSize + fStatus] !== noEntryStatus;
  }

  version(slot: number): number {
    return this.#rows[slot * rowSize + fVersion];
  }

  incarnation(slot: number): number {
    return this.#rows[slot * rowSize + fIncarnation];
  }

  heartbeat(slot: number): number {
    return this.#rows[slot * rowSize + fHeartbeat];
  }

  /** When the member's heartbeat last grew. */
  heardMs(slot: number): number {
    return this.#rows[slot * rowSize + fHeard];
  }

  /** When the member's status last changed. */
  sinceMs(slot: number): number {
    return this.#rows[slot * rowSize + fSince];
  }

  /** The slot's status, or `noEntryStatus`. */
  status(slot: number): Status | typeof noEntryStatus {
    return this.#rows[slot * rowSize + fStatus] as Status | typeof noEntryStatus;
  }

  /** True for a tombstone: remembered, no longer listed. */
  removed(slot: number): boolean {
    return this.#rows[slot * rowSize + fRemoved] === 1;
  }

  /** Members listed as suspect, kept as statuses are written. */
  suspects = 0;

  /** Writes the status of the row at `at`, counting suspects. */
  #writeStatus(at: number, status: Status | typeof noEntryStatus): void {
    if (this.#rows[at + fStatus] === Status.Suspect) this.suspects--;
    if (status === Status.Suspect) this.suspects++;
    this.#rows[at + fStatus] = status;
  }

  /** True when the row is of a member listed alive or suspect. */
  listedLive(slot: number): boolean {
    return isLive(this.#rows[slot * rowSize + fStatus] as Status);
  }

  /** Sets the status, and when it changed (unless `sinceMs` is left out). */
  setStatus(slot: number, status: Status, sinceMs?: number): void {
    this.#writeStatus(slot * rowSize, status);
    if (sinceMs !== undefined) this.#rows[slot * rowSize + fSince] = sinceMs;
  }

  setIncarnation(slot: number, incarnation: number): void {
    this.#rows[slot * rowSize + fIncarnation] = incarnation;
  }

  /** Notes a heartbeat that grew, and when it was heard. */
  setHeartbeat(slot: number, heartbeat: number): void {
    this.#rows[slot * rowSize + fHeartbeat] = heartbeat;
  }

  setHeard(slot: number, heardMs: number): void {
    this.#rows[slot * rowSize + fHeard] = heardMs;
  }

  /** Makes a row a tombstone, or lists it again. */
  setRemoved(slot: number, removed: boolean): void {
    this.#rows[slot * rowSize + fRemoved] = removed ? 1 : 0;
  }

  /** The tags version whose tags this node holds (0: none). */
  tagsVersion(slot: number): number {
    return this.#rows[slot * rowSize + fTagsVersion];
  }

  /** The member's tags, as far as this node has heard (none: empty). */
  tags(slot: number): Tags {
    return this.#tags.get(slot) ?? emptyTags();
  }

  /** Holds a member's tags at `version`. */
  setTags(slot: number, version: number, tags: Tags): void {
    this.#rows[slot * rowSize + fTagsVersion] = version;
    if (Object.keys(tags).length === 0) this.#tags.delete(slot);
    else this.#tags.set(slot, tags);
  }

  /**
   * Stores an entry as heard now: its tags too when it carries them (a tags version alone says
   * only that there are tags to hear of).
   */
  store(slot: number, entry: Entry, nowMs: number): void {
    const at = slot * rowSize;
    this.#writeStatus(at, entry.status);
    this.#rows[at + fRemoved] = 0;
    this.#rows[at + fVersion] = entry.version;
    this.#rows[at + fIncarnation] = entry.incarnation;
    this.#rows[at + fHeartbeat] = entry.heartbeat;
    this.#rows[at + fHeard] = nowMs;
    this.#rows[at + fSince] = nowMs;
    if (entry.tags !== undefined && entry.tagsVersion !== undefined) {
      this.setTags(slot, entry.tagsVersion, entry.tags);
    } else this.setTags(slot, 0, emptyTags());
  }

  /** Empties a slot: no row, no tombstone. */
  clear(slot: number): void {
    this.#writeStatus(slot * rowSize, noEntryStatus);
    this.#rows[slot * rowSize + fRemoved] = 0;
    this.setTags(slot, 0, emptyTags());
  }

  /** The row as an entry, as the wire carries it: with its tags version, not its tags. */
  entry(slot: number): Entry {
    return this.#entry(slot, false);
  }

  /** The row as an entry with its tags, when this node holds some. */
  entryWithTags(slot: number): Entry {
    return this.#entry(slot, true);
  }

  #entry(slot: number, withTags: boolean): Entry {
    const at = slot * rowSize;
    const tagsVersion = this.#rows[at + fTagsVersion];
    return makeEntry(
      this.book.address(slot),
      this.#rows[at + fVersion],
      this.#rows[at + fIncarnation],
      this.#rows[at + fHeartbeat],
      this.#rows[at + fStatus] as Status,
      tagsVersion,
      withTags && tagsVersion !== 0 ? this.tags(slot) : undefined,
    );
  }

  /** The row as a view, with its times and tags. */
  view(slot: number): MemberView {
    const at = slot * rowSize;
    return {
      address: this.book.address(slot),
      version: this.#rows[at + fVersion],
      incarnation: this.#rows[at + fIncarnation],
      heartbeat: this.#rows[at + fHeartbeat],
      status: this.#rows[at + fStatus] as Status,
      sinceMs: this.sinceMs(slot),
      heardMs: this.heardMs(slot),
      tags: this.tags(slot),
    };
  }

  /** Every member listed (tombstones aside). */
  members(): MemberView[] {
    const views: MemberView[] = [];
    for (let i = 0; i < this.present.size; i++) {
      const slot = this.present.at(i);
      if (!this.removed(slot)) views.push(this.view(slot));
    }
    return views;
  }

  /** True when the table lists exactly this version of the address as alive or suspect. */
  listsLive(address: Address, version: number): boolean {
    const slot = this.book.find(address);
    if (slot < 0 || slot >= this.#capacity) return false;
    return !this.removed(slot) && this.version(slot) === version && this.listedLive(slot);
  }

  /** How the table holds one address, tombstones included; undefined when it does not. */
  lookup(address: Address): (MemberView & { readonly removed: boolean }) | undefined {
    const slot = this.book.find(address);
    if (!this.hasRow(slot)) return undefined;
    return { ...this.view(slot), removed: this.removed(slot) };
  }

  /** Starts a new mark: marks from earlier ones no longer count. */
  nextStamp(): number {
    this.#stampValue++;
    if (this.#stampValue === Number.MAX_SAFE_INTEGER) {
      for (let i = fStamp; i < this.#rows.length; i += rowSize) this.#rows[i] = 0;
      this.#stampValue = 1;
    }
    return this.#stampValue;
  }

  stamp(slot: number, mark: number): void {
    this.#rows[slot * rowSize + fStamp] = mark;
  }

  stamped(slot: number, mark: number): boolean {
    return this.#rows[slot * rowSize + fStamp] === mark;
  }

  /** Makes the table hold every slot the address book has given, and at least `atLeast`. */
  grow(atLeast = 0): void {
    const extent = Math.max(this.book.extent, atLeast);
    if (extent <= this.#capacity) return;
    const capacity = Math.min(
      this.book.capacity,
      Math.max(extent, Math.ceil(this.#capacity * 1.5), 16),
    );
    const rows = new Float64Array(capacity * rowSize);
    rows.set(this.#rows);
    this.#rows = rows;
    this.#capacity = capacity;
    this.#onGrow(capacity);
  }
}
