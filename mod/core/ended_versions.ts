/**
 * The versions that ended at each address, remembered long after their tombstones are gone (a
 * day by default), one number per address. Two sides of a partition that lasted longer than a
 * tombstone have each forgotten the other's members: without this, the first gossip across the
 * healed link would bring every one of them back at the version the other side had failed, and
 * once both sides had stopped trying to reach each other they would never meet again.
 */
import type { Address } from "./types.ts";

interface Ended {
  readonly version: number;
  /** When its tombstone ran out, ms. */
  readonly atMs: number;
  /** True when it failed (worth trying to reach again), false when it left. */
  readonly failed: boolean;
}

/** The highest ended version per address, oldest forgotten first, bounded in size and age. */
export class EndedVersions {
  // Kept in the order of `atMs`: a record is moved to the end whenever it is written.
  readonly #records = new Map<Address, Ended>();
  readonly #capacity: number;
  readonly #keepMs: number;

  constructor(capacity: number, keepMs: number) {
    this.#capacity = capacity;
    this.#keepMs = keepMs;
  }

  get size(): number {
    return this.#records.size;
  }

  /** Remembers that `version` of `address` ended, its tombstone running out at `nowMs`. */
  add(address: Address, version: number, failed: boolean, nowMs: number): void {
    const had = this.#records.get(address);
    this.#records.delete(address);
    const newer = had === undefined || version >= had.version;
    this.#records.set(address, {
      version: newer ? version : had.version,
      atMs: nowMs,
      failed: newer ? failed : had.failed,
    });
    if (this.#records.size > this.#capacity) {
      this.#records.delete(this.#records.keys().next().value!);
    }
  }

  /** The highest version of `address` known to have ended, if one is remembered. */
  versionOf(address: Address): number | undefined {
    return this.#records.get(address)?.version;
  }

  /** Forgets what ended longer than the keeping time ago. */
  expire(nowMs: number): void {
    for (const [address, record] of this.#records) {
      if (nowMs - record.atMs < this.#keepMs) return;
      this.#records.delete(address);
    }
  }

  /** The record at `index` (0 to size - 1), to pick one at random. */
  at(index: number): { address: Address; version: number; failed: boolean } {
    let i = 0;
    for (const [address, record] of this.#records) {
      if (i++ === index) return { address, version: record.version, failed: record.failed };
    }
    throw new RangeError(`no record at ${index} of ${this.#records.size}`);
  }
}
