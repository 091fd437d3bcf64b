import assert from "node:assert/strict";
import { ByteBudget, FrameError, FrameReader } from "./frames.ts";

/** A connected pair on loopback: what one writes, the other reads. */
async function pair(): Promise<{ client: Deno.TcpConn; server: Deno.TcpConn; close(): void }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const server = await accepted;
  listener.close();
  return {
    client,
    server,
    close() {
      for (const conn of [client, server]) {
        try {
          conn.close();
        } catch { /* closed */ }
      }
    },
  };
}

function header(length: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, length);
  return bytes;
}

Deno.test("a frame announced large holds only what has arrived, within the budget", async () => {
  const { client, server, close } = await pair();
  try {
    const budget = new ByteBudget(8 << 20);
    const reader = new FrameReader(server, undefined, undefined, budget);
    const reading = reader.next(1000);
    // 16 MiB announced, 1 MiB sent, then nothing: the reader times out having taken about what
    // arrived (its buffer doubles), not the 16 MiB the header claims.
    await client.write(header(16 << 20));
    const sent = new Uint8Array(1 << 20);
    for (let offset = 0; offset < sent.length;) offset += await client.write(sent.subarray(offset));
    const error = await reading.catch((e) => e);
    assert(error instanceof FrameError);
    assert.equal(error.reason, "idle-timeout");
    const taken = (8 << 20) - budget.left;
    assert(taken > 0 && taken <= 2 << 20, `took ${taken} bytes for 1 MiB sent`);
    reader.release();
    assert.equal(budget.left, 8 << 20);
  } finally {
    close();
  }
});

Deno.test("requests past the shared budget are refused, and it is whole again after", async () => {
  const budget = new ByteBudget(3 << 20);
  const pairs = await Promise.all([pair(), pair()]);
  try {
    const readers = pairs.map(({ server }) =>
      new FrameReader(server, undefined, undefined, budget)
    );
    const results = readers.map((reader) => reader.next(3000).catch((e) => e));
    // Each sends 2 MiB of a 4 MiB frame: both cannot be held within 3 MiB.
    const chunk = new Uint8Array(2 << 20);
    await Promise.all(pairs.map(async ({ client }) => {
      await client.write(header(4 << 20));
      for (let offset = 0; offset < chunk.length;) {
        offset += await client.write(chunk.subarray(offset)).catch(() => chunk.length);
      }
    }));
    const outcomes = await Promise.all(results);
    assert(
      outcomes.some((e) => e instanceof FrameError && e.reason === "busy-memory"),
      outcomes.map((e) => (e as FrameError).reason).join(", "),
    );
    for (const reader of readers) reader.release();
    assert.equal(budget.left, 3 << 20);
  } finally {
    for (const p of pairs) p.close();
  }
});
