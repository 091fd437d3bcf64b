/**
 * Runs GNU grep on a node's own files, without a shell, and hands its output on in chunks of
 * whole lines. The child is a separate process, so a heavy query costs the node's gossip nothing
 * but the bytes it shuttles; output is bounded and so is the time it may take.
 */
import { concat, countByte } from "../bytes.ts";
import type { GrepQuery, OutputMode } from "../wire/grep_query.ts";
import { grepArgv, outputTerminator } from "./argv.ts";

/** How a run is bounded. */
export interface RunOptions {
  /** The most output bytes; the output is cut at a line boundary below this, with `truncated`. */
  readonly bytesMax: number;
  /** The longest the child may run; then it is killed, with `timedOut`. */
  readonly timeoutMs: number;
  /** The program to run (tests point this elsewhere); GNU grep by default. */
  readonly grepCommand?: string;
  /** The largest chunk handed on. */
  readonly chunkBytes?: number;
}

/** How a run ended. */
export interface RunOutcome {
  /** As grep's: 0 lines selected, 1 none, 2 an error (a timeout is one). */
  readonly exitCode: 0 | 1 | 2;
  /** What grep said on stderr (bounded), or why the run failed. */
  readonly stderr: string;
  readonly truncated: boolean;
  readonly timedOut: boolean;
  /** Output bytes handed on. */
  readonly bytes: number;
  /** Output units (lines, or names with -l/-L) handed on. */
  readonly lines: number;
  readonly elapsedMs: number;
}

/** A run under way. */
export interface GrepRun {
  /** Whole lines of output, in order; pull them, and grep waits while they are not pulled. */
  readonly chunks: AsyncIterable<Uint8Array>;
  /** Settles once the chunks are drained (or the run is cancelled). */
  readonly outcome: Promise<RunOutcome>;
  /** Stops the child now. */
  cancel(): void;
}

const stderrBytesMax = 4096;
const defaultChunkBytes = 256 << 10;
/** The buffer grep's output is first read into, and the least room a read is given in it. */
const readBufferBytes = 256 << 10;
const readBytesMin = 64 << 10;
/** The longest line handed on (a frame holds 16 MiB); a longer one is cut to this, with a note. */
export const lineBytesMax = 8 << 20;

/**
 * Starts grep for `query` over `files`. With no files it selects nothing, but grep still reads the
 * pattern (over empty input), so that an invalid one is the same error here as on every member.
 */
