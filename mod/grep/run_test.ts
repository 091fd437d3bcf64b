import assert from "node:assert/strict";
import { plainQuery } from "../wire/grep_query.ts";
import { lineBytesMax, runGrep } from "./run.ts";

const options = { bytesMax: 64 << 20, timeoutMs: 60_000 };
const decoder = new TextDecoder();

async function drained(run: ReturnType<typeof runGrep>): Promise<string> {
  let text = "";
  for await (const chunk of run.chunks) text += decoder.decode(chunk);
  return text;
}

Deno.test("with no files grep still reads the pattern: an invalid one is an error, as elsewhere", async () => {
  const invalid = await runGrep(plainQuery(["a\\{1"]), [], "text", options).outcome;
  assert.equal(invalid.exitCode, 2);
  assert.match(invalid.stderr, /Unmatched \\\{/);
  const valid = await runGrep(plainQuery(["a"]), [], "text", options).outcome;
  assert.deepEqual([valid.exitCode, valid.stderr], [1, "no files to search"]);
});

Deno.test("with no files a pattern slow to compile is stopped at the timeout, or when cancelled", async () => {
  // Seconds and hundreds of MB for GNU grep to compile (queries refuse it; runGrep must not
  // depend on that).
  const slow = plainQuery(["(x{1,255}){1,255}"], "extended");
  const started = performance.now();
  const stopped = await runGrep(slow, [], "text", { ...options, timeoutMs: 300 }).outcome;
  assert.equal(stopped.exitCode, 2);
  assert(stopped.timedOut);
  assert.match(stopped.stderr, /longer than 0 s and was stopped/);
  const run = runGrep(slow, [], "text", options);
  setTimeout(run.cancel, 200);
  const cancelled = await run.outcome;
  assert.deepEqual([cancelled.exitCode, cancelled.stderr], [2, "cancelled"]);
  assert(performance.now() - started < 3000, "both stopped well before grep would be done");
});

Deno.test("a line longer than a frame may carry is cut, with a note, and the lines after it come", async () => {
  const file = await Deno.makeTempFile();
  try {
    const long = "X".repeat(lineBytesMax + 100_000);
    await Deno.writeTextFile(file, `before X\n${long}\nafter X\n`);
    const run = runGrep(plainQuery(["X"]), [file], "text", options);
    const text = await drained(run);
    const outcome = await run.outcome;
    const lines = text.split("\n");
    assert.deepEqual(lines.map((l) => l.length), [
      `${file}:before X`.length,
      lineBytesMax - 1,
      `${file}:after X`.length,
      0,
    ]);
    assert.equal(lines[2], `${file}:after X`);
    assert.equal(outcome.exitCode, 0);
    assert.equal(outcome.truncated, false);
    assert.equal(outcome.lines, 3);
    assert.match(outcome.stderr, /1 line\(s\) longer than 8 MiB cut to their first 8 MiB/);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("-a searches a binary file as text; -h leaves the file name out", async () => {
  const file = await Deno.makeTempFile();
  try {
    await Deno.writeFile(file, new TextEncoder().encode("bad \xff\0 MARK here\nplain\n"));
    const binary = runGrep(plainQuery(["MARK"]), [file], "text", options);
    assert.equal(await drained(binary), "");
    assert.match((await binary.outcome).stderr, /binary file matches/);
    const text = runGrep({ ...plainQuery(["MARK"]), text: true }, [file], "text", options);
    assert.match(await drained(text), new RegExp(`^${file}:bad .*\0 MARK here\n$`));
    const query = { ...plainQuery(["plain"]), noFilename: true, text: true };
    const bare = runGrep(query, [file], "text", options);
    assert.equal(await drained(bare), "plain\n");
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("-c and -L cut short still exit as grep does: 1 when nothing matched", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const files = [];
    for (let i = 0; i < 8; i++) {
      files.push(`${dir}/file-${i}.log`);
      await Deno.writeTextFile(files[i], "nothing to see\n");
    }
    const cut = { ...options, bytesMax: 60 };
    for (const flag of ["count", "filesWithoutMatch"] as const) {
      const none = runGrep({ ...plainQuery(["zzzz"]), [flag]: true }, files, "text", cut);
      assert((await drained(none)).length <= 60);
      const outcome = await none.outcome;
      assert.deepEqual([outcome.truncated, outcome.exitCode], [true, 1], flag);
      // A match in the last file, past the cut, still makes it 0.
      await Deno.writeTextFile(files[7], "zzzz\n");
      const last = runGrep({ ...plainQuery(["zzzz"]), [flag]: true }, files, "text", cut);
      await drained(last);
      assert.deepEqual([(await last.outcome).truncated, (await last.outcome).exitCode], [true, 0]);
      await Deno.writeTextFile(files[7], "nothing to see\n");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
