/**
 * Maps addresses to small integers (slots), so that a node's member table can be a set of flat
 * typed arrays. A node owns its book; the simulator may hand one book to all its nodes, which
 * keeps 10,000 nodes' tables in memory without changing what any node does.
 */
import type { Address } from "./types.ts";

/** An interner of addresses with a fixed capacity. */
export class AddressBook {
  readonly #slots = new Map<Address, number>();
  readonly #addresses: Address[] = [];
  readonly #free: number[] = [];
  readonly capacity: number;
  readonly shared: boolean;

  /**
   * @param capacity the most addresses it holds at once.
   * @param shared true when several nodes use it: then slots are never reused.
   */
  constructor(capacity: number, shared = false) {
    this.capacity = capacity;
    this.shared = shared;
  }

  /** The slot of an address, or -1 when it has none. */
  find(address: Address): number {
    return this.#slots.get(address) ?? -1;
  }

  /** The slot of an address, given one when it has none; -1 when the book is full. */
  intern(address: Address): number {
    const found = this.#slots.get(address);
    if (found !== undefined) return found;
    let slot: number;
    if (this.#free.length > 0) {
      slot = this.#free.pop()!;
      this.#addresses[slot] = address;
    } else {
      if (this.#addresses.length >= this.capacity) return -1;
      slot = this.#addresses.length;
      this.#addresses.push(address);
    }
    this.#slots.set(address, slot);
    return slot;
  }

  /** The address of a slot. */
  address(slot: number): Address {
    return this.#addresses[slot];
  }

  /** One more slot than the highest ever given, for sizing arrays indexed by slot. */
  get extent(): number {
    return this.#addresses.length;
  }

  /** Gives a slot back once no table refers to it; shared books keep every slot. */
  release(slot: number): void {
    if (this.shared) return;
    const address = this.#addresses[slot];
    if (address === undefined || !this.#slots.has(address)) return;
    this.#slots.delete(address);
    this.#free.push(slot);
  }
}
