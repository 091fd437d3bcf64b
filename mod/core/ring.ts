/**
 * The ring that decides who watches whom. Members are placed on a 32-bit ring by a hash of their
 * id; a node's neighbours are the `k` nearest live members on each side. A node sends its
 * heartbeat straight to its neighbours every round and applies silence timeouts only to them, so
 * each member is watched by about `2k` others whatever the cluster's size. As long as the views
 * agree, the relation is symmetric: if X watches Y, Y sends to X.
 */

/**
 * FNV-1a over the address's characters and the version's two 32-bit halves, then a finalizer so
 * that near ids land far apart.
 */
export function ringHash(address: string, version: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < address.length; i++) {
    h ^= address.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= version >>> 0;
  h = Math.imul(h, 0x01000193);
  h ^= Math.floor(version / 0x1_0000_0000) >>> 0;
  h = Math.imul(h, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The `k` nearest members on each side of one point, kept up to date as members come and go. The
 * `k` next beyond them are kept too: they are the neighbours' own neighbours on the far side, the
 * members that watch a neighbour alongside this node (`farWatchers`).
 */
export class Ring {
  readonly k: number;
  #center = 0;
  /** Nearest first, as [slot, distance] pairs flattened: `2k` at most, the first `k` neighbours. */
  #after: number[] = [];
  #before: number[] = [];
  #members = new Set<number>();
  #changed = true;

  constructor(k: number) {
    this.k = k;
  }

  /** Where this node sits; changing it invalidates the neighbourhood. */
  setCenter(hash: number): void {
    this.#center = hash;
    this.#after.length = 0;
    this.#before.length = 0;
    this.#changed = true;
  }

  /** Offers a live member; returns true if it became a neighbour. */
  offer(slot: number, hash: number): boolean {
    const after = (hash - this.#center) >>> 0;
    const before = (this.#center - hash) >>> 0;
    const a = this.#insert(this.#after, slot, after);
    const b = this.#insert(this.#before, slot, before);
    if (a || b) this.#changed = true;
    return a || b;
  }

  /** True when the member is one of the neighbours. */
  isNeighbor(slot: number): boolean {
    return this.neighbors().has(slot);
  }

  /**
   * Tells the ring a member is no longer live. Returns true when it was a neighbour or one beyond:
   * the caller must then rebuild with {@linkcode rebuild}, since the next-nearest member is
   * unknown here.
   */
  lose(slot: number): boolean {
    return this.#listed(slot);
  }

  /** Recomputes the neighbourhood from every live member. */
  rebuild(live: Iterable<[slot: number, hash: number]>): void {
    this.#after.length = 0;
    this.#before.length = 0;
    for (const [slot, hash] of live) {
      this.#insert(this.#after, slot, (hash - this.#center) >>> 0);
      this.#insert(this.#before, slot, (this.#center - hash) >>> 0);
    }
    this.#changed = true;
  }

  /** The neighbours, each once; recomputed only after a change. */
  neighbors(): ReadonlySet<number> {
    if (this.#changed) this.#recompute();
    return this.#members;
  }

  /**
   * The members on the far side of neighbour `slot` that are most likely its own neighbours: they
   * watch it too, so a copy of its heartbeat newer than this node's shows it alive when only the
   * link between this node and it is down. This node's own neighbours are left out (they relay
   * the neighbour's heartbeats already). Nearest first; empty for a member not a neighbour.
   */
  farWatchers(slot: number): number[] {
    const far: number[] = [];
    for (const list of [this.#after, this.#before]) {
      const at = list.indexOf(slot);
      if (at < 0 || at % 2 !== 0 || at / 2 >= this.k) continue;
      for (let i = at + 2; i < list.length && i <= at + 2 * this.k; i += 2) far.push(list[i]);
    }
    const neighbors = this.neighbors();
    return [...new Set(far)].filter((other) => other !== slot && !neighbors.has(other));
  }

  /**
   * The neighbours that are most likely the given neighbour's own neighbours too: those within
   * `k` ring positions of it. When the two sides overlap (a small cluster), all of them.
   */
  sharedWith(slot: number): readonly number[] {
    if (this.#changed) this.#recompute();
    return this.#shared.get(slot) ?? [];
  }

  #shared = new Map<number, number[]>();

  #recompute(): void {
    // The first k pairs of each side are the neighbours.
    const after = this.#after.slice(0, 2 * this.k);
    const before = this.#before.slice(0, 2 * this.k);
    const next = new Set<number>();
    for (let i = 0; i < after.length; i += 2) next.add(after[i]);
    for (let i = 0; i < before.length; i += 2) next.add(before[i]);
    this.#members = next;
    this.#changed = false;
    this.#shared = new Map();
    const overlap = next.size < after.length / 2 + before.length / 2;
    // Positions around this node: before[0] is -1, after[0] is +1.
    const positioned: [number, number][] = [];
    for (let i = 0; i < before.length; i += 2) positioned.push([before[i], -1 - i / 2]);
    for (let i = 0; i < after.length; i += 2) positioned.push([after[i], 1 + i / 2]);
    for (const [slot, position] of positioned) {
      const shared = overlap ? [...next] : positioned
        .filter(([other, p]) => other !== slot && Math.abs(p - position) <= this.k)
        .map(([other]) => other);
      this.#shared.set(slot, shared.filter((other) => other !== slot));
    }
  }

  #listed(slot: number): boolean {
    for (let i = 0; i < this.#after.length; i += 2) if (this.#after[i] === slot) return true;
    for (let i = 0; i < this.#before.length; i += 2) if (this.#before[i] === slot) return true;
    return false;
  }

  /**
   * Inserts by distance into a nearest-first list of at most 2k; true if it made the first k (the
   * neighbours changed).
   */
  #insert(list: number[], slot: number, distance: number): boolean {
    const kept = 2 * this.k;
    const count = list.length / 2;
    if (count >= kept && distance >= list[list.length - 1]) return false;
    let at = count;
    while (at > 0 && list[2 * at - 1] > distance) at--;
    list.splice(2 * at, 0, slot, distance);
    if (list.length > 2 * kept) list.length = 2 * kept;
    return at < this.k;
  }
}
