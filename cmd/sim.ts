/**
 * `member sim`: the real protocol code on a simulated cluster, to choose settings before
 * deploying them.
 */
import { Command, Option } from "commander";
import { formatEventLine } from "../mod/log/event_line.ts";
import { ConvergenceError, runScenario, type ScenarioReport } from "../mod/sim/scenario.ts";
import { simulationEpochMs } from "../mod/sim/simulation.ts";
import { defaultConfig } from "../mod/core/config.ts";
import { err, integerIn, numberIn, out, ProgressBar, RuntimeFailure, UsageError } from "./_cli.ts";
import { describeFileError } from "../mod/errors.ts";
import {
  configOption,
  profileOption,
  resolveSettings,
  settingOption,
  type SettingsFlags,
  settingsJson,
} from "./_settings.ts";
import { type ExploreSettings, runExplore } from "./_explore.ts";

/**
 * The memory a run takes, in GB, about: every simulated node holds the whole list, about 100
 * bytes a row (0.35 GB at 1,000 nodes and 10 GB at 10,000 on the build machine).
 */
function memoryGigabytes(nodes: number): number {
  return 0.25 + 97.5e-9 * nodes * nodes;
}

interface SimFlags extends SettingsFlags {
  nodes: number;
  loss: number;
  fail: number;
  crash: "process" | "machine";
  duration: number;
  seed?: number;
  suspicion: boolean;
  events?: string;
  json?: boolean;
  explore?: boolean;
  seeds?: number;
  minutes?: number;
}

/**
 * The flags of the standard scenario, which `--explore` draws for itself from each seed. The
 * settings flags apply to both: the explorer runs the defaults unless given a profile, a config
 * file or a setting.
 */
const scenarioFlags = [
  "nodes",
  "loss",
  "fail",
  "crash",
  "duration",
  "suspicion",
] as const;

/** The `sim` subcommand. */
export function simCommand(setExit: (code: number) => void): Command {
  return new Command("sim")
    .description(
      "Simulate a cluster running the real protocol: start N nodes through an introducer, crash K " +
        "at once after convergence, and report detection times, false positives and bandwidth.",
    )
    // A member's table holds at most memberTableMax members: a larger cluster could not converge.
    .option("--nodes <N>", "cluster size", integerIn(2, defaultConfig.memberTableMax), 10)
    .option("--loss <P>", "probability that a datagram is lost (0 to 1)", numberIn(0, 1), 0)
    .option("--fail <K>", "members crashed at once after convergence", integerIn(0, 100_000), 1)
    .addOption(
      new Option(
        "--crash <KIND>",
        "what a crash takes down: the process (its machine refuses connections) or the whole " +
          "machine (nothing answers)",
      ).choices(["process", "machine"]).default("process"),
    )
    .option("--duration <SECONDS>", "simulated time after the crash", numberIn(1, 86_400), 60)
    .option("--seed <S>", "seed; the same seed replays the same run", integerIn(0, 2 ** 53 - 1))
    .option("--no-suspicion", "fail silent members without suspecting them first")
    .option("--events <FILE>", "write every node's event lines (the event log format) to FILE")
    .option("--json", "print one JSON object on the last line of stdout")
    // The settings flags are serve's, so that what is tried here is deployed as it is.
    .addOption(profileOption())
    .addOption(configOption())
    .addOption(settingOption())
    .option(
      "--explore",
      "draw a cluster and a schedule of faults from the seed, run it with the settings given (the " +
        "defaults otherwise), and check that no connected member is failed, that all agree after " +
        "the faults, and that quiet crashes are detected",
    )
    .option("--seeds <N>", "with --explore: run N seeds, from --seed on", integerIn(1, 1e9))
    .option(
      "--minutes <M>",
      "with --explore: run seeds for M minutes of wall time",
      numberIn(0, 1e6),
    )
    .addHelpText(
      "after",
      "\nExamples:\n  member sim --nodes 1000 --loss 0.1\n  member sim --nodes 50 --fail 5 --json\n" +
        "  member sim --explore --minutes 10       # many seeds; a failure prints its seed\n" +
        "  member sim --explore --seed 7 --events seed-7.log && member viz seed-7.log\n" +
        "  member sim --explore --profile lean --seeds 100   # try settings against drawn faults\n" +
        "\nEvery simulated node holds the whole list, so time and memory grow with the square of\n" +
        "N: on one core, 1,000 nodes for 60 s take about 30 s and 0.35 GB, 10,000 about 15 minutes and\n" +
        "10 GB. At most 16,384 nodes: the most members one node's table holds.\n",
    )
    .action((flags: SimFlags, command: Command) => {
      if (flags.explore) {
        const given = scenarioFlags.find((name) => command.getOptionValueSource(name) === "cli");
        if (given !== undefined) {
          throw new UsageError(
            `--explore draws the cluster from each seed: --${
              given === "suspicion" ? "no-suspicion" : given
            } does not apply`,
          );
        }
        setExit(runExplore(flags, (path) => new EventFile(path), exploreSettings(flags)));
        return;
      }
      if (flags.seeds !== undefined || flags.minutes !== undefined) {
        throw new UsageError("--seeds and --minutes run the explorer: add --explore");
      }
      setExit(runSim(flags));
    });
}

/** The settings the explorer runs when a settings flag is given, with those flags as typed. */
function exploreSettings(flags: SimFlags): ExploreSettings | undefined {
  const given = [
    ...(flags.profile === undefined ? [] : [`--profile ${flags.profile}`]),
    ...(flags.config === undefined ? [] : [`--config ${flags.config}`]),
    ...(flags.setting ?? []).map((text) => `--setting ${text}`),
  ];
  if (given.length === 0) return undefined;
  return { config: resolveSettings(flags).config, flags: given.join(" ") };
}

