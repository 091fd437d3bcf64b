/**
 * Logs with known lines among random ones, for `member grep` tests and benchmarks. Seeded, so
 * a failure can be reproduced. Known patterns are rare, somewhat frequent and frequent, and
 * present in one, some or all nodes' logs.
 */

/** A small seeded generator (mulberry32). */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const levels = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "info", "Warn"];
const words = [
  "request",
  "served",
  "user",
  "cache",
  "miss",
  "hit",
  "disk",
  "flush",
  "queue",
  "depth",
  "retry",
  "id",
  "ident",
  "session",
  "a.b",
  "axb",
  "path=/v1/items",
  "ok",
];

/** The known lines, with where they go and how often. */
export const known = {
  /** In node 0's log only, a handful of times. */
  rare: "RARE-EVENT checksum mismatch on block",
  /** In some nodes' logs (the even ones), about 1 line in 100. */
  some: "ERROR timeout after",
  /** In every log, about 1 line in 5. */
  frequent: "GET /health 200",
};

/** One log's text: `lines` lines for node `node` of `nodes`. */
export function logText(node: number, lines: number, seed: number): string {
  const next = random(seed * 7919 + node);
  const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)];
  const out: string[] = [];
  const start = Date.UTC(2026, 10, 23, 12);
  for (let i = 0; i < lines; i++) {
    const time = new Date(start + i * 37).toISOString();
    const r = next();
    if (node === 0 && i % Math.max(1, Math.floor(lines / 5)) === 7) {
      out.push(`${time} ERROR ${known.rare} ${Math.floor(next() * 1e6)}`);
    } else if (node % 2 === 0 && r < 0.01) {
      out.push(`${time} ${pick(["ERROR", "error"])} ${known.some} ${Math.floor(next() * 5000)}ms`);
    } else if (r < 0.2) {
      out.push(`${time} INFO ${known.frequent} user=${pick(["ann", "bob", "cy"])}`);
    } else if (r < 0.201) {
      out.push("ok");
    } else {
      const count = 3 + Math.floor(next() * 8);
      const body = Array.from({ length: count }, () => pick(words)).join(" ");
      out.push(`${time} ${pick(levels)} ${body} n=${Math.floor(next() * 100000)}`);
    }
  }
  return out.join("\n") + "\n";
}

/** Writes node `node`'s log of about `bytes` bytes to `path`, in pieces, and returns its size. */
export async function writeLog(
  path: string,
  node: number,
  bytes: number,
  seed: number,
): Promise<number> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const encoder = new TextEncoder();
  let written = 0;
  try {
    for (let piece = 0; written < bytes; piece++) {
      const data = encoder.encode(logText(node, 20_000, seed * 1000 + piece));
      const part = data.subarray(0, Math.min(data.length, bytes - written));
      // End on a whole line.
      const end = part.lastIndexOf(10) + 1;
      let offset = 0;
      const whole = part.subarray(0, end === 0 ? part.length : end);
      while (offset < whole.length) offset += await file.write(whole.subarray(offset));
      written += whole.length;
      if (end === 0) break;
    }
  } finally {
    file.close();
  }
  return written;
}
