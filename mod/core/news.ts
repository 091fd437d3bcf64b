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

/** News items that justify one more random gossip in a round, up to `gossipFanoutMax`. */
export const newsPerExtraGossip = 20;
/** During a wave of joins, joins are retransmitted this many times less than other news. */
const joinNewsDivisor = 4;
/** Joins waiting to be sent beyond which a node takes it that a wave of joins is on. */
const joinWaveNews = 2 * newsPerExtraGossip;

/**
 * This node's news, in two queues: changes of state (suspicions, refutations, failures, leaves)
 * and joins, which are sent as often as other news except during a wave of joins.
 */
export class News {
  /** News of suspicions, refutations, failures and leaves. */
  readonly changes: NewsQueue;
  /** News of joins. */
  readonly joins: NewsQueue;
  readonly #retransmitMult: number;

  constructor(capacity: number, retransmitMult: number) {
    this.changes = new NewsQueue(capacity);
    this.joins = new NewsQueue(capacity);
    this.#retransmitMult = retransmitMult;
  }

  /** Items waiting in both queues. */
  get size(): number {
    return this.changes.size + this.joins.size;
  }

  /** Makes room for slots below `capacity`. */
  grow(capacity: number): void {
    this.changes.grow(capacity);
    this.joins.grow(capacity);
  }

  /** Queues a member's entry as news. */
  announce(slot: number): void {
    this.joins.delete(slot);
    this.changes.add(slot);
  }

  /** Queues a new member's entry as news of a join. */
  announceJoin(slot: number): void {
    this.changes.delete(slot);
    this.joins.add(slot);
  }

  /** Drops whatever news of the member waits. */
  forget(slot: number): void {
    this.changes.delete(slot);
    this.joins.delete(slot);
  }

  /** The retransmit limit for news among `live` members (this node aside). */
  limit(live: number): number {
    return this.#retransmitMult * Math.ceil(Math.log10(live + 2));
  }

  /**
   * The retransmit limit for joins: that of other news, so that a join reaches every member by
   * gossip (a member that misses it asks for a whole list later, which costs far more); during a
   * wave of joins, a fraction of it, so that the wave does not swamp the cluster with its news.
   */
  joinLimit(limit: number): number {
    return this.joins.size > joinWaveNews ? Math.ceil(limit / joinNewsDivisor) : limit;
  }
}