function runSim(flags: SimFlags): number {
  if (flags.fail >= flags.nodes) {
    throw new UsageError(`cannot crash ${flags.fail} of ${flags.nodes} nodes: keep one alive`);
  }
  const gigabytes = memoryGigabytes(flags.nodes);
  if (gigabytes >= 2) {
    err(
      `member sim: ${flags.nodes} nodes each holding the whole list take about ${
        Math.round(gigabytes)
      } GB of memory\n`,
    );
  }
  const settings = resolveSettings(flags);
  const seed = flags.seed ?? crypto.getRandomValues(new Uint32Array(1))[0];
  const events = flags.events === undefined ? undefined : new EventFile(flags.events);
  const bar = new ProgressBar(!flags.json && Deno.stderr.isTerminal());
  const startedMs = performance.now();
  let report: ScenarioReport;
  try {
    report = runScenario({
      nodes: flags.nodes,
      seed,
      lossRate: flags.loss,
      fail: flags.fail,
      crash: flags.crash,
      durationMs: flags.duration * 1000,
      suspicion: flags.suspicion,
      config: settings.config,
      onEvent: events === undefined
        ? undefined
        : (node, event) =>
          events.write(formatEventLine(simulationEpochMs + event.atMs, node.id!, event)),
      onProgress: (phase, fraction, nowMs) =>
        bar.update(
          phase === "joining" ? fraction * 0.3 : 0.3 + fraction * 0.7,
          `${phase} ${(nowMs / 1000).toFixed(1)} s simulated`,
        ),
    });
  } catch (error) {
    if (error instanceof ConvergenceError) throw new RuntimeFailure(error.message);
    throw error;
  } finally {
    bar.done();
    events?.close();
  }
  const wallMs = Math.round(performance.now() - startedMs);
  if (flags.json) {
    out(JSON.stringify({ ...report, wallMs, settings: settingsJson(settings) }) + "\n");
  } else {
    out(summary(report, wallMs, flags.events, settings.profile));
  }
  return 0;
}

function seconds(ms: number | null): string {
  return ms === null ? "never" : `${(ms / 1000).toFixed(2)} s`;
}

function summary(
  report: ScenarioReport,
  wallMs: number,
  eventsFile?: string,
  profile = "lan",
): string {
  const lines = [
    `member sim: ${report.nodes} nodes, profile ${profile}, ${
      (report.loss * 100).toFixed(1)
    }% loss, suspicion ${report.suspicion ? "on" : "off"}, seed ${report.seed}`,
    `converged after ${seconds(report.convergedMs)} (simulated)`,
  ];
  if (report.failures.length > 0) {
    lines.push(
      `crashed ${report.failures.length} (${
        report.crash === "machine" ? "machines" : "processes"
      }):`,
    );
  }
  for (const failure of report.failures) {
    lines.push(
      `  ${failure.member}: first detected ${seconds(failure.firstDetectedMs)}, all ${
        seconds(failure.allDetectedMs)
      } (${failure.detectedBy}/${failure.observers} members)`,
    );
  }
  // Bytes below a KiB: a lean profile sends about a hundred a second, which 0.1 KiB/s hides.
  const kb = (bytes: number) =>
    bytes < 1024 ? `${Math.round(bytes)} B/s` : `${(bytes / 1024).toFixed(1)} KiB/s`;
  lines.push(
    `false positives: ${report.falsePositives}`,
    `traffic per node: ${kb(report.bytesPerNodePerSecond.mean)} mean, ${
      kb(report.bytesPerNodePerSecond.max)
    } max; largest datagram ${report.datagramBytesMax} bytes`,
    `over TCP: ${report.syncs} list exchanges, ${report.probes} probes of silent neighbours, their watchers and helpers (${report.probesAnswered} answered)`,
    `events: ${Object.entries(report.events).map(([k, v]) => `${k} ${v}`).join(", ")}`,
  );
  if (report.disagreements.length > 0) {
    lines.push(`lists disagree at the end: ${report.disagreements.join("; ")}`);
  }
  if (report.failures.some((f) => f.detectedBy < f.observers)) {
    lines.push(
      "not every member listed every crash as failed before the run ended: " +
        "a longer --duration shows whether they would",
    );
  }
  if (eventsFile !== undefined) lines.push(`event lines written to ${eventsFile}`);
  lines.push(`simulated ${seconds(report.simulatedMs)} in ${seconds(wallMs)}`);
  return lines.join("\n") + "\n";
}

/** Event lines buffered into a file. */
class EventFile {
  readonly #file: Deno.FsFile;
  readonly #path: string;
  #buffer: string[] = [];
  #size = 0;

  constructor(path: string) {
    this.#path = path;
    try {
      this.#file = Deno.openSync(path, { write: true, create: true, truncate: true });
    } catch (error) {
      throw new RuntimeFailure(`cannot write events to ${path}: ${describeFileError(error)}`);
    }
  }

  write(line: string): void {
    this.#buffer.push(line);
    this.#size += line.length + 1;
    if (this.#size > 1 << 20) this.#flush();
  }

  close(): void {
    this.#flush();
    this.#file.close();
  }

  #flush(): void {
    if (this.#buffer.length === 0) return;
    const bytes = new TextEncoder().encode(this.#buffer.join("\n") + "\n");
    this.#buffer = [];
    this.#size = 0;
    let offset = 0;
    try {
      while (offset < bytes.length) offset += this.#file.writeSync(bytes.subarray(offset));
    } catch (error) {
      throw new RuntimeFailure(`cannot write events to ${this.#path}: ${describeFileError(error)}`);
    }
  }
}
