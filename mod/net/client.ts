/**
 * One request, one response over TCP: what the CLI and the nodes themselves use to reach a node.
 */
import { parseAddress } from "../core/address.ts";
import type { Address } from "../core/types.ts";
import type { FrameMessage } from "../wire/codec.ts";
import { answerSecurity, FrameError, FrameReader, writeFrame } from "./frames.ts";
import type { Keyring } from "../wire/seal.ts";
import { describe } from "../errors.ts";
import { bareHost } from "./host.ts";
import { otherClusterReason } from "../wire/cluster.ts";

/** Raised when a node cannot be reached or does not answer properly. */
export class RequestError extends Error {
  override name = "RequestError";
  /** A short reason, as in `connection refused`. */
  readonly reason: string;
  /** True when the node answered, refusing the request (for want of the right key). */
  readonly refused: boolean;
  /** True when the request was sent in full: the node may have acted on it. */
  readonly sent: boolean;
  /** True when the connection stayed open and silent until the wait ran out. */
  readonly silent: boolean;
  /**
   * True when the host refused the connection: it answered, and no process listens on the port.
   * A host cut off, or gone, does not answer at all.
   */
  readonly portClosed: boolean;

  constructor(reason: string, refused = false, sent = false, silent = false, portClosed = false) {
    super(reason);
    this.reason = reason;
    this.refused = refused;
    this.sent = sent;
    this.silent = silent;
    this.portClosed = portClosed;
  }
}

/** Connects to `address`, failing after `timeoutMs`. */
export async function connect(address: Address, timeoutMs: number): Promise<Deno.TcpConn> {
  const parsed = parseAddress(address);
  if ("error" in parsed) throw new RequestError(parsed.error);
  const hostname = bareHost(parsed.host);
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    return await Deno.connect({ hostname, port: parsed.port, signal });
  } catch (error) {
    if (signal.aborted) throw new RequestError(`no answer within ${timeoutMs} ms`);
    const closed = error instanceof Deno.errors.ConnectionRefused;
    throw new RequestError(describe(error), false, false, false, closed);
  }
}

/**
 * Sends one request (sealed when a keyring is given) and reads one response. `sent` is told the
 * request's size in bytes once it is written. A member gives its `cluster` (its name, or "" for
 * the unnamed one): the request carries it, and an answer from another cluster is a refusal.
 * Clients give none: they are not bound to a cluster, and the node answers them unbound.
 */
export async function request(
  address: Address,
  message: FrameMessage,
  timeoutMs: number,
  keyring?: Keyring,
  sent?: (bytes: number) => void,
  cluster?: string,
): Promise<FrameMessage> {
  const conn = await connect(address, timeoutMs);
  let written = false;
  try {
    const bytes = await writeFrame(conn, message, timeoutMs, keyring, cluster);
    written = true;
    sent?.(bytes);
    const reader = new FrameReader(conn, undefined, answerSecurity(keyring));
    const reply = await reader.next(timeoutMs);
    // Silence once the request is written: the node may have acted on it all the same.
    if (reply === null) {
      throw new RequestError("the connection closed without an answer", false, true);
    }
    if (!reply.ok) {
      throw new RequestError(
        reply.reason === "plain-refused"
          ? "the answer was not sealed with the cluster's key"
          : `unreadable answer (${reply.reason})`,
      );
    }
    const keyRefusal = reply.message.kind === "control-response" && !reply.message.ok &&
      reader.lastCluster === "";
    if (cluster !== undefined && reader.lastCluster !== cluster && !keyRefusal) {
      // A member of another cluster holds that address: no retry makes it one of ours.
      throw new RequestError(otherClusterReason(reader.lastCluster, cluster), true, true);
    }
    if (
      reply.message.kind === "control-response" && !reply.message.ok &&
      message.kind !== "control-request"
    ) {
      // A refusal instead of the answer asked for (a missing or wrong cluster key).
      throw new RequestError(reply.message.message, true);
    }
    return reply.message;
  } catch (error) {
    if (error instanceof RequestError) throw error;
    if (error instanceof FrameError && error.reason === "frame-too-large") {
      // Another kind of server on that port: its first bytes read as a huge length.
      throw new RequestError(`what answered is not a member (${error.message})`);
    }
    if (error instanceof FrameError && error.reason === "idle-timeout") {
      // Something accepted the connection and said nothing: a stalled member, or another server.
      throw new RequestError(
        `no answer within ${timeoutMs} ms (the port is open: a stalled member, or not a member)`,
        false,
        written,
        true,
      );
    }
    if (error instanceof FrameError) throw new RequestError(error.message);
    throw new RequestError(describe(error), false, written);
  } finally {
    try {
      conn.close();
    } catch {
      // Closed by a timeout already.
    }
  }
}
