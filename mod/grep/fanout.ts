/**
 * The client side of `member grep`: one query to every member at once, results handed on as they
 * arrive. A member that dies or stalls does not hang the query: after `idleTimeoutMs` without a
 * frame it is reported as failed, with what it had sent, and the others complete. A member still
 * searching sends an empty chunk every few seconds, so a slow search is not taken for a stall.
 */
import type { Address } from "../core/types.ts";
import { connect, RequestError } from "../net/client.ts";
import { describe } from "../errors.ts";
import { answerSecurity, FrameError, FrameReader, writeFrame } from "../net/frames.ts";
import type { GrepDone, GrepMode } from "../wire/codec.ts";
import type { Keyring } from "../wire/seal.ts";
import { type GrepRecord, parseRecords, prefixLines } from "./format.ts";
import type { GrepQuery } from "../wire/grep_query.ts";
import { namesOnly } from "./argv.ts";

/** How one member's part of a query ended. */
export interface MemberOutcome {
  readonly member: Address;
  /** Output lines received (records in records mode). */
  lines: number;
  bytes: number;
  elapsedMs: number;
  /** The member's own end of output, when it got that far. */
  done?: GrepDone;
  /** Why the member is counted as failed: unreachable, silent too long, or a broken stream. */
  failure?: string;
}

/** What a fan-out is run with. */
export interface FanOutOptions {
  readonly mode: GrepMode;
  /** A member silent this long (no frame) is given up on. */
  readonly idleTimeoutMs: number;
  /** The most output bytes each member may send. */
  readonly bytesMax: number;
  /** How long GNU grep may run on each member. */
  readonly grepTimeoutMs?: number;
  /** Text mode: whole lines, already prefixed with `member:` (unless the query says -h). */
  readonly onText?: (member: Address, data: Uint8Array) => void;
  /** Records mode: one record at a time. */
  readonly onRecord?: (member: Address, record: GrepRecord) => void;
  /** A member's output is over, whether it finished or failed. */
  readonly onEnd?: (member: Address) => void;
  /** The cluster keys, when the cluster has them. */
  readonly keyring?: Keyring;
  /** Stops every member's part at once (their connections close, and so do their searches). */
  readonly signal?: AbortSignal;
}

const encoder = new TextEncoder();

/** Runs the query on every member in parallel; resolves when each has finished or failed. */
export async function fanOut(
  members: readonly Address[],
  query: GrepQuery,
  options: FanOutOptions,
): Promise<MemberOutcome[]> {
  return await Promise.all(members.map((member) => queryMember(member, query, options)));
}

async function queryMember(
  member: Address,
  query: GrepQuery,
  options: FanOutOptions,
): Promise<MemberOutcome> {
  const started = performance.now();
  const outcome: MemberOutcome = { member, lines: 0, bytes: 0, elapsedMs: 0 };
  // -h leaves out who and where a line comes from, except where that is all the output (-l, -L).
  const prefix = encoder.encode(query.noFilename && !namesOnly(query) ? "" : `${member}:`);
  let conn: Deno.TcpConn | undefined;
  const stop = () => {
    try {
      conn?.close();
    } catch {
      // Closed already.
    }
  };
  options.signal?.addEventListener("abort", stop);
  try {
    if (options.signal?.aborted) throw new RequestError("stopped");
    conn = await connect(member, options.idleTimeoutMs);
    if (options.signal?.aborted) throw new RequestError("stopped");
    await writeFrame(
      conn,
      {
        kind: "grep-request",
        query,
        mode: options.mode,
        bytesMax: options.bytesMax,
        timeoutMs: options.grepTimeoutMs ?? 10 * 60_000,
      },
      options.idleTimeoutMs,
      options.keyring,
    );
    const reader = new FrameReader(conn, undefined, answerSecurity(options.keyring));
    for (;;) {
      const next = await reader.next(options.idleTimeoutMs);
      if (next === null) throw new RequestError("the connection closed before the end of output");
      if (!next.ok) throw new RequestError(`unreadable output (${next.reason})`);
      const message = next.message;
      if (message.kind === "grep-chunk") {
        // An empty chunk says the member is still searching; its coming reset the wait.
        if (message.data.length === 0) continue;
        outcome.bytes += message.data.length;
        if (options.mode === "text") {
          const { data, lines } = prefixLines(prefix, message.data);
          outcome.lines += lines;
          options.onText?.(member, data);
        } else {
          for (const record of parseRecords(message.data, query)) {
            outcome.lines++;
            options.onRecord?.(member, record);
          }
        }
      } else if (message.kind === "grep-done") {
        outcome.done = message;
        break;
      } else if (message.kind === "control-response" && !message.ok) {
        throw new RequestError(message.message);
      } else {
        throw new RequestError(`unexpected ${message.kind}`);
      }
    }
  } catch (error) {
    outcome.failure = error instanceof RequestError
      ? error.reason
      : error instanceof FrameError
      ? error.message
      : describe(error);
  } finally {
    options.signal?.removeEventListener("abort", stop);
    stop();
    outcome.elapsedMs = performance.now() - started;
    options.onEnd?.(member);
  }
  return outcome;
}
