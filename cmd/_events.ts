/**
 * Fetching the event logs of every live member through one node, for `member viz` with no files.
 */
import { connect, RequestError } from "../mod/net/client.ts";
import { describe } from "../mod/errors.ts";
import { answerSecurity, FrameError, FrameReader, writeFrame } from "../mod/net/frames.ts";
import { eventsBytesMax } from "../mod/limits.ts";
import type { Keyring } from "../mod/wire/seal.ts";
import { err } from "./_cli.ts";
import { fetchStats } from "./stats.ts";

/** One member's event log, as text. */
export interface FetchedLog {
  readonly source: string;
  readonly text: string;
}

async function fetchOne(
  member: string,
  timeoutMs: number,
  keyring: Keyring | undefined,
  connectTimeoutMs = timeoutMs,
): Promise<FetchedLog> {
  const conn = await connect(member, connectTimeoutMs);
  try {
    await writeFrame(
      conn,
      { kind: "events-request", bytesMax: eventsBytesMax },
      timeoutMs,
      keyring,
    );
    const reader = new FrameReader(conn, undefined, answerSecurity(keyring));
    const decoder = new TextDecoder();
    let text = "";
    for (;;) {
      const next = await reader.next(timeoutMs);
      if (next === null) throw new RequestError("the connection closed before the end of the log");
      if (!next.ok) throw new RequestError(`unreadable answer (${next.reason})`);
      const message = next.message;
      if (message.kind === "events-chunk") {
        text += decoder.decode(message.data, { stream: true });
      } else if (message.kind === "events-done") {
        if (message.error !== "") throw new RequestError(message.error);
        if (message.truncated) err(`${member}: only the newest part of its event log was sent\n`);
        return { source: `${member} member.log`, text: text + decoder.decode() };
      } else if (message.kind === "control-response" && !message.ok) {
        throw new RequestError(message.message);
      } else {
        throw new RequestError(`unexpected ${message.kind}`);
      }
    }
  } finally {
    try {
      conn.close();
    } catch {
      // Closed by a timeout already.
    }
  }
}

/** How long a member listed as failed or left is given to accept a connection. */
const endedConnectTimeoutMs = 2000;

/**
 * The event logs of the node and of every member it lists as alive or suspect, fetched in
 * parallel. Members that cannot be reached are reported on stderr, left out, and named in
 * `unreached`. Members listed as failed or left are asked too, as their logs say what they saw
 * before they went (one that left keeps running until it is stopped): one not reached is
 * expected, and said in one line on stderr, not named in `unreached`.
 */
export async function fetchLogs(
  node: string,
  timeoutMs: number,
  keyring?: Keyring,
): Promise<{ logs: FetchedLog[]; unreached: string[] }> {
  const stats = await fetchStats(node, timeoutMs / 1000, keyring);
  const live = [
    stats.self.address,
    ...stats.members.filter((m) => m.status === "alive" || m.status === "suspect")
      .map((m) => m.address),
  ];
  const ended = stats.members.filter((m) =>
    (m.status === "failed" || m.status === "left") && !live.includes(m.address)
  ).map((m) => m.address);
  const results = await Promise.allSettled([
    ...live.map((m) => fetchOne(m, timeoutMs, keyring)),
    ...ended.map((m) =>
      fetchOne(m, timeoutMs, keyring, Math.min(timeoutMs, endedConnectTimeoutMs))
    ),
  ]);
  const logs: FetchedLog[] = [];
  const unreached: string[] = [];
  const endedUnreached: string[] = [];
  results.forEach((result, i) => {
    const member = i < live.length ? live[i] : ended[i - live.length];
    if (result.status === "fulfilled") logs.push(result.value);
    else if (i >= live.length) endedUnreached.push(member);
    else {
      unreached.push(`${member} member.log`);
      const error = result.reason;
      const reason = error instanceof RequestError || error instanceof FrameError
        ? error.message
        : describe(error);
      err(`${member}: cannot fetch its event log: ${reason}\n`);
    }
  });
  if (endedUnreached.length > 0) {
    err(
      `not reached, as expected of members listed as failed or left: ${
        endedUnreached.join(", ")
      } (their logs are not in the page)\n`,
    );
  }
  return { logs, unreached };
}
