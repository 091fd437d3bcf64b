/**
 * Fetching the event logs of every live member through one node, for `member viz` with no files.
 */
import { connect, RequestError } from "../mod/node/client.ts";
import { describe } from "../mod/errors.ts";
import { answerSecurity, FrameError, FrameReader, writeFrame } from "../mod/node/frames.ts";
import { eventsBytesMax } from "../mod/node/node.ts";
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
): Promise<FetchedLog> {
  const conn = await connect(member, timeoutMs);
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

/**
 * The event logs of the node and of every member it lists as alive, fetched in parallel. Members
 * that cannot be reached are reported on stderr, left out, and named in `unreached`.
 */
export async function fetchLogs(
  node: string,
  timeoutMs: number,
  keyring?: Keyring,
): Promise<{ logs: FetchedLog[]; unreached: string[] }> {
  const stats = await fetchStats(node, timeoutMs / 1000, keyring);
  const members = [
    stats.self.address,
    ...stats.members.filter((m) => m.status === "alive").map((m) => m.address),
  ];
  const results = await Promise.allSettled(members.map((m) => fetchOne(m, timeoutMs, keyring)));
  const logs: FetchedLog[] = [];
  const unreached: string[] = [];
  results.forEach((result, i) => {
    if (result.status === "fulfilled") logs.push(result.value);
    else {
      unreached.push(`${members[i]} member.log`);
      const error = result.reason;
      const reason = error instanceof RequestError || error instanceof FrameError
        ? error.message
        : describe(error);
      err(`${members[i]}: cannot fetch its event log: ${reason}\n`);
    }
  });
  return { logs, unreached };
}