export function runGrep(
  query: GrepQuery,
  files: readonly string[],
  mode: OutputMode,
  options: RunOptions,
): GrepRun {
  const started = performance.now();
  if (files.length === 0) {
    const stop = new AbortController();
    return {
      chunks: (async function* () {})(),
      outcome: checkPattern(query, mode, options, started, stop.signal),
      cancel: () => stop.abort(),
    };
  }
  let child: Deno.ChildProcess;
  try {
    child = grepProcess(grepArgv(query, files, mode), "piped", options).spawn();
  } catch (error) {
    return failedRun(`cannot run grep: ${(error as Error).message}`, started);
  }
  const terminator = outputTerminator(query, mode);
  const chunkBytes = options.chunkBytes ?? defaultChunkBytes;
  let truncated = false;
  /** Cut, but grep was left to finish, for its exit status. */
  let ranOn = false;
  let timedOut = false;
  let cancelled = false;
  let bytes = 0;
  let lines = 0;
  /** Lines longer than `lineBytesMax`, handed on cut. */
  let longLines = 0;
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, options.timeoutMs);
  const stderr = readBounded(child.stderr, stderrBytesMax);

  async function* chunks(): AsyncGenerator<Uint8Array> {
    // Grep writes 4 KiB at a time, and a reader that allocates per read gets mostly that: the
    // output is read instead straight into one buffer, behind what is not yet handed on, and
    // whole lines are copied out of it.
    const reader = child.stdout.getReader({ mode: "byob" });
    let buffer = new ArrayBuffer(readBufferBytes);
    /** Reads more behind `pending` (a view of `buffer`); returns the longer view. */
    const readMore = async (pending: Uint8Array) => {
      let start = pending.byteOffset;
      if (buffer.byteLength - (start + pending.length) < readBytesMin) {
        // What is pending moves to the front, into a larger buffer when it fills most of this one
        // (a long line, up to `lineBytesMax`).
        const size = pending.length + readBytesMin > buffer.byteLength
          ? Math.max(buffer.byteLength * 2, pending.length + readBytesMin)
          : buffer.byteLength;
        if (size === buffer.byteLength) {
          new Uint8Array(buffer).copyWithin(0, start, start + pending.length);
        } else {
          const grown = new ArrayBuffer(size);
          new Uint8Array(grown).set(pending);
          buffer = grown;
        }
        start = 0;
      }
      const end = start + pending.length;
      const { value, done } = await reader.read(new Uint8Array(buffer, end));
      // The read takes the buffer over and hands it back, as value's; a stream cancelled under a
      // read gives nothing back, and what was pending is gone with it.
      if (value === undefined) return { pending: new Uint8Array(0), done: true };
      buffer = value.buffer as ArrayBuffer;
      return { pending: new Uint8Array(buffer, start, end - start + value.length), done };
    };
    let pending: Uint8Array = new Uint8Array(0);
    // Inside a line too long to hand on whole, whose head has gone: the rest is dropped.
    let skipping = false;
    try {
      for (;;) {
        const read = await readMore(pending);
        pending = read.pending;
        if (read.done) break;
        // Hand on whole units only, at most `chunkBytes` at a time, and never past `bytesMax`.
        while (pending.length > 0) {
          if (skipping) {
            const rest = pending.indexOf(terminator);
            pending = rest < 0 ? new Uint8Array(0) : pending.subarray(rest + 1);
            skipping = rest < 0;
            continue;
          }
          const room = options.bytesMax - bytes;
          // With no room left the search must find nothing: lastIndexOf from -1 would search
          // from the end, past the limit.
          const span = Math.min(pending.length, chunkBytes, room);
          let end = span > 0 ? pending.lastIndexOf(terminator, span - 1) + 1 : 0;
          if (end === 0) {
            // One line longer than a chunk: send it whole, if it ends within bounds.
            const reach = Math.min(pending.length, room, lineBytesMax);
            end = pending.subarray(0, reach).indexOf(terminator) + 1;
          }
          if (end === 0) {
            if (room <= lineBytesMax && pending.length >= room) {
              truncated = true;
              if (!query.count && !query.filesWithoutMatch) return;
              // -c and -L write a line for a file without a match too, so only grep's own exit
              // status says whether anything matched: it is left to finish (a line a file), the
              // rest of its output dropped.
              ranOn = true;
              while (!(await readMore(new Uint8Array(0))).done) continue;
              return;
            }
            if (pending.length < lineBytesMax) break;
            // Longer than a frame may carry: its head, ended as a line, and the note says so.
            const head = new Uint8Array(lineBytesMax);
            head.set(pending.subarray(0, lineBytesMax - 1));
            head[lineBytesMax - 1] = terminator;
            pending = pending.subarray(lineBytesMax - 1);
            skipping = true;
            bytes += head.length;
            lines++;
            longLines++;
            yield head;
            continue;
          }
          // A copy: the buffer is read into again while the chunk is on its way.
          const chunk = pending.slice(0, end);
          pending = pending.subarray(end);
          bytes += chunk.length;
          lines += countByte(chunk, terminator);
          yield chunk;
          if (pending.length === 0) pending = new Uint8Array(0);
        }
      }
      if (pending.length > 0) {
        // A last line without its newline (a file not ending in one): grep adds it, so this is
        // only reached when grep was killed mid-line. Drop it rather than send half a line.
        if (!timedOut && !cancelled && bytes + pending.length <= options.bytesMax) {
          bytes += pending.length;
          lines++;
          yield pending.slice();
        }
      }
    } finally {
      if ((truncated && !ranOn) || cancelled) kill();
      reader.releaseLock();
      await child.stdout.cancel().catch(() => {});
    }
  }

  let settle!: () => void;
  const drained = new Promise<void>((resolve) => settle = resolve);
  const iterable: AsyncIterable<Uint8Array> = {
    async *[Symbol.asyncIterator]() {
      try {
        yield* chunks();
      } finally {
        settle();
      }
    },
  };
  const outcome = (async (): Promise<RunOutcome> => {
    await drained;
    const status = await child.status;
    clearTimeout(timer);
    // Named as a user would name it, not by the path it was run from.
    const said = (await stderr).trim().replace(/^\S*\/grep: /gm, "grep: ");
    let exitCode: 0 | 1 | 2 = status.code === 0 ? 0 : status.code === 1 ? 1 : 2;
    const problems = said === "" ? [] : [said];
    if (longLines > 0) {
      problems.push(
        `${longLines} line(s) longer than ${lineBytesMax >> 20} MiB cut to their first ${
          lineBytesMax >> 20
        } MiB`,
      );
    }
    if (timedOut) {
      exitCode = 2;
      problems.push(stoppedNote(options.timeoutMs));
    } else if (truncated && !ranOn) {
      // Cut by us, not failed: output is cut early only when grep selected something.
      exitCode = 0;
    } else if (cancelled) {
      exitCode = 2;
      problems.push("cancelled");
    } else if (status.signal !== null) {
      exitCode = 2;
      problems.push(`grep was killed by ${status.signal}`);
    }
    return {
      exitCode,
      stderr: problems.join("\n"),
      truncated,
      timedOut,
      bytes,
      lines,
      elapsedMs: performance.now() - started,
    };
  })();
  return {
    chunks: iterable,
    outcome,
    cancel: () => {
      cancelled = true;
      kill();
      settle();
    },
  };
}

