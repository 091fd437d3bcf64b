/**
 * Joining and leaving: a join through a contact with retries and backoff, a start through the
 * members a data dir remembers, a voluntary leave, and a join again after it as a new version.
 */
import { requestTimeoutMs, type Timing, timingDifferences } from "../core/config.ts";
import { type Address, isLive } from "../core/types.ts";
import { describe } from "../errors.ts";
import { request, RequestError } from "../net/client.ts";
import { nextVersion } from "./_data_dir.ts";
import type { Driver } from "./_driver.ts";
import { newCore } from "./options.ts";
import { contactsOf, StartError, stateWords } from "./options.ts";
import { formatAddress, parseAddress } from "../core/address.ts";

/** A node joining again after a leave tries at most this many members it knew, ... */
const rejoinContactsMax = 8;
/** ... each once per round, in this many rounds, ... */
const rejoinRounds = 4;
/** ... and gives up after this long, within the 30 s `member join` waits by default. */
const rejoinDeadlineMs = 20_000;
/** How long a start spends trying the members it remembers before it goes on without them. */
const rememberedDeadlineMs = 5000;
/** The refusal a joiner retries after. */
export const busyReason = "busy: too many joins at once";

/** A join through one contact that failed, and why. */
export class JoinError extends StartError {
  override name = "JoinError";
  readonly reason: string;

  constructor(contact: Address, reason: string) {
    super(`cannot join via ${contact}: ${reason}`);
    this.reason = reason;
  }
}

/** The wait before the `n`th round of retries (from 1): 0.25, 0.5, 1, 2 s, ... at most the cap. */
function joinBackoffMs(n: number, capMs = Infinity): number {
  return Math.min(250 * 2 ** (Math.min(n, 30) - 1), capMs);
}

/**
 * `--retry-join` waits at most this long between rounds: long enough not to hammer contacts that
 * are down, short enough that a cluster coming up together forms within seconds of its first.
 */
export const retryJoinBackoffMaxMs = 10_000;
/** A name is resolved within this long, or taken as it is (the system's resolver then tries). */
const resolveTimeoutMs = 2000;
/** A name's addresses tried at most, per round. */
const addressesPerNameMax = 16;

/** What a join is told when it asks for a name's addresses: IPv4 and IPv6 ones. */
export type Resolver = (name: string, type: "A" | "AAAA") => Promise<string[]>;

const dnsResolver: Resolver = (name, type) =>
  Deno.resolveDns(name, type, { signal: AbortSignal.timeout(resolveTimeoutMs) });

/**
 * The addresses to try for a contact: itself when its host is an IP address, otherwise every
 * address its name resolves to (IPv4 first), so that a name standing for several members (a DNS
 * round robin, a headless service) reaches one that is up. A name DNS does not know (one in
 * /etc/hosts, say) is left to the system's resolver as it is.
 */
export async function contactAddresses(
  contact: Address,
  resolve: Resolver = dnsResolver,
): Promise<Address[]> {
  const parsed = parseAddress(contact);
  if ("error" in parsed) return [contact];
  const host = parsed.host;
  if (host.startsWith("[") || /^[0-9.]+$/.test(host) || host === "localhost") return [contact];
  const found = await Promise.all(
    (["A", "AAAA"] as const).map((type) => resolve(host, type).catch(() => [] as string[])),
  );
  const addresses = [...new Set(found.flat())].slice(0, addressesPerNameMax)
    .map((ip) => formatAddress(ip, parsed.port));
  return addresses.length === 0 ? [contact] : addresses;
}

/** How a join goes on: how many rounds, and whether it ever gives up. */
export interface JoinRounds {
  /** Rounds before giving up (default: `joinAttempts`, 5). */
  readonly attempts?: number;
  /** Never gives up (`--retry-join`); rounds back off up to `retryJoinBackoffMaxMs`. */
  readonly forever?: boolean;
  /** The first round's number, for the backoff: a retry after earlier rounds waits as long. */
  readonly firstRound?: number;
  /** How long each request may wait for an answer. */
  readonly timeoutMs?: number;
  /** Names resolved with this (tests give their own). */
  readonly resolve?: Resolver;
}

/**
 * Joins through the first of `contacts` that answers: each round tries them in the order given
 * (a name's every address), and the rounds back off. A contact that refuses (the wrong key,
 * another cluster, a node that cannot take joins) is not asked again, unless the join goes on
 * forever. The core has the answer once it resolves; it names the contact that let it in.
 */
