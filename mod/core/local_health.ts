/**
 * Local health: whether this node hears from anyone at all.
 *
 * A node that has heard from no member for `isolatedAfterMs` is isolated: its link is down, every
 * datagram to it is dropped, or everyone else is gone. From where it stands a cut and the crash
 * of every other member look alike, and were it to fail its silent neighbours, a cut of a few
 * seconds would end with it telling the whole cluster that healthy members failed. So while
 * isolated it concludes nothing from silence: a silent neighbour is suspected and failed only on
 * proof that it is gone, a probe whose connection was refused (the host answered, and no process
 * holds the port). When it hears from a member again, its silence clocks restart, as after a
 * stall.
 */
import type { MemberTable } from "./member_table.ts";
import type { Watch } from "./watch.ts";

/** Refusals remembered at most: one per neighbour is all that is ever needed. */
const refusalsMax = 256;

/** Whether this node hears from anyone, and which silent neighbours are proven gone. */
export class LocalHealth {
  readonly #watch: Watch;
  readonly #table: MemberTable;
  readonly #isolatedAfterMs: number;
  #lastHeardMs: number;
  /**
   * Neighbours whose probe was refused, and the version refused: gone for good, since a process
   * that starts again on the port is a new version.
   */
  readonly #refused = new Map<number, number>();

  constructor(table: MemberTable, watch: Watch, isolatedAfterMs: number, nowMs: number) {
    this.#table = table;
    this.#watch = watch;
    this.#isolatedAfterMs = isolatedAfterMs;
    this.#lastHeardMs = nowMs;
  }

  /** When this node is, or will be, isolated unless it hears from a member before. */
  get isolatedFromMs(): number {
    return this.#lastHeardMs + this.#isolatedAfterMs;
  }

  /** True when the node is isolated at `nowMs`. */
  isolated(nowMs: number): boolean {
    return nowMs >= this.isolatedFromMs;
  }

  /** Notes a message from another member; one that ends an isolation restarts the clocks. */
  heard(nowMs: number): void {
    if (this.isolated(nowMs)) this.#watch.trustFrom(nowMs);
    this.#lastHeardMs = nowMs;
  }

  /** Notes that a probe of the member at `slot` was refused. */
  refused(slot: number): void {
    if (this.#refused.size >= refusalsMax) this.#refused.clear();
    this.#refused.set(slot, this.#table.version(slot));
  }

  /** True when the member at `slot`, at the version listed, was proven gone. */
  provenGone(slot: number): boolean {
    const version = this.#refused.get(slot);
    return version !== undefined && version === this.#table.version(slot);
  }

  /**
   * True when silence of the neighbour at `slot` that ran out at `dueMs` may be acted on: it ran
   * out before this node was isolated, or the neighbour was proven gone.
   */
  concludes(slot: number, dueMs: number): boolean {
    return dueMs < this.isolatedFromMs || this.provenGone(slot);
  }
}
