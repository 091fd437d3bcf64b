/**
 * One view of a node: its mechanisms, built together as one version of it. A node has one view
 * from its start; it builds a new one when, on the smaller side of a healed cut, it starts its
 * list afresh (`core.ts`), as a restarted process would.
 */
import type { AddressBook } from "./address_book.ts";
import { assert } from "./assert.ts";
import type { Config } from "./config.ts";
import { Datagrams } from "./datagram.ts";
import { Endings } from "./ending.ts";
import { ListExchange } from "./list_exchange.ts";
import { LocalHealth } from "./local_health.ts";
import { MemberTable } from "./member_table.ts";
import { Merger } from "./merge.ts";
import { News } from "./news.ts";
import type { CoreCounters, Outputs } from "./outputs.ts";
import type { Random } from "./random.ts";
import { Recovery } from "./recovery.ts";
import { Rounds } from "./round.ts";
import { Self } from "./self.ts";
import { SettingsSwitch } from "./settings.ts";
import { Suspicion } from "./suspicion.ts";
import type { Address, Settings, Tags } from "./types.ts";
import { UserEvents } from "./user_events.ts";
import { Watch } from "./watch.ts";

/** What every view of a node shares: its address and settings, and what outlives a view. */
export interface ViewParts {
  readonly config: Config;
  readonly address: Address;
  readonly book: AddressBook;
  readonly random: Random;
  readonly counters: CoreCounters;
  readonly outputs: Outputs;
  /** How many members to make room for at once. */
  readonly membersExpected: number;
}

/** The mechanisms of one version of a node, each taking the parts below it. */
export class View {
  readonly table: MemberTable;
  readonly news: News;
  readonly self: Self;
  readonly watch: Watch;
  readonly health: LocalHealth;
  readonly settings: SettingsSwitch;
  readonly datagrams: Datagrams;
  readonly endings: Endings;
  readonly suspicion: Suspicion;
  readonly recovery: Recovery;
  readonly merger: Merger;
  readonly lists: ListExchange;
  readonly rounds: Rounds;
  readonly userEvents: UserEvents;

  /**
   * Builds a view as `version`, with the cluster's settings (or the switch a node starts a cluster
   * with), and logs this version's JOIN. `origin` is the process's first version and its time,
   * for a view started afresh: versions taken later count from it.
   */
  constructor(
    parts: ViewParts,
    nowMs: number,
    version: number,
    settingsNow: Settings | boolean | undefined,
    origin?: { readonly version: number; readonly atMs: number },
    tags?: Tags,
  ) {
    const { config, address, book, counters, outputs, random } = parts;
    const slot = book.intern(address);
    assert(slot >= 0, "address book full");
    const capacity = Math.min(book.capacity, Math.max(16, book.extent, parts.membersExpected));
    const news = this.news = new News(capacity, config.retransmitMult);
    const table = this.table = new MemberTable(book, capacity, (c) => news.grow(c));
    const watch = this.watch = new Watch(table, config);
    const self = this.self = new Self(
      {
        address,
        slot,
        version,
        nowMs,
        ...(origin === undefined ? {} : { origin }),
        ...(tags === undefined ? {} : { tags }),
      },
      { table, watch, news, outputs, counters },
    );
    watch.setCenter(address, version);
    const settings = this.settings = new SettingsSwitch(settingsNow, self, outputs);
    const health = this.health = new LocalHealth(table, watch, config, counters, nowMs);
    const userEvents = this.userEvents = new UserEvents({ table, self, news, outputs });
    const base = {
      config,
      table,
      watch,
      health,
      self,
      news,
      settings,
      outputs,
      counters,
      random,
      userEvents,
    };
    const datagrams = this.datagrams = new Datagrams(base);
    const endings = this.endings = new Endings({ ...base, datagrams }, nowMs);
    const suspicion = this.suspicion = new Suspicion({ ...base, datagrams, endings });
    const recovery = this.recovery = new Recovery({ ...base, datagrams, endings });
    // A view started afresh takes no failure news for a list interval (`merge.ts`).
    const merger = this.merger = new Merger(
      { ...base, datagrams, endings, suspicion, recovery },
      origin !== undefined ? nowMs + config.syncIntervalMs : -Infinity,
    );
    // Nor does it hold silence against anyone for that interval: whatever made the others fail
    // this node (a flapping link, a cut) may still be going on, and its neighbours hear of its new
    // version only as its heartbeats reach them; a FAIL it concluded meanwhile would spread.
    if (origin !== undefined) watch.trustFrom(nowMs + config.syncIntervalMs);
    this.lists = new ListExchange({ ...base, datagrams, endings, recovery, merger });
    this.rounds = new Rounds({ ...base, datagrams }, nowMs);
    outputs.event(nowMs, "JOIN", address, version, 0, "self");
  }
}