export async function join(
  driver: Driver,
  contacts: readonly Address[],
  rounds: JoinRounds = {},
): Promise<Address> {
  const attempts = rounds.attempts ?? driver.options.joinAttempts ?? 5;
  const firstRound = rounds.firstRound ?? 1;
  const timeoutMs = rounds.timeoutMs ?? requestTimeoutMs;
  /** The last failure of each contact, and whether it was a refusal no retry can change. */
  const failures = new Map<Address, { reason: string; final: boolean }>();
  for (let round = firstRound;; round++) {
    for (const contact of contacts) {
      if (failures.get(contact)?.final && !rounds.forever) continue;
      for (const address of await contactAddresses(contact, rounds.resolve)) {
        try {
          await joinOnce(driver, address, timeoutMs);
          return address;
        } catch (error) {
          if (error instanceof StartError && !(error instanceof JoinError)) throw error;
          failures.set(contact, failure(driver, error));
        }
      }
    }
    const open = contacts.filter((c) => !failures.get(c)?.final);
    const tried = round - firstRound + 1;
    if (!rounds.forever && (open.length === 0 || tried >= attempts)) break;
    const delayMs = joinBackoffMs(round, rounds.forever ? retryJoinBackoffMaxMs : Infinity);
    // One line a round, whatever the number of contacts: a join retried for hours stays readable.
    driver.log.warn("joining via {contacts} failed ({reasons}); retrying in {delayMs} ms", {
      contacts: contacts.length === 1 ? contacts[0] : `any of ${contacts.length} contacts`,
      reasons: contacts.length === 1
        ? failures.get(contacts[0])?.reason
        : [...failures].map(([contact, f]) => `${contact}: ${f.reason}`).join("; "),
      delayMs,
    });
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (driver.closed) throw new StartError("closed while joining");
  }
  throw joinFailure(contacts, failures, attempts);
}

/** One join request through `contact`; the core has the answer once it resolves. */
async function joinOnce(driver: Driver, contact: Address, timeoutMs: number): Promise<void> {
  const reply = await request(
    contact,
    driver.core.joinRequest(),
    timeoutMs,
    driver.keyring,
    undefined,
    driver.cluster,
  );
  if (reply.kind !== "join-response") throw new RequestError(`unexpected ${reply.kind}`);
  if (!reply.accepted && reply.reason === busyReason) throw new RequestError(busyReason);
  if (!reply.accepted) throw new JoinError(contact, reply.reason);
  driver.core.applyJoinResponse(driver.now(), reply, contact);
  driver.flush();
  warnOfTiming(driver, reply.timing, "this member's timing differs from that of {member}", contact);
}

/**
 * Logs a warning when the timing a member joined with, or answered a join with, differs from
 * this node's: `lead` names the member as `{member}`. Both sides of the join warn.
 */
export function warnOfTiming(
  driver: Driver,
  timing: Timing | undefined,
  lead: string,
  member?: Address,
): void {
  const differences = timingDifferences(driver.core.config, timing);
  if (differences.length === 0) return;
  driver.log.warn(
    `${lead} ({differences}): members judge one another by their own clocks, so one of them ` +
      "may be failed by mistake; run every member with the same settings",
    { member, differences: differences.join(", ") },
  );
}

/** Why a join request failed, and whether asking again could change it. */
function failure(driver: Driver, error: unknown): { reason: string; final: boolean } {
  // A refusal (the wrong key or none, another cluster) is an answer no retry can change.
  if (error instanceof JoinError) return { reason: error.reason, final: true };
  if (error instanceof RequestError && error.refused) return { reason: error.reason, final: true };
  let reason = error instanceof RequestError ? error.reason : describe(error);
  if (driver.keyring !== undefined && /closed without an answer/.test(reason)) {
    reason += " (does the contact hold this --key-file's key?)";
  }
  return { reason, final: false };
}

/** The one line a join that gave up ends with. */
function joinFailure(
  contacts: readonly Address[],
  failures: ReadonlyMap<Address, { reason: string; final: boolean }>,
  attempts: number,
): JoinError {
  const suffix = (f: { final: boolean }) =>
    f.final || attempts === 1 ? "" : ` after ${attempts} attempts`;
  if (contacts.length === 1) {
    const only = failures.get(contacts[0])!;
    return new JoinError(contacts[0], `${only.reason}${suffix(only)}`);
  }
  const each = contacts.map((c) => `${c}: ${failures.get(c)!.reason}${suffix(failures.get(c)!)}`);
  return new JoinError(`any of ${contacts.length} contacts`, `${each.join("; ")}`);
}

