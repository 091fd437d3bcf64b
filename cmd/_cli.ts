/**
 * What every subcommand shares: flag parsers that reject bad values with one clear line (exit 2),
 * the runtime-failure error (exit 1), and output helpers.
 */
import { InvalidArgumentError } from "commander";

/** A runtime failure: printed as `error: <message>`, exit status 1. */
export class RuntimeFailure extends Error {
  override name = "RuntimeFailure";
}

/** A usage error found after parsing: printed as `error: <message>`, exit status 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Parses an integer within [min, max]. */
export function integerIn(min: number, max: number): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(value)) {
      throw new InvalidArgumentError(`expected an integer, got '${text}'`);
    }
    if (value < min || value > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}, got '${text}'`);
    }
    return value;
  };
}

/** Parses a number within [min, max]. */
export function numberIn(min: number, max: number): (text: string) => number {
  return (text) => {
    const value = Number(text);
    // Decimal only: Number() would also take 0x1 and 0b1, which nobody means as a rate.
    if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text.trim()) || !Number.isFinite(value)) {
      throw new InvalidArgumentError(`expected a number, got '${text}'`);
    }
    if (value < min || value > max) {
      throw new InvalidArgumentError(`expected a number from ${min} to ${max}, got '${text}'`);
    }
    return value;
  };
}

/** A count with its noun, singular for one: `counted(1, "line")` is "1 line". */
export function counted(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}

const encoder = new TextEncoder();

/** Writes text to stdout, all of it. */
export function out(text: string): void {
  writeAll(Deno.stdout, encoder.encode(text));
}

/** Writes text to stderr, all of it. */
export function err(text: string): void {
  writeAll(Deno.stderr, encoder.encode(text));
}

/**
 * Writes all of `bytes`. A reader that went away (`| head`) ends the output, not the command:
 * what it did not read is not an error of the command's.
 */
function writeAll(file: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let offset = 0;
  try {
    while (offset < bytes.length) offset += file.writeSync(bytes.subarray(offset));
  } catch (error) {
    if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
  }
}

/** A one-line progress bar on stderr, drawn only when stderr is a terminal. */
export class ProgressBar {
  readonly #enabled: boolean;
  #lastDrawMs = 0;

  constructor(enabled = Deno.stderr.isTerminal()) {
    this.#enabled = enabled;
  }

  /** Redraws the bar at most ten times a second. */
  update(fraction: number, label: string): void {
    if (!this.#enabled) return;
    const now = Date.now();
    if (now - this.#lastDrawMs < 100 && fraction < 1) return;
    this.#lastDrawMs = now;
    const width = 30;
    const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
    err(`\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${label}\x1b[K`);
  }

  /** Erases the bar. */
  done(): void {
    if (this.#enabled) err("\r\x1b[K");
  }
}

/** How many one-letter edits turn `a` into `b`: for "did you mean". */
export function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
}
