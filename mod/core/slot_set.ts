/**
 * A set of slots with constant-time add, delete, membership and pick-at-index. Deleting moves the
 * last item into the hole, so the order is stable enough to rotate through but not sorted. Its
 * arrays grow only as slots are added, so a set that stays small (the failed members) stays small.
 */
export class SlotSet {
  #items = new Int32Array(4);
  #pos = new Int32Array(4); // slot -> index + 1; 0 when absent
  #size = 0;

  /** How many slots it holds. */
  get size(): number {
    return this.#size;
  }

  has(slot: number): boolean {
    return slot < this.#pos.length && this.#pos[slot] !== 0;
  }

  add(slot: number): void {
    if (slot >= this.#pos.length) {
      const pos = new Int32Array(Math.max(slot + 1, this.#pos.length * 2));
      pos.set(this.#pos);
      this.#pos = pos;
    }
    if (this.#pos[slot] !== 0) return;
    if (this.#size === this.#items.length) {
      const items = new Int32Array(this.#items.length * 2);
      items.set(this.#items);
      this.#items = items;
    }
    this.#items[this.#size] = slot;
    this.#size++;
    this.#pos[slot] = this.#size;
  }

  delete(slot: number): void {
    if (slot >= this.#pos.length) return;
    const at = this.#pos[slot];
    if (at === 0) return;
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
