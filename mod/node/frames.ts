/**
 * Length-prefixed frames over TCP: a 4-byte big-endian length, then the payload (the protocol
 * byte and the msgpack body). Every frame has a maximum size and every wait has a timeout.
 */
import { type Decoded, decodeFrame, type DecodeLimits, encodeMessage } from "../wire/codec.ts";
import type { FrameMessage } from "../wire/codec.ts";

/** The largest frame accepted: room for a join response of 100,000 members. */
export const frameBytesMax = 16 << 20;

/** Limits for decoding frames. */
export const frameLimits: DecodeLimits = { bytesMax: frameBytesMax, entriesMax: 200_000 };

/** Raised when the other side sends something that is not a valid frame, or takes too long. */
export class FrameError extends Error {
  override name = "FrameError";
}

/** Encodes a message as one frame. */
export function frame(message: FrameMessage): Uint8Array {
  const payload = encodeMessage(message);
  if (payload.length > frameBytesMax) throw new FrameError("frame too large to send");
  const bytes = new Uint8Array(4 + payload.length);
  new DataView(bytes.buffer).setUint32(0, payload.length);
  bytes.set(payload, 4);
  return bytes;
}

/** Writes a frame, all of it, or fails after `timeoutMs`. */
export async function writeFrame(
  conn: Deno.Conn,
  message: FrameMessage,
  timeoutMs: number,
): Promise<void> {
  await writeAll(conn, frame(message), timeoutMs);
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

/** Reads frames from one connection. */
export class FrameReader {
  readonly #conn: Deno.Conn;
  readonly #limits: DecodeLimits;
  #buffer = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;
  #eof = false;
  /** Bytes read so far, frame headers included. */
  bytesRead = 0;

  constructor(conn: Deno.Conn, limits: DecodeLimits = frameLimits) {
    this.#conn = conn;
    this.#limits = limits;
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
          throw new FrameError("connection closed inside a frame");
        }
      }
      const length = new DataView(this.#buffer.buffer, this.#start, 4).getUint32(0);
      if (length > this.#limits.bytesMax) {
        throw new FrameError(`frame of ${length} bytes is too large`);
      }
      while (this.#end - this.#start < 4 + length) {
        if (!(await this.#fill(4 + length))) {
          throw new FrameError("connection closed inside a frame");
        }
      }
      const payload = this.#buffer.subarray(this.#start + 4, this.#start + 4 + length);
      this.#start += 4 + length;
      return decodeFrame(payload, this.#limits);
    });
  }

  /** Reads more bytes; false at end of stream. */
  async #fill(need = 0): Promise<boolean> {
    if (this.#eof) return false;
    if (this.#start > 0 && this.#start === this.#end) {
      this.#start = 0;
      this.#end = 0;
    }
    if (this.#end === this.#buffer.length || this.#start + need > this.#buffer.length) {
      const size = Math.max(this.#buffer.length, need, (this.#end - this.#start) * 2);
      const next = new Uint8Array(size);
      next.set(this.#buffer.subarray(this.#start, this.#end));
      this.#end -= this.#start;
      this.#start = 0;
      this.#buffer = next;
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
    if (timedOut) throw new FrameError(`${what} timed out after ${timeoutMs} ms`);
    if (error instanceof FrameError) throw error;
    throw new FrameError(`${what} failed: ${(error as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}
