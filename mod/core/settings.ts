/**
 * The cluster-wide settings (today the suspicion switch), carried by every gossip with an epoch:
 * a switch flipped anywhere raises the epoch, and the latest epoch wins everywhere.
 */
import type { Outputs } from "./outputs.ts";
import type { Self } from "./self.ts";
import type { Address, Settings, Via } from "./types.ts";
import { uint32Max } from "./wire_size.ts";

/**
 * True when settings epoch `a` is later than `b`. Epochs count round past the wire's widest, as
 * serial numbers do (RFC 1982): `a` is later when it is less than half the range ahead. A cluster
 * flips its switch far fewer than 2 billion times between two members hearing of each other.
 */
export function epochNewer(a: number, b: number): boolean {
  const ahead = (a - b + uint32Max + 1) % (uint32Max + 1);
  return ahead !== 0 && ahead < 2 ** 31;
}

/** The cluster's settings as this node knows them. */
export class SettingsSwitch {
  #settings: Settings;
  readonly #self: Self;
  readonly #outputs: Outputs;

  /**
   * `initial` is the switch this node starts a cluster with (a joiner takes the cluster's), or
   * the cluster's settings as they stand, for a view started afresh.
   */
  constructor(initial: boolean | Settings | undefined, self: Self, outputs: Outputs) {
    this.#settings = typeof initial === "object"
      ? initial
      : initial === false
      ? { epoch: 1, suspicion: false }
      : { epoch: 0, suspicion: initial ?? true };
    this.#self = self;
    this.#outputs = outputs;
  }

  /** The settings in force. */
  get current(): Settings {
    return this.#settings;
  }

  /** True while suspicion is on. */
  get suspicion(): boolean {
    return this.#settings.suspicion;
  }

  /** Takes settings a gossip or a list carried, when they are later than these. */
  merge(nowMs: number, settings: Settings, from: Address): void {
    const mine = this.#settings;
    if (
      epochNewer(settings.epoch, mine.epoch) ||
      (settings.epoch === mine.epoch && settings.suspicion && !mine.suspicion)
    ) {
      this.#adopt(nowMs, settings, "gossip", from);
    }
  }

  /**
   * Takes the settings a join was answered with, unless gossip has already brought later ones (a
   * join retried after a slow first answer).
   */
  mergeJoined(nowMs: number, settings: Settings, from: Address): void {
    if (!epochNewer(this.#settings.epoch, settings.epoch)) {
      this.#adopt(nowMs, settings, "list", from);
    }
  }

  /** Switches suspicion on or off for the whole cluster. */
  flip(nowMs: number, enabled: boolean): void {
    // The epoch rises even when the value here already matches: a switch the other way, made
    // elsewhere a moment ago and not yet heard of here, must not win over this later one. It
    // counts round past the widest (see `epochNewer`), so a forged widest epoch locks nothing.
    this.#adopt(
      nowMs,
      { epoch: (this.#settings.epoch + 1) % (uint32Max + 1), suspicion: enabled },
      "self",
    );
  }

  /** Takes the cluster's settings; the event log says so only when the switch itself flips. */
  #adopt(nowMs: number, settings: Settings, via: Via, from?: Address): void {
    const flipped = settings.suspicion !== this.#settings.suspicion;
    this.#settings = { epoch: settings.epoch, suspicion: settings.suspicion };
    if (flipped) this.#outputs.settings(nowMs, this.#self, settings.suspicion, via, from);
  }
}
