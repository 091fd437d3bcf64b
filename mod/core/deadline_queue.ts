/** Deadlines about one member's row: its cleanup, or its tombstone's end. */
import type { Address } from "./types.ts";

/** A deadline about the row at `slot`, while it holds this address at this version. */
export interface Deadline {
  readonly slot: number;
  readonly address: Address;
  readonly version: number;
  readonly dueMs: number;
}

/** A FIFO of deadlines that all share one delay, so arrival order is deadline order. */
export class DeadlineQueue {
  #items: Deadline[] = [];
  #head = 0;

  /** How many items wait. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  push(item: Deadline): void {
    this.#items.push(item);
  }

  /** Keeps only the waiting items `keep` accepts, in order. */
  compact(keep: (item: Deadline) => boolean): void {
    this.#items = this.#items.slice(this.#head).filter(keep);
    this.#head = 0;
  }

  peek(): Deadline | undefined {
    return this.#items[this.#head];
  }

  shift(): Deadline | undefined {
    const item = this.#items[this.#head];
    if (item === undefined) return undefined;
    this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
}
