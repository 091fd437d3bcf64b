/**
 * `member sim --explore`: runs the explorer over one seed or many and reports, as text or JSON.
 * The flags are parsed in `sim.ts`; the drawing, the running and the checks are in
 * `mod/sim/explore.ts`.
 */
import { formatEventLine } from "../mod/log/event_line.ts";
import type { Config } from "../mod/core/config.ts";
import {
  boundsFor,
  describePlan,
  explore,
  exploreMany,
  type ExploreOptions,
  type ExploreResult,
  lookbackMs,
  quietMs,
  type Violation,
} from "../mod/sim/explore.ts";
import { simulationEpochMs } from "../mod/sim/simulation.ts";
import { out, ProgressBar } from "./_cli.ts";

/** What `--explore` is run with. */
export interface ExploreFlags {
  readonly seed?: number;
  readonly seeds?: number;
  readonly minutes?: number;
  readonly events?: string;
  readonly json?: boolean;
}

/**
 * The settings the explorer runs, when not the defaults: the config and the flags that give it
 * (`--profile lean`, say), repeated in the command that replays a seed.
 */
export interface ExploreSettings {
  readonly config: Config;
  readonly flags: string;
}

/** Where event lines go: `sim.ts`'s buffered file. */
export interface EventSink {
  write(line: string): void;
  close(): void;
}

/** The command that replays a seed, and opens its events in the replay page. */
export function replayCommand(seed: number, settingsFlags?: string): string {
  const settings = settingsFlags === undefined ? "" : ` ${settingsFlags}`;
  return `member sim --explore --seed ${seed}${settings} --events seed-${seed}.log && member viz seed-${seed}.log`;
}

