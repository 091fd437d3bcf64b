/**
 * Sending a node's own event log to `member viz`: whole lines only, the newest `eventsBytesMax`
 * bytes at most, and the end of the stream said in a last frame.
 */
import { concat } from "../bytes.ts";
import { describe } from "../errors.ts";
import { eventsBytesMax } from "../limits.ts";
import { streamWriteTimeoutMs, writeFrame } from "../net/frames.ts";
import type { FrameMessage } from "../wire/codec.ts";
import type { Keyring } from "../wire/seal.ts";

/**
 * Streams the event log at `path` (and nothing else) on `conn`, newest `bytesMax` bytes at most,
 * sealed with `keyring` when given; `sent` is told the size of every frame written.
 */
export async function sendEvents(
  conn: Deno.Conn,
  path: string,
  bytesMax: number,
  keyring: Keyring | undefined,
  sent: (bytes: number) => void,
): Promise<void> {
  const send = async (message: FrameMessage) => {
    sent(await writeFrame(conn, message, streamWriteTimeoutMs, keyring));
  };
  let file: Deno.FsFile | undefined;
  let truncated = false;
  let error = "";
  try {
    file = await Deno.open(path, { read: true });
    const size = (await file.stat()).size;
    const limit = Math.min(bytesMax, eventsBytesMax);
    let start = 0;
    if (size > limit) {
      truncated = true;
      start = size - limit;
      await file.seek(start, Deno.SeekMode.Start);
    }
    const buffer = new Uint8Array(256 * 1024);
    let first = start > 0;
    let carry: Uint8Array = new Uint8Array(0);
    for (let read = 0; read < size - start;) {
      const got = await file.read(buffer);
      if (got === null) break;
      read += got;
      let data = concat(carry, buffer.subarray(0, got));
      // Cut the partial first line of a truncated log, and send whole lines only.
      if (first) {
        const newline = data.indexOf(10);
        if (newline < 0) {
          carry = data;
          continue;
        }
        data = data.subarray(newline + 1);
        first = false;
      }
      const last = data.lastIndexOf(10);
      carry = data.slice(last + 1);
      if (last >= 0) await send({ kind: "events-chunk", data: data.slice(0, last + 1) });
    }
    if (carry.length > 0) await send({ kind: "events-chunk", data: carry });
  } catch (failure) {
    error = `cannot read ${path}: ${describe(failure)}`;
  } finally {
    file?.close();
  }
  await send({ kind: "events-done", truncated, error });
}