/**
 * Joins through the members its last run remembered, each tried once, within
 * `rememberedDeadlineMs`: a start must not wait long on machines that are gone. True once it is
 * a member again.
 */
export async function joinRemembered(
  driver: Driver,
  remembered: readonly Address[],
): Promise<boolean> {
  const deadlineMs = performance.now() + rememberedDeadlineMs;
  // In random order: the members of a cluster restarting together do not all ask the same one.
  const order = [...remembered];
  for (let i = order.length - 1; i > 0; i--) {
    const j = driver.random.below(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (const contact of order) {
    const leftMs = deadlineMs - performance.now();
    if (driver.closed || leftMs <= 0) break;
    try {
      await joinOnce(driver, contact, Math.min(requestTimeoutMs, leftMs));
      driver.log.info("joined the cluster of its last run via {contact} (from {path})", {
        contact,
        path: `${driver.options.dataDir}/members`,
      });
      return true;
    } catch (error) {
      // Gone, or not a member any more: the next one may be. Only a close stops the start.
      if (driver.closed) throw error;
      // Refused: the address now belongs to another cluster (or key), which must not be merged.
      if (error instanceof RequestError && error.refused) {
        driver.log.warn("not joining {contact}, remembered in {path}: {reason}", {
          contact,
          path: `${driver.options.dataDir}/members`,
          reason: error.reason,
        });
      }
    }
  }
  return false;
}

/** Leaves the group voluntarily; resolves once the leave has been announced. */
export async function leave(driver: Driver): Promise<void> {
  if (driver.state !== "member") return;
  await driver.leave();
  driver.log.info("left the group as {id}", { id: driver.id });
}

/**
 * Joins again after a leave, as a new version: through the original contact, or through any
 * member this node knew. Each is tried once per round, and the rounds back off; it gives up
 * within `rejoinDeadlineMs`, and the node then stays as it was, left, with the list it had.
 */
export async function rejoin(driver: Driver): Promise<void> {
  if (driver.state !== "left") {
    throw new Error(`cannot join: this node is ${stateWords[driver.state]}`);
  }
  const given = contactsOf(driver.options);
  const known = driver.core.members().filter((m) => isLive(m.status)).map((m) => m.address);
  const contacts = [...given, ...known.filter((a) => !given.includes(a))].slice(
    0,
    rejoinContactsMax,
  );
  const version = nextVersion(driver.options.dataDir);
  // The new version says what the last one said: tags set at run time outlive a leave.
  const undo = driver.renew(newCore(driver.options, driver.address, version, driver.core.tags));
  if (contacts.length === 0) {
    // It knew nobody: it starts a cluster of its own again.
    driver.becomeMember();
    return;
  }
  const deadlineMs = performance.now() + rejoinDeadlineMs;
  const failures = new Map<Address, string>();
  for (let round = 0; round < rejoinRounds && !driver.closed; round++) {
    if (round > 0) await new Promise((resolve) => setTimeout(resolve, joinBackoffMs(round)));
    for (const contact of contacts) {
      if (driver.closed || performance.now() >= deadlineMs) break;
      try {
        await joinOnce(driver, contact, requestTimeoutMs);
        driver.becomeMember();
        driver.log.info("joined the group again as {id} via {contact}, {listed}", {
          id: driver.id,
          contact,
          listed: listed(driver.core.liveCount),
        });
        return;
      } catch (error) {
        failures.set(
          contact,
          error instanceof JoinError || error instanceof RequestError
            ? error.reason
            : describe(error),
        );
      }
    }
  }
  // Nothing joined: the node is left as before, with its old entry and list, not half-joined.
  undo();
  throw new Error(rejoinFailure(failures));
}

/** How many members a node lists, in words. */
export function listed(members: number): string {
  return `${members} member${members === 1 ? "" : "s"} listed`;
}

/** Why a join again failed, contact by contact (the first few). */
function rejoinFailure(failures: ReadonlyMap<Address, string>): string {
  const shown = 3;
  const each = [...failures].slice(0, shown).map(([contact, why]) => `${contact}: ${why}`);
  if (failures.size > shown) each.push(`and ${failures.size - shown} more`);
  return failures.size === 1
    ? `cannot join via ${each[0]}`
    : `cannot join via any of ${failures.size} members (${each.join("; ")})`;
}