async function checkPattern(
  query: GrepQuery,
  mode: OutputMode,
  options: RunOptions,
  started: number,
  signal: AbortSignal,
): Promise<RunOutcome> {
  let exitCode: 1 | 2 = 1;
  let stderr = "no files to search";
  // Compiling a pattern can take long too: it is stopped as a search would be.
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort("timeout"), options.timeoutMs);
  const cancel = () => stop.abort("cancelled");
  signal.addEventListener("abort", cancel);
  try {
    const checked = await grepProcess(grepArgv(query, [], mode), "null", options, stop.signal)
      .output();
    if (checked.code === 2) {
      exitCode = 2;
      stderr = new TextDecoder().decode(checked.stderr.subarray(0, stderrBytesMax)).trim();
    }
  } catch (error) {
    exitCode = 2;
    stderr = `cannot run grep: ${(error as Error).message}`;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", cancel);
  }
  const timedOut = stop.signal.reason === "timeout";
  if (stop.signal.aborted) {
    exitCode = 2;
    stderr = timedOut ? stoppedNote(options.timeoutMs) : "cancelled";
  }
  const elapsedMs = performance.now() - started;
  return { exitCode, stderr, truncated: false, timedOut, bytes: 0, lines: 0, elapsedMs };
}

function grepProcess(
  args: string[],
  stdout: "piped" | "null",
  options: RunOptions,
  signal?: AbortSignal,
): Deno.Command {
  const command = options.grepCommand ?? "grep";
  return new Deno.Command(command, {
    args,
    stdin: "null",
    stdout,
    stderr: "piped",
    env: locale,
    ...(signal === undefined ? {} : { signal }),
  });
}

function stoppedNote(timeoutMs: number): string {
  return `grep ran longer than ${Math.round(timeoutMs / 1000)} s and was stopped`;
}

/** Every node reads bytes alike, whatever its own locale: UTF-8, and -i folds beyond ASCII. */
const locale = { LC_ALL: "C.UTF-8" };

function failedRun(message: string, started: number): GrepRun {
  return {
    chunks: (async function* () {})(),
    outcome: Promise.resolve({
      exitCode: 2,
      stderr: message,
      truncated: false,
      timedOut: false,
      bytes: 0,
      lines: 0,
      elapsedMs: performance.now() - started,
    }),
    cancel: () => {},
  };
}

/** Reads a stream to its end, keeping at most `max` bytes of it as text. */
async function readBounded(stream: ReadableStream<Uint8Array>, max: number): Promise<string> {
  const kept: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const part of stream) {
      if (size < max) {
        const piece = part.subarray(0, max - size);
        kept.push(piece);
        size += piece.length;
      }
    }
  } catch {
    // The child was killed: what was said so far will do.
  }
  return new TextDecoder().decode(concat(...kept));
}
