/**
 * Named sets of settings an operator starts from (`--profile NAME`, or `profile = "NAME"` in a
 * config file), as memberlist has its LAN, WAN and local configurations. A profile is a whole
 * `Config`; a config file and flags then change single fields of it.
 *
 * `lan` is exactly `defaultConfig`. The others are written as the fields they change, each with
 * why, so that what a profile trades is read here and nowhere else.
 */
import { type Config, defaultConfig } from "./config.ts";

/** The names `--profile` takes. */
export const profileNames = ["lan", "wan", "lean"] as const;

/** A profile's name. */
export type ProfileName = typeof profileNames[number];

/** The profile a node runs with when none is named. */
export const defaultProfile: ProfileName = "lan";

/**
 * For round trips up to 300 ms and their jitter: every timeout three times the LAN's, and
 * heartbeats three times rarer, so that a datagram late by a few hundred ms, or a probe that
 * takes three round trips over TCP, never makes a member look silent. Detection takes about
 * three times as long: a crash is failed by its neighbours within about 7 s (`suspectAfterMs +
 * suspectTimeoutMs`), everywhere within about 10 s.
 */
const wan: Partial<Config> = {
  /** Three times the LAN's 200 ms: the same number of heartbeats per timeout. */
  gossipIntervalMs: 600,
  /** Four intervals of silence, as on a LAN, before the TCP probe. */
  probeAfterMs: 2400,
  /** A suspicion interval before `suspectAfterMs`, so a node cut off concludes nothing. */
  isolatedAfterMs: 2400,
  /** Time for a larger side's news of a cut, at three times the LAN's pace, to spread first. */
  selfDoubtMs: 3000,
  /** Six intervals, as on a LAN. */
  suspectAfterMs: 3600,
  /** Time for the suspect to hear of it and refute across two slow round trips. */
  suspectTimeoutMs: 3000,
  /** Suspicion off: as long as suspecting and failing with it on. */
  failAfterMs: 6600,
  /** Failed members stay listed three times longer: a slow link sees them fail later. */
  cleanupAfterMs: 90_000,
  /** Reconnect attempts to failed addresses at the new interval's pace. */
  reconnectIntervalMs: 3000,
  /** A list exchange only when gossip has had three times longer to bring the news. */
  syncAfterMs: 3000,
  /** And at most one per 9 s: an exchange costs more round trips on a slow link. */
  syncIntervalMs: 9000,
  /** A tick is due every 600 ms: only a longer gap means the process itself was stalled. */
  stallThresholdMs: 1600,
};

/**
 * For links that cost money, where bytes matter more than the last second of detection: a
 * heartbeat every 1.4 s to one neighbour on each side, and a full gossip that carries the news and
 * one entry of the rest, not a slice of the list. Still within the course's bounds in the
 * simulator (a crash failed by one member within 3 s and by all within 6 s, no false positive at
 * 30% loss); at rest it sends about a fortieth of the LAN profile's bytes.
 */
const lean: Partial<Config> = {
  /** Seven times the LAN's: the round's three datagrams are most of what a node sends. */
  gossipIntervalMs: 1400,
  /** One neighbour on each side: two heartbeats a round, and two members watch each member. */
  ringNeighbors: 1,
  /**
   * At rest a full gossip every other round: a fifth fewer bytes, and repair can wait (after a
   * third of 50 members is cut off for 10 s, all agree 10 to 15 s after the heal, against 7 to
   * 14 s with a full gossip every round).
   */
  quietGossipIntervalMs: 2800,
  /** The probe comes as soon as one heartbeat is late, since each carries so much time. */
  probeAfterMs: 1500,
  /** Just past one interval: one lost round from everyone is not yet isolation. */
  isolatedAfterMs: 1500,
  /**
   * Off: with one neighbour a side, both silent at once is as often a crash beside a cut as a
   * cut. Tried at 700, 1,400 and 2,800 ms, the explorer failed 9 or 10 of seeds 1 to 150 under
   * `lean` (9 without), other seeds each time.
   */
  selfDoubtMs: 0,
  /**
   * On: with two watchers a member, a cut's smaller side failed its neighbours on the larger one
   * as the larger side failed it, and spread that as the cut healed. The explorer under `lean`,
   * seeds 1 to 450: 5 broken, against 29 without. Not under `lan` or `wan`, where it broke more
   * seeds than it mended (`lan`, seeds 1 to 400: 2 against 0; `wan`, 1 to 200: 2 against 1).
   */
  helperQuorum: 1,
  /** A probe's answer has 200 ms to end the silence before suspicion. */
  suspectAfterMs: 1700,
  /** With `suspectAfterMs`, 2.3 s from the last heartbeat to a failure: the 3 s bound's margin. */
  suspectTimeoutMs: 600,
  /** Suspicion off: as long as suspecting and failing with it on. */
  failAfterMs: 2300,
  /** Background repair only: the list is exchanged whole when a node lacks members. */
  sliceEntriesMax: 1,
  /** News rides the heartbeats too, but a few items at a time. */
  heartbeatNewsMax: 4,
  /** A list exchange (TCP, the whole list) when gossip has had a few rounds to bring the news. */
  syncAfterMs: 3000,
  /** And at most one per 10 s. */
  syncIntervalMs: 10_000,
  /** Reconnect gossip to failed addresses at a fifth of the LAN's pace. */
  reconnectIntervalMs: 5000,
  /** A tick is due every 1.4 s: only a longer gap means the process itself was stalled. */
  stallThresholdMs: 2400,
};

const changes: Readonly<Record<ProfileName, Partial<Config>>> = { lan: {}, wan, lean };

/** True when `name` is a profile's name. */
export function isProfileName(name: string): name is ProfileName {
  return (profileNames as readonly string[]).includes(name);
}

/** The whole configuration of profile `name`: the defaults with the profile's changes. */
export function profileConfig(name: ProfileName): Config {
  return { ...defaultConfig, ...changes[name] };
}