/** Runs one seed (runs many with `--seeds` or `--minutes`); returns the exit code. */
export function runExplore(
  flags: ExploreFlags,
  openEvents: (path: string) => EventSink,
  settings?: ExploreSettings,
): number {
  const many = flags.seeds !== undefined || flags.minutes !== undefined;
  const first = flags.seed ?? crypto.getRandomValues(new Uint32Array(1))[0];
  const options: ExploreOptions = settings === undefined
    ? {}
    : { config: settings.config, settingsFlags: settings.flags };
  if (!many) return runOne(first, flags, openEvents, options);
  const bar = new ProgressBar(!flags.json && Deno.stderr.isTerminal());
  const startedMs = performance.now();
  const budgetMs = flags.minutes === undefined ? Infinity : flags.minutes * 60_000;
  let nodeSeconds = 0;
  let failures = 0;
  const summary = exploreMany(
    first,
    (done) => {
      const elapsed = performance.now() - startedMs;
      const fraction = Math.max(
        flags.seeds === undefined ? 0 : done / flags.seeds,
        elapsed / budgetMs,
      );
      bar.update(
        fraction,
        `${done} seeds, ${failures} failed, ${Math.round(nodeSeconds).toLocaleString("en")} node-s`,
      );
      return (flags.seeds === undefined || done < flags.seeds) && elapsed < budgetMs;
    },
    (result) => {
      nodeSeconds += result.nodeSeconds;
      if (result.violations.length === 0) return;
      failures++;
      if (flags.json) return;
      bar.done();
      out(failureText(result.seed, result.violations, options.settingsFlags));
    },
    options,
  );
  bar.done();
  const wallMs = Math.round(performance.now() - startedMs);
  // The first failing seed's events, written by running it again: the run is a function of it.
  const firstFailed = summary.failed[0]?.seed;
  if (flags.events !== undefined && firstFailed !== undefined) {
    writeEvents(firstFailed, flags.events, openEvents, options);
  }
  const rate = summary.nodeSeconds / Math.max(wallMs / 1000, 1e-3);
  if (flags.json) {
    out(
      JSON.stringify({
        explore: true,
        firstSeed: summary.firstSeed,
        seeds: summary.seeds,
        failed: summary.failed.map((f) => ({
          seed: f.seed,
          replay: replayCommand(f.seed, options.settingsFlags),
          violations: f.violations,
        })),
        nodeSeconds: Math.round(summary.nodeSeconds),
        simulatedMs: summary.simulatedMs,
        wallMs,
        nodeSecondsPerSecond: Math.round(rate),
        failsJudged: summary.failsJudged,
        quietCrashes: summary.quietCrashes,
        faults: summary.faults,
        eventsFile: firstFailed === undefined ? null : flags.events ?? null,
      }) + "\n",
    );
  } else {
    const last = summary.firstSeed + summary.seeds - 1;
    const lines = [
      `member sim --explore${
        options.settingsFlags === undefined ? "" : ` ${options.settingsFlags}`
      }: ${summary.seeds} seeds (${summary.firstSeed} to ${last}), ${summary.failed.length} failed${
        summary.failed.length === 0 ? "" : ": " + summary.failed.map((f) => f.seed).join(", ")
      }`,
      `simulated ${Math.round(summary.nodeSeconds).toLocaleString("en")} node-seconds (${
        Math.round(summary.simulatedMs / 1000).toLocaleString("en")
      } s of cluster time) in ${(wallMs / 1000).toFixed(1)} s: ${
        Math.round(rate).toLocaleString("en")
      } node-seconds per second`,
      `faults drawn: ${
        Object.entries(summary.faults).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`)
          .join(", ")
      }`,
      `checked: ${
        summary.failsJudged.toLocaleString("en")
      } FAILs of running members (P1), ${summary.quietCrashes} quiet crashes (P3), agreement after every run (P2)`,
    ];
    if (firstFailed !== undefined && flags.events !== undefined) {
      lines.push(`event lines of seed ${firstFailed} written to ${flags.events}`);
    }
    out(lines.join("\n") + "\n");
  }
  return summary.failed.length === 0 ? 0 : 1;
}

function failureText(
  seed: number,
  violations: readonly Violation[],
  settingsFlags?: string,
): string {
  const lines = [`seed ${seed} failed:`];
  for (const v of violations.slice(0, 5)) lines.push(`  ${v.property}: ${v.message}`);
  if (violations.length > 5) lines.push(`  ... and ${violations.length - 5} more`);
  lines.push(`  replay: ${replayCommand(seed, settingsFlags)}`);
  return lines.join("\n") + "\n";
}

function writeEvents(
  seed: number,
  path: string,
  openEvents: (path: string) => EventSink,
  options: ExploreOptions,
): ExploreResult {
  const sink = openEvents(path);
  try {
    return explore(seed, {
      ...options,
      onEvent: (node, event, nowMs) =>
        sink.write(formatEventLine(simulationEpochMs + nowMs, node.id!, event)),
    });
  } finally {
    sink.close();
  }
}

function runOne(
  seed: number,
  flags: ExploreFlags,
  openEvents: (path: string) => EventSink,
  options: ExploreOptions,
): number {
  const startedMs = performance.now();
  const result = flags.events === undefined
    ? explore(seed, options)
    : writeEvents(seed, flags.events, openEvents, options);
  const wallMs = Math.round(performance.now() - startedMs);
  if (flags.json) {
    out(
      JSON.stringify({
        explore: true,
        seed,
        passed: result.violations.length === 0,
        violations: result.violations,
        replay: replayCommand(seed, options.settingsFlags),
        plan: result.plan,
        nodeSeconds: Math.round(result.nodeSeconds),
        simulatedMs: result.simulatedMs,
        wallMs,
        settledMs: result.settledMs,
        failsJudged: result.failsJudged,
        quietCrashes: result.quietCrashes,
        events: result.events,
        eventHash: result.eventHash,
      }) + "\n",
    );
  } else {
    const settings = options.settingsFlags === undefined ? "" : ` ${options.settingsFlags}`;
    const lines = [`member sim --explore --seed ${seed}${settings}:`, ...describePlan(result.plan)];
    if (result.violations.length === 0) {
      lines.push(
        `passed: P1 (${result.failsJudged} FAILs of running members, each within ${
          lookbackMs / 1000
        } s of a fault of its member or its observer), P2 (all agreed ${
          ((result.settledMs ?? 0) / 1000).toFixed(1)
        } s after the last fault, at most ${
          boundsFor(options.config).settleMs / 1000
        } s), P3 (${result.quietCrashes} crashes with nothing else within ${
          quietMs / 1000
        } s, detected within bounds)`,
      );
    } else {
      lines.push(failureText(seed, result.violations, options.settingsFlags).trimEnd());
    }
    if (flags.events !== undefined) lines.push(`event lines written to ${flags.events}`);
    lines.push(
      `simulated ${Math.round(result.nodeSeconds).toLocaleString("en")} node-seconds (${
        (result.simulatedMs / 1000).toFixed(1)
      } s) in ${(wallMs / 1000).toFixed(1)} s; ${result.events} events, hash ${result.eventHash}`,
    );
    out(lines.join("\n") + "\n");
  }
  return result.violations.length === 0 ? 0 : 1;
}
