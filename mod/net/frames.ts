/**
 * Length-prefixed frames over TCP: a 4-byte big-endian length, then the payload (the protocol
 * byte and the msgpack body, in the envelope of the cluster's name when it has one, sealed with
 * the cluster key when there is one). Every frame has a maximum size and every wait has a timeout.
 */
import {
  type Decoded,
  decodeFrame,
  type DecodeLimits,
  encodeGrepChunk,
  encodeMessage,
} from "../wire/codec.ts";
import type { FrameMessage } from "../wire/codec.ts";
import { type Keyring, sealedMarker } from "../wire/seal.ts";
import { bindCluster, unbindCluster } from "../wire/cluster.ts";
import { concat } from "../bytes.ts";

/** The largest frame accepted: room for a join response of 100,000 members. */
export const frameBytesMax = 16 << 20;

/** A client that reads nothing of an answer streamed to it for this long is given up on. */
export const streamWriteTimeoutMs = 30_000;

/** Limits for decoding frames. */
export const frameLimits: DecodeLimits = { bytesMax: frameBytesMax, entriesMax: 200_000 };

/** Raised when the other side sends something that is not a valid frame, or takes too long. */
export class FrameError extends Error {
  override name = "FrameError";
  /** A short name for stats: truncated-frame, frame-too-large, idle-timeout, io. */
  readonly reason: string;

  constructor(message: string, reason = "io") {
    super(message);
    this.reason = reason;
  }
}

/**
 * Encodes a message as one frame, in the envelope of `cluster` (none for the unnamed cluster, and
 * for clients, which are not bound to one), then sealed when a keyring is given.
 */
export async function frame(
  message: FrameMessage,
  keyring?: Keyring,
  cluster = "",
): Promise<Uint8Array> {
  if (message.kind === "grep-chunk" && keyring === undefined && cluster === "") {
    return await grepChunkFrame([message.data]);
  }
  let payload = bindCluster(encodeMessage(message), cluster);
  if (keyring !== undefined) payload = await keyring.seal(payload);
  if (payload.length > frameBytesMax) throw new FrameError("frame too large to send");
  const bytes = new Uint8Array(4 + payload.length);
  new DataView(bytes.buffer).setUint32(0, payload.length);
  bytes.set(payload, 4);
  return bytes;
}

/**
 * Grep output, the `parts` joined, as one frame (a grep chunk, of no named cluster), sealed when a
 * keyring is given. In the clear, the output is copied once, straight behind the header.
 */
export async function grepChunkFrame(
  parts: readonly Uint8Array[],
  keyring?: Keyring,
): Promise<Uint8Array> {
  if (keyring !== undefined) {
    return await frame({ kind: "grep-chunk", data: concat(...parts) }, keyring);
  }
  const bytes = encodeGrepChunk(parts, 4);
  if (bytes.length - 4 > frameBytesMax) throw new FrameError("frame too large to send");
  new DataView(bytes.buffer).setUint32(0, bytes.length - 4);
  return bytes;
}

/**
 * Writes a frame (of `cluster`, sealed when a keyring is given), all of it, or fails after
 * `timeoutMs`. Returns its size in bytes.
 */
export async function writeFrame(
  conn: Deno.Conn,
  message: FrameMessage,
  timeoutMs: number,
  keyring?: Keyring,
  cluster = "",
): Promise<number> {
  const bytes = await frame(message, keyring, cluster);
  await writeAll(conn, bytes, timeoutMs);
  return bytes.length;
}

/** What a reader accepts: sealed frames (with a keyring), plain ones, or both. */
export interface FrameSecurity {
  readonly keyring?: Keyring;
  /** Whether plain frames are accepted (always without a keyring; from this machine with one). */
  readonly allowPlain: boolean;
  /**
   * With a keyring and without `allowPlain`: whether a plain refusal (a control response that is
   * not ok) is accepted. A node that cannot open a request says why in the clear; a refusal
   * carries nothing else, so a forged one can only make the request fail.
   */
  readonly allowPlainRefusal?: boolean;
}

/** How a client reads answers: with a keyring, sealed ones only, but for a plain refusal. */
export function answerSecurity(keyring: Keyring | undefined): FrameSecurity {
  return { keyring, allowPlain: false, allowPlainRefusal: true };
}

/** Writes bytes, all of them, or fails after `timeoutMs`. */
export async function writeAll(
  conn: Deno.Conn,
  bytes: Uint8Array,
  timeoutMs: number,
): Promise<void> {
  await withTimeout(conn, timeoutMs, "write", async () => {
    let offset = 0;
    while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
  });
}

/**
 * Bytes that the readers sharing it may hold beyond their first `readerBytes` each: what a node
 * spends on requests still arriving, so that many connections announcing large frames cannot
 * make it hold more than this between them.
 */
export class ByteBudget {
  #left: number;

  constructor(bytes: number) {
    this.#left = bytes;
  }

