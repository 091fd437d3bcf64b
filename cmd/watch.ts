/**
 * `member watch`: the node's list as it stands, then every event as the node logs it, until
 * interrupted, for the programs that act on membership (a load balancer's pool, an alert). No
 * event falls between the list and the first event, and none comes twice.
 */
import { Command } from "commander";
import { type Entry, memberId, statusNames } from "../mod/core/types.ts";
import { describe } from "../mod/errors.ts";
import { watchKeepAliveMs } from "../mod/limits.ts";
import { eventJson, formatEventLine } from "../mod/log/event_line.ts";
import { connect, RequestError } from "../mod/net/client.ts";
import { answerSecurity, FrameError, FrameReader, writeFrame } from "../mod/net/frames.ts";
import type { WatchEvent } from "../mod/wire/codec.ts";
import { RuntimeFailure } from "./_cli.ts";
import { keyFileOption, loadKeyring, nodeOption, timeoutOption } from "./_client.ts";

interface WatchFlags {
  node: string;
  keyFile?: string;
  timeout: number;
  json?: boolean;
}

/**
 * How long a watch may hear nothing, not even the node's keep-alive, before it is given up on: a
 * node whose machine vanished sends no end of stream.
 */
const watchIdleTimeoutMs = 5 * watchKeepAliveMs;

/** The `watch` subcommand. */
export function watchCommand(setExit: (code: number) => void): Command {
  return new Command("watch")
    .description(
      "Print the node's list as it stands (a MEMBER line per member, itself first), then every " +
        "event as the node logs it (JOIN, LEAVE, SUSPECT, REFUTE, FAIL, REMOVE, SETTINGS, UPDATE), " +
        "until interrupted. No event falls between the list and the first event, and none " +
        "comes twice. A reader too slow for the node's queue of 10,000 events is cut off " +
        "(exit 1), so that the node never waits for it; so is a watch whose node goes away.",
    )
    .addOption(nodeOption())
    .addOption(timeoutOption(5, "give up if the node does not answer within this long"))
    .addOption(keyFileOption())
    .option(
      "--json",
      'one JSON object per line: {"kind":"MEMBER","member":ID,"address","version","status",' +
        '"incarnation","heartbeat","node"} for the list, then each event with kind, member, ' +
        "address, version, node, via, time (ISO-8601), incarnation, and from, suspicion or " +
        "tags when it has them (MEMBER lines: tags always)",
    )
    .action(async (flags: WatchFlags) => setExit(await watch(flags)));
}

const encoder = new TextEncoder();

/** A MEMBER line: one entry of the list the watch starts with. */
function memberLine(entry: Entry, node: string, json: boolean): string {
  const id = memberId(entry.address, entry.version);
  const status = statusNames[entry.status];
  // A node sends tags only for a member that has some.
  const tags = entry.tags ?? {};
  if (json) {
    return JSON.stringify({
      kind: "MEMBER",
      member: id,
      address: entry.address,
      version: entry.version,
      status,
      incarnation: entry.incarnation,
      heartbeat: entry.heartbeat,
      node,
      tags,
    });
  }
  // As the event log writes tags on UPDATE lines: percent-encoded JSON, one field without spaces.
  return `MEMBER ${id} ${status} incarnation=${entry.incarnation} heartbeat=${entry.heartbeat}${
    Object.keys(tags).length === 0 ? "" : ` tags=${encodeURIComponent(JSON.stringify(tags))}`
  }`;
}

/** An event's line: as the event log writes it, or as its JSON form. */
function eventLine(event: WatchEvent, json: boolean): string {
  if (json) return JSON.stringify(eventJson(event));
  const hash = event.member.lastIndexOf("#");
  return formatEventLine(event.timeMs, event.node, {
    kind: event.kind,
    atMs: event.timeMs,
    address: event.member.slice(0, hash),
    version: Number(event.member.slice(hash + 1)),
    incarnation: event.incarnation,
    via: event.via,
    ...(event.from === undefined ? {} : { from: event.from }),
    ...(event.suspicion === undefined ? {} : { suspicion: event.suspicion }),
    ...(event.tags === undefined ? {} : { tags: event.tags }),
    ...(event.name === undefined ? {} : { name: event.name }),
    ...(event.payload === undefined ? {} : { payload: event.payload }),
  });
}

/**
 * Runs one watch: 0 when interrupted or when its reader stops reading, a runtime failure when the
 * node cannot be reached, refuses, or ends the watch.
 */
async function watch(flags: WatchFlags): Promise<number> {
  const node = flags.node;
  const json = flags.json === true;
  const keyring = await loadKeyring(flags.keyFile);
  let conn: Deno.TcpConn | undefined;
  // Interrupted, a watch has done what it was for: it ends quietly.
  let interrupted = false;
  const interrupt = () => {
    interrupted = true;
    try {
      conn?.close();
    } catch { /* closed */ }
  };
  Deno.addSignalListener("SIGINT", interrupt);
  try {
    try {
      conn = await connect(node, flags.timeout * 1000);
      await writeFrame(conn, { kind: "watch-request" }, flags.timeout * 1000, keyring);
    } catch (error) {
      if (interrupted) return 0;
      const reason = error instanceof RequestError || error instanceof FrameError
        ? error.message
        : describe(error);
      throw new RuntimeFailure(`cannot reach ${node}: ${reason}`);
    }
    if (interrupted) return 0;
    const reader = new FrameReader(conn, undefined, answerSecurity(keyring));
    const ended = (why: string) => new RuntimeFailure(`the watch of ${node} ended: ${why}`);
    let self: string | undefined;
    for (;;) {
      let next;
      try {
        // The list is the answer to the request; after it, the keep-alive paces the silence.
        next = await reader.next(self === undefined ? flags.timeout * 1000 : watchIdleTimeoutMs);
      } catch (error) {
        if (interrupted) return 0;
        if (error instanceof FrameError && error.reason === "idle-timeout") {
          throw ended(`nothing heard for ${watchIdleTimeoutMs / 1000} s`);
        }
        throw ended(error instanceof FrameError ? error.message : describe(error));
      }
      if (interrupted) return 0;
      if (next === null) throw ended("the node closed the connection");
      if (!next.ok) {
        throw ended(
          next.reason === "plain-refused"
            ? "an answer was not sealed with the cluster's key"
            : `unreadable answer (${next.reason})`,
        );
      }
      const message = next.message;
      const lines: string[] = [];
      if (message.kind === "watch-list") {
        self ??= memberId(message.entries[0].address, message.entries[0].version);
        for (const entry of message.entries) lines.push(memberLine(entry, self, json));
      } else if (message.kind === "watch-events") {
        for (const event of message.events) lines.push(eventLine(event, json));
      } else if (message.kind === "watch-end") {
        throw ended(message.message);
      } else if (message.kind === "control-response" && !message.ok) {
        throw new RuntimeFailure(`${node} refused the watch: ${message.message}`);
      } else {
        throw ended(`unexpected ${message.kind}`);
      }
      if (lines.length > 0 && !write(lines.join("\n") + "\n")) return 0;
    }
  } finally {
    Deno.removeSignalListener("SIGINT", interrupt);
    try {
      conn?.close();
    } catch { /* closed */ }
  }
}

/**
 * Writes to stdout, all of it; false when the reader has gone (`| head`): the watch then ends
 * quietly, as nobody reads what more it would print.
 */
function write(text: string): boolean {
  const bytes = encoder.encode(text);
  try {
    let offset = 0;
    while (offset < bytes.length) offset += Deno.stdout.writeSync(bytes.subarray(offset));
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.BrokenPipe) return false;
    throw error;
  }
}
