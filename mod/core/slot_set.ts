/**
 * A set of slots with constant-time add, delete, membership and pick-at-index. Deleting moves the
 * last item into the hole, so the order is stable enough to rotate through but not sorted.
 */
export class SlotSet {
  #items: Int32Array;
  #pos: Int32Array; // slot -> index + 1; 0 when absent
  #size = 0;

  constructor(capacity: number) {
    this.#items = new Int32Array(Math.max(4, capacity));
    this.#pos = new Int32Array(Math.max(4, capacity));
  }

  /** How many slots it holds. */
  get size(): number {
    return this.#size;
  }

  /** Makes room for slots below `capacity`. */
  grow(capacity: number): void {
    if (capacity <= this.#pos.length) return;
    const pos = new Int32Array(capacity);
    pos.set(this.#pos);
    this.#pos = pos;
    const items = new Int32Array(capacity);
    items.set(this.#items.subarray(0, this.#size));
    this.#items = items;
  }

  has(slot: number): boolean {
    return slot < this.#pos.length && this.#pos[slot] !== 0;
  }

  add(slot: number): void {
    if (this.#pos[slot] !== 0) return;
    this.#items[this.#size] = slot;
    this.#size++;
    this.#pos[slot] = this.#size;
  }

  delete(slot: number): void {
    const at = this.#pos[slot];
    if (at === 0 || at === undefined) return;
    const last = this.#items[this.#size - 1];
    this.#items[at - 1] = last;
    this.#pos[last] = at;
    this.#pos[slot] = 0;
    this.#size--;
  }

  /** The slot at an index in [0, size). */
  at(index: number): number {
    return this.#items[index];
  }
}