  /** Takes `bytes` from the budget; false, taking nothing, when it does not hold that many. */
  take(bytes: number): boolean {
    if (bytes > this.#left) return false;
    this.#left -= bytes;
    return true;
  }

  give(bytes: number): void {
    this.#left += bytes;
  }

  get left(): number {
    return this.#left;
  }
}

/** A reader's first buffer; larger frames grow it as their bytes arrive. */
const readerBytes = 64 * 1024;

/** Reads frames from one connection. */
export class FrameReader {
  readonly #conn: Deno.Conn;
  readonly #limits: DecodeLimits;
  readonly #budget: ByteBudget | undefined;
  /** What this reader has taken from the budget. */
  #taken = 0;
  #buffer = new Uint8Array(readerBytes);
  #start = 0;
  #end = 0;
  #eof = false;
  readonly #security: FrameSecurity;
  /** Bytes read so far, frame headers included. */
  bytesRead = 0;
  /** Whether the last frame read was sealed: an answer should be sealed the same way. */
  lastSealed = false;
  /** The cluster the last frame read came from ("" when it carried no name); judged by callers. */
  lastCluster = "";

  constructor(
    conn: Deno.Conn,
    limits: DecodeLimits = frameLimits,
    security: FrameSecurity = { allowPlain: true },
    budget?: ByteBudget,
  ) {
    this.#conn = conn;
    this.#limits = limits;
    this.#security = security;
    this.#budget = budget;
  }

  /** Gives back to the budget what this reader took, once it reads no more. */
  release(): void {
    this.#budget?.give(this.#taken);
    this.#taken = 0;
  }

  /**
   * The next frame's message, `null` at a clean end of stream, or a {@linkcode FrameError} when
   * the bytes are bad, the stream ends inside a frame, or nothing complete arrives in time.
   */
  async next(timeoutMs: number): Promise<Decoded<FrameMessage> | null> {
    return await withTimeout(this.#conn, timeoutMs, "read", async () => {
      while (this.#end - this.#start < 4) {
        if (!(await this.#fill())) {
          if (this.#end === this.#start) return null;
          throw new FrameError("connection closed inside a frame", "truncated-frame");
        }
      }
      const length = new DataView(this.#buffer.buffer, this.#start, 4).getUint32(0);
      if (length > this.#limits.bytesMax) {
        throw new FrameError(`frame of ${length} bytes is too large`, "frame-too-large");
      }
      while (this.#end - this.#start < 4 + length) {
        if (!(await this.#fill(4 + length))) {
          throw new FrameError("connection closed inside a frame", "truncated-frame");
        }
      }
      let payload: Uint8Array = this.#buffer.slice(this.#start + 4, this.#start + 4 + length);
      this.#start += 4 + length;
      this.lastSealed = payload[0] === sealedMarker;
      const keyring = this.#security.keyring;
      if (this.lastSealed) {
        if (keyring === undefined) return { ok: false, reason: "sealed-without-key" };
        const opened = await keyring.open(payload);
        if (!opened.ok) return { ok: false, reason: opened.reason };
        payload = opened.plain;
      } else if (keyring !== undefined && !this.#security.allowPlain) {
        const decoded = this.#security.allowPlainRefusal ? this.#unbind(payload) : undefined;
        const refusal = decoded?.ok && decoded.message.kind === "control-response" &&
          !decoded.message.ok;
        return refusal ? decoded : { ok: false, reason: "plain-refused" };
      }
      return this.#unbind(payload);
    });
  }

  /** Takes a payload out of its cluster envelope (noting the cluster) and decodes it. */
  #unbind(payload: Uint8Array): Decoded<FrameMessage> {
    const unbound = unbindCluster(payload);
    if (!unbound.ok) return { ok: false, reason: unbound.reason };
    this.lastCluster = unbound.cluster;
    return decodeFrame(unbound.message, this.#limits);
  }

  /** Reads more bytes; false at end of stream. */
  async #fill(need = 0): Promise<boolean> {
    if (this.#eof) return false;
    if (this.#start > 0 && this.#start === this.#end) {
      this.#start = 0;
      this.#end = 0;
    }
    if (this.#end === this.#buffer.length) {
      const held = this.#end - this.#start;
      // Grown by doubling as bytes arrive, not to the length a header announces: what a sender
      // makes this node hold follows what it has sent. A buffer with room left is compacted.
      let size = this.#buffer.length;
      if (held === size) size = need > size ? Math.min(size * 2, need) : size * 2;
      const more = size - this.#buffer.length;
      if (more > 0) {
        if (this.#budget !== undefined && !this.#budget.take(more)) {
          throw new FrameError("too many large requests at once", "busy-memory");
        }
        this.#taken += more;
      }
      if (size === this.#buffer.length) {
        // In place: a stream of large frames (grep output) compacts at nearly every frame, and
        // a new buffer each time cost more than the copy.
        this.#buffer.copyWithin(0, this.#start, this.#end);
      } else {
        const next = new Uint8Array(size);
        next.set(this.#buffer.subarray(this.#start, this.#end));
        this.#buffer = next;
      }
      this.#end -= this.#start;
      this.#start = 0;
    }
    const read = await this.#conn.read(this.#buffer.subarray(this.#end));
    if (read === null) {
      this.#eof = true;
      return false;
    }
    this.#end += read;
    this.bytesRead += read;
    return true;
  }
}

/**
 * Runs `work` on a connection, closing the connection if it takes longer than `timeoutMs`, which
 * makes the pending read or write fail; the failure is then reported as a timeout.
 */
async function withTimeout<T>(
  conn: Deno.Conn,
  timeoutMs: number,
  what: string,
  work: () => Promise<T>,
): Promise<T> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }, timeoutMs);
  try {
    return await work();
  } catch (error) {
    if (timedOut) throw new FrameError(`${what} timed out after ${timeoutMs} ms`, "idle-timeout");
    if (error instanceof FrameError) throw error;
    throw new FrameError(`${what} failed: ${(error as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}
