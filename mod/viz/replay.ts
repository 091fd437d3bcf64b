/**
 * The replay engine: every node's view of every member at any moment of a run, from the events
 * in time order. It runs in the page (its source is embedded as it is, so it imports nothing and
 * uses nothing outside itself) and in the tests.
 */

/** The events of a run, in columns, sorted by time. */
export interface ReplayData {
  /** Member ids (`host:port#version`), the index space of `member` and `node`. */
  readonly members: readonly string[];
  /** Milliseconds since the run's first event. */
  readonly t: ArrayLike<number>;
  /** Index into {@linkcode Replay.kinds}. */
  readonly kind: ArrayLike<number>;
  /** Whom each event is about. */
  readonly member: ArrayLike<number>;
  /** Who logged it. */
  readonly node: ArrayLike<number>;
}

/** Steps through a run, keeping every node's list. */
export class Replay {
  /** Event kinds, by index. */
  static readonly kinds = ["JOIN", "LEAVE", "SUSPECT", "REFUTE", "FAIL", "REMOVE", "SETTINGS"];
  /** Statuses, by index; 0 means not listed. */
  static readonly statuses = ["unknown", "alive", "suspect", "failed", "left", "removed"];

  readonly data: ReplayData;
  readonly size: number;
  readonly events: number;
  /** The view of node o of member m: `view[o * size + m]`, a status index. */
  #view: Uint8Array;
  /** How many running nodes hold member m in status s: `counts[m * 6 + s]`. */
  #counts: Int32Array;
  /** The index of each node's last line, -1 for none. */
  #lastOwn: Int32Array;
  /** 1 for a node that has ended: listed as failed, left or removed after its last line. */
  #ended: Uint8Array;
  #next = 0;
  #now = -1;

  constructor(data: ReplayData) {
    this.data = data;
    this.size = data.members.length;
    this.events = data.t.length;
    this.#view = new Uint8Array(this.size * this.size);
    this.#counts = new Int32Array(this.size * 6);
    this.#lastOwn = new Int32Array(this.size).fill(-1);
    for (let i = 0; i < this.events; i++) this.#lastOwn[data.node[i]] = i;
    this.#ended = new Uint8Array(this.size);
  }

  /** The run's length in ms. */
  get durationMs(): number {
    return this.events === 0 ? 0 : this.data.t[this.events - 1];
  }

  /** The moment shown, in ms since the first event. */
  get nowMs(): number {
    return this.#now;
  }

  /** Events applied so far (the index of the next one). */
  get applied(): number {
    return this.#next;
  }

  /** Moves to `ms`: every event at or before it applied, none after. */
  seek(ms: number): void {
    if (ms < this.#now) {
      this.#view.fill(0);
      this.#counts.fill(0);
      this.#ended.fill(0);
      this.#next = 0;
    }
    const t = this.data.t;
    while (this.#next < this.events && t[this.#next] <= ms) this.#apply(this.#next++);
    this.#now = ms;
  }

  #apply(i: number): void {
    const kind = Replay.kinds[this.data.kind[i]];
    const status = kind === "JOIN" || kind === "REFUTE"
      ? 1
      : kind === "SUSPECT"
      ? 2
      : kind === "FAIL"
      ? 3
      : kind === "LEAVE"
      ? 4
      : kind === "REMOVE"
      ? 5
      : -1;
    if (status < 0) return;
    const m = this.data.member[i];
    const o = this.data.node[i];
    const at = o * this.size + m;
    const old = this.#view[at];
    if (old !== status) {
      this.#view[at] = status;
      if (this.#ended[o] === 0) {
        this.#counts[m * 6 + old]--;
        this.#counts[m * 6 + status]++;
      }
    }
    // Listed as ended after its last line, it has stopped: what its list still holds (itself
    // alive, the members it saw last) counts no more. One failed by mistake logs on, and counts.
    if (status >= 3 && o !== m && this.#ended[m] === 0 && i > this.#lastOwn[m]) {
      this.#ended[m] = 1;
      for (let k = 0; k < this.size; k++) this.#counts[k * 6 + this.#view[m * this.size + k]]--;
    }
  }

  /** How node `o` lists member `m` now (a status index). */
  viewOf(o: number, m: number): number {
    return this.#view[o * this.size + m];
  }

  /** How many running nodes list member `m` in status `s` now, itself included. */
  count(m: number, s: number): number {
    return this.#counts[m * 6 + s];
  }

  /** How many running nodes other than `m` list it in status `s` now. */
  countByOthers(m: number, s: number): number {
    const self = this.#ended[m] === 0 && this.viewOf(m, m) === s ? 1 : 0;
    return this.count(m, s) - self;
  }

  /** True once node `o` has stopped: listed as failed, left or removed after its last line. */
  hasEnded(o: number): boolean {
    return this.#ended[o] === 1;
  }

  /**
   * Member `m` as drawn: failed once any running node has failed it, else left, suspected, alive,
   * in that order; removed once every running node that listed it has removed it; unknown before
   * anyone lists it. The lists of nodes that have stopped do not count.
   */
  statusOf(m: number): number {
    for (const s of [3, 4, 2, 1, 5]) if (this.count(m, s) > 0) return s;
    return 0;
  }

  /** Node `o`'s membership list now: [member index, status index] for each member it lists. */
  listOf(o: number): [number, number][] {
    const list: [number, number][] = [];
    for (let m = 0; m < this.size; m++) {
      const s = this.#view[o * this.size + m];
      if (s !== 0 && s !== 5 && m !== o) list.push([m, s]);
    }
    return list;
  }

  /** Indexes of the events in (nowMs - windowMs, nowMs], oldest first. */
  recent(windowMs: number): number[] {
    const t = this.data.t;
    const found: number[] = [];
    for (let i = this.#next - 1; i >= 0 && t[i] > this.#now - windowMs; i--) found.push(i);
    return found.reverse();
  }
}
