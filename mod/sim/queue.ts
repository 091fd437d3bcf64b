/**
 * The simulator's agenda: items due at whole milliseconds, taken in time order and, within one
 * millisecond, in the order they were added. Near times go to a ring of per-millisecond buckets
 * (constant time); far ones wait in a heap until the ring reaches them.
 */
import { assert, AssertionError } from "../core/assert.ts";

const ringMs = 1 << 14;

interface Far<T> {
  readonly time: number;
  readonly seq: number;
  readonly item: T;
}

/** A time-ordered queue of items. */
export class Agenda<T> {
  #ring: T[][] = Array.from({ length: ringMs }, () => []);
  #nowMs = 0;
  #cursor = 0; // index into the current bucket
  #nearCount = 0;
  #far: Far<T>[] = [];
  #seq = 0;

  /** The time of the item taken last. */
  get nowMs(): number {
    return this.#nowMs;
  }

  /** Items waiting. */
  get size(): number {
    return this.#nearCount + this.#far.length;
  }

  /** Adds an item due at `timeMs`, a whole number not before the current time. */
  push(timeMs: number, item: T): void {
    if (!(timeMs >= this.#nowMs && Number.isInteger(timeMs))) {
      throw new AssertionError(
        `agenda time not a whole ms from now on: ${timeMs} (${this.#nowMs})`,
      );
    }
    if (timeMs - this.#nowMs < ringMs) {
      this.#ring[timeMs & (ringMs - 1)].push(item);
      this.#nearCount++;
    } else {
      this.#heapPush({ time: timeMs, seq: this.#seq++, item });
    }
  }

  /** The time of the next item, or Infinity when there is none. Does not take it. */
  peekTime(): number {
    if (this.size === 0) return Infinity;
    if (this.#nearCount === 0) return this.#far[0].time;
    let time = this.#nowMs;
    let bucket = this.#ring[time & (ringMs - 1)];
    let cursor = this.#cursor;
    while (cursor >= bucket.length) {
      time++;
      bucket = this.#ring[time & (ringMs - 1)];
      cursor = 0;
    }
    return time;
  }

  /** Takes the next item, or returns undefined when none is due by `untilMs`. */
  shift(untilMs = Infinity): T | undefined {
    for (;;) {
      if (this.size === 0) return undefined;
      const bucket = this.#ring[this.#nowMs & (ringMs - 1)];
      if (this.#cursor < bucket.length) {
        if (this.#nowMs > untilMs) return undefined;
        const item = bucket[this.#cursor];
        bucket[this.#cursor] = undefined as T;
        this.#cursor++;
        this.#nearCount--;
        return item;
      }
      // This millisecond is spent: move on, pulling in far items that come within reach.
      const next = this.#nearCount === 0 ? this.#far[0].time : this.#nowMs + 1;
      if (next > untilMs) return undefined;
      bucket.length = 0;
      this.#cursor = 0;
      this.#nowMs = next;
      while (this.#far.length > 0 && this.#far[0].time - this.#nowMs < ringMs) {
        const far = this.#heapPop();
        this.#ring[far.time & (ringMs - 1)].push(far.item);
        this.#nearCount++;
      }
    }
  }

  /** Moves the clock forward to `timeMs`; nothing may be due before it. */
  advanceTo(timeMs: number): void {
    if (timeMs <= this.#nowMs) return;
    assert(this.peekTime() >= timeMs, "advancing past waiting items");
    this.#ring[this.#nowMs & (ringMs - 1)].length = 0;
    this.#cursor = 0;
    this.#nowMs = timeMs;
    while (this.#far.length > 0 && this.#far[0].time - this.#nowMs < ringMs) {
      const far = this.#heapPop();
      this.#ring[far.time & (ringMs - 1)].push(far.item);
      this.#nearCount++;
    }
  }

  #heapPush(entry: Far<T>): void {
    const heap = this.#far;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  #heapPop(): Far<T> {
    const heap = this.#far;
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l], heap[m])) m = l;
        if (r < heap.length && before(heap[r], heap[m])) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m], heap[i]];
        i = m;
      }
    }
    return top;
  }
}

function before<T>(a: Far<T>, b: Far<T>): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
