/**
 * Joining and leaving: a join through a contact with retries and backoff, a start through the
 * members a data dir remembers, a voluntary leave, and a join again after it as a new version.
 */
import { requestTimeoutMs } from "../core/config.ts";
import { type Address, isLive } from "../core/types.ts";
import { describe } from "../errors.ts";
import { request, RequestError } from "../net/client.ts";
import { nextVersion } from "./_data_dir.ts";
import { type Driver, newCore } from "./_driver.ts";
import { StartError, stateWords } from "./options.ts";

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

/** The wait before the `n`th retry of a join (from 1): 0.25, 0.5, 1, 2 s. */
function joinBackoffMs(n: number): number {
  return 250 * 2 ** (n - 1);
}

/** Joins through `contact`, retrying with backoff; the core has the answer once it resolves. */
export async function join(
  driver: Driver,
  contact: Address,
  attempts = driver.options.joinAttempts ?? 5,
  timeoutMs = requestTimeoutMs,
): Promise<void> {
  let last = "";
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const reply = await request(contact, driver.core.joinRequest(), timeoutMs, driver.keyring);
      if (reply.kind !== "join-response") throw new RequestError(`unexpected ${reply.kind}`);
      if (!reply.accepted && reply.reason === busyReason) throw new RequestError(busyReason);
      if (!reply.accepted) throw new JoinError(contact, reply.reason);
      driver.core.applyJoinResponse(driver.now(), reply, contact);
      driver.flush();
      return;
    } catch (error) {
      if (error instanceof StartError) throw error;
      // A refusal (the wrong key or none) is an answer no retry can change.
      if (error instanceof RequestError && error.refused) {
        throw new JoinError(contact, error.reason);
      }
      last = error instanceof RequestError ? error.reason : describe(error);
      if (driver.keyring !== undefined && /closed without an answer/.test(last)) {
        last += " (does the contact hold this --key-file's key?)";
      }
      if (attempt < attempts) {
        const delayMs = joinBackoffMs(attempt);
        driver.log.warn("joining via {contact} failed ({reason}); retrying in {delayMs} ms", {
          contact,
          reason: last,
          delayMs,
        });
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        if (driver.closed) throw new StartError("closed while joining");
      }
    }
  }
  throw new JoinError(contact, attempts === 1 ? last : `${last} after ${attempts} attempts`);
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
      await join(driver, contact, 1, Math.min(requestTimeoutMs, leftMs));
      driver.log.info("joined the cluster of its last run via {contact} (from {path})", {
        contact,
        path: `${driver.options.dataDir}/members`,
      });
      return true;
    } catch (error) {
      // Gone, or not a member any more: the next one may be. Only a close stops the start.
      if (driver.closed) throw error;
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
  const contact = driver.options.join;
  const known = driver.core.members().filter((m) => isLive(m.status)).map((m) => m.address);
  const contacts = [
    ...(contact === undefined ? [] : [contact]),
    ...known.filter((a) => a !== contact),
  ].slice(0, rejoinContactsMax);
  const version = nextVersion(driver.options.dataDir);
  const undo = driver.renew(newCore(driver.options, driver.address, version));
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
        await join(driver, contact, 1);
        driver.becomeMember();
        driver.log.info("joined the group again as {id} via {contact}, {listed}", {
          id: driver.id,
          contact,
          listed: listed(driver.core.liveCount),
        });
        return;
      } catch (error) {
        failures.set(contact, error instanceof JoinError ? error.reason : describe(error));
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
