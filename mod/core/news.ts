/**
 * The queue of news: members whose entry changed (joined, suspected, refuted, failed, left) and
 * that this node still retransmits. Each datagram carries the least-sent news first, newest first
 * among equals, as memberlist's transmit-limited queue does; an item is dropped after it has been
 * sent `limit` times. Heartbeat increases are not news: the rotating slice carries them.
 */
export class NewsQueue {
  /** Buckets by times sent; each a stack of (slot, generation) pairs, newest last. */
  readonly #buckets: number[][] = [];
  #generation: Uint32Array;
  #sent: Uint8Array;
  #queued: Uint8Array;
  #count = 0;
  #picked: number[] = [];

  constructor(capacity: number) {
    this.#generation = new Uint32Array(capacity);
    this.#sent = new Uint8Array(capacity);
    this.#queued = new Uint8Array(capacity);
  }

  /** Items waiting to be sent. */
  get size(): number {
    return this.#count;
  }

  /** Makes room for slots below `capacity`. */
  grow(capacity: number): void {
    if (capacity <= this.#generation.length) return;
    const generation = new Uint32Array(capacity);
    generation.set(this.#generation);
    this.#generation = generation;
    const sent = new Uint8Array(capacity);
    sent.set(this.#sent);
    this.#sent = sent;
    const queued = new Uint8Array(capacity);
    queued.set(this.#queued);
    this.#queued = queued;
  }

  /** Queues a slot as fresh news, or makes it fresh again. */
  add(slot: number): void {
    if (this.#queued[slot] === 0) this.#count++;
    this.#queued[slot] = 1;
    this.#sent[slot] = 0;
    this.#push(0, slot);
  }

  /** Forgets a slot's news. */
  delete(slot: number): void {
    if (this.#queued[slot] === 0) return;
    this.#queued[slot] = 0;
    this.#generation[slot]++;
    this.#count--;
    // An empty queue lets go of its buckets, which a wave of joins may have made large.
    if (this.#count === 0) this.#buckets.length = 0;
  }

  /**
   * Offers the news in order to `take`, which returns true when it used the item, false to skip
   * it, or null to stop. When `count` is true, used items count as sent once more after the walk.
   * Items sent `limit` times or more are dropped on the way.
   */
  pick(limit: number, count: boolean, take: (slot: number) => boolean | null): void {
    const picked = this.#picked;
    picked.length = 0;
    outer: for (let b = 0; b < this.#buckets.length; b++) {
      const bucket = this.#buckets[b];
      if (bucket === undefined) continue;
      this.#trim(bucket);
      for (let i = bucket.length - 2; i >= 0; i -= 2) {
        const slot = bucket[i];
        if (bucket[i + 1] !== this.#generation[slot] || this.#queued[slot] === 0) continue;
        if (this.#sent[slot] >= limit) {
          this.delete(slot);
          continue;
        }
        const used = take(slot);
        if (used === null) break outer;
        if (used && count) picked.push(slot);
      }
    }
    for (const slot of picked) {
      const sent = ++this.#sent[slot];
      if (sent >= limit || sent >= 255) this.delete(slot);
      else this.#push(sent, slot);
    }
  }

  #push(bucketIndex: number, slot: number): void {
    const generation = ++this.#generation[slot];
    let bucket = this.#buckets[bucketIndex];
    if (bucket === undefined) {
      bucket = [];
      this.#buckets[bucketIndex] = bucket;
    }
    bucket.push(slot, generation);
    // Superseded pairs pile up behind the live ones; compact when they dominate.
    if (bucket.length > 64 && bucket.length > 8 * (this.#count + 8)) this.#compact(bucket);
  }

  /** Drops superseded pairs from the top of a bucket. */
  #trim(bucket: number[]): void {
    while (bucket.length > 0) {
      const slot = bucket[bucket.length - 2];
      if (bucket[bucket.length - 1] === this.#generation[slot] && this.#queued[slot] === 1) return;
      bucket.pop();
      bucket.pop();
    }
  }

  #compact(bucket: number[]): void {
    let out = 0;
    for (let i = 0; i < bucket.length; i += 2) {
      const slot = bucket[i];
      if (bucket[i + 1] !== this.#generation[slot] || this.#queued[slot] === 0) continue;
      bucket[out++] = slot;
      bucket[out++] = bucket[i + 1];
    }
    bucket.length = out;
  }
}
