/**
 * The gossip round, every `gossipIntervalMs`: a node bumps its heartbeat and sends it straight to
 * its ring neighbours, with a few items of news, and sends a full gossip to `gossipFanout` random
 * members (`newsFanout` while news of a change waits, more while news is backed up, up to
 * `gossipFanoutMax`). At rest (no news waiting, and every member heard lately counts as many
 * members as this node lists) the full gossip goes only every `quietGossipIntervalMs`: it is
 * repair then, and the heartbeats carry the detection. While leaving, it announces the leave to
 * its neighbours and a few random members for `leaveRounds` rounds, then goes quiet.
 */
import type { Config } from "./config.ts";
import type { Datagrams } from "./datagram.ts";
import type { MemberTable } from "./member_table.ts";
import { type News, newsPerExtraGossip } from "./news.ts";
import type { Random } from "./random.ts";
import type { Self } from "./self.ts";
import type { UserEvents } from "./user_events.ts";
import type { Watch } from "./watch.ts";

/** The parts a round reads and sends through. */
export interface RoundParts {
  readonly config: Config;
  readonly table: MemberTable;
  readonly self: Self;
  readonly watch: Watch;
  readonly news: News;
  readonly datagrams: Datagrams;
  readonly random: Random;
  readonly userEvents: UserEvents;
}

/** When the next round is due, and what it sends. */
export class Rounds {
  readonly #p: RoundParts;
  /** When the next round is due. */
  nextMs: number;
  /** When a full gossip is next due at rest. */
  #quietGossipMs: number;
  /** Until when this node is not at rest: a member it heard counted otherwise. */
  #unsettledUntilMs = -Infinity;

  constructor(parts: RoundParts, nowMs: number) {
    this.#p = parts;
    this.nextMs = nowMs;
    this.#quietGossipMs = nowMs;
  }

  /** Runs the round if it is due, and sets the next one an interval on. */
  tick(nowMs: number): void {
    if (nowMs < this.nextMs) return;
    const dueMs = this.nextMs;
    this.#p.datagrams.round(() => this.#sends(nowMs, dueMs));
    const intervalMs = this.#p.config.gossipIntervalMs;
    const next = this.nextMs + intervalMs;
    this.nextMs = next > nowMs ? next : nowMs + intervalMs;
  }

  /**
   * A member vouched for `members` members: where that is not this node's count, the lists
   * differ (news in flight, or a gap that only the rotating slice or a list exchange mends), so
   * the full gossip goes every round for `quietGossipIntervalMs` more. After a partition heals,
   * gossip of the members that came back as new versions is spread too thinly to reach everyone,
   * and the slice is what mends the rest.
   */
  countHeard(nowMs: number, members: number): void {
    if (members !== this.#p.self.vouchedCount) {
      this.#unsettledUntilMs = nowMs + this.#p.config.quietGossipIntervalMs;
    }
  }

  #sends(nowMs: number, dueMs: number): void {
    const { config, table, self, datagrams, random } = this.#p;
    self.heartbeat++;
    const neighbors = this.#p.watch.neighbors();
    const live = table.live;
    if (self.phase === "leaving") {
      const targets = new Set(neighbors);
      const extra = Math.min(live.size, config.gossipFanout * 2);
      for (let i = 0; i < extra * 4 && targets.size < neighbors.size + extra; i++) {
        targets.add(live.at(random.below(live.size)));
      }
      for (const slot of targets) datagrams.send(slot, false);
      self.leaveRoundsLeft--;
      if (self.leaveRoundsLeft <= 0) self.phase = "left";
      return;
    }
    for (const slot of neighbors) datagrams.send(slot, false);
    const news = this.#p.news;
    const atRest = news.size === 0 && !this.#p.userEvents.pending &&
      nowMs >= this.#unsettledUntilMs;
    if (atRest && nowMs < this.#quietGossipMs) return;
    // From when the round was due, not when it ran: a round run late must not make the next one
    // skip its gossip when the quiet interval is the round's.
    this.#quietGossipMs = dueMs + config.quietGossipIntervalMs;
    // A backlog of news (a wave of joins, say) is worked off with more random targets per round,
    // and news of a change is spread to `newsFanout` members a round while it waits.
    const extra = Math.min(
      config.gossipFanoutMax - config.gossipFanout,
      Math.floor(news.size / newsPerExtraGossip),
    );
    const wanted = Math.max(
      config.gossipFanout + Math.max(0, extra),
      news.changes.size > 0 ? config.newsFanout : 0,
    );
    const fanout = Math.min(wanted, live.size);
    if (fanout === live.size) {
      for (let i = 0; i < live.size; i++) datagrams.send(live.at(i), true);
    } else {
      const picked = new Set<number>();
      while (picked.size < fanout) picked.add(live.at(random.below(live.size)));
      for (const slot of picked) datagrams.send(slot, true);
    }
  }
}
