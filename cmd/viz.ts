/**
 * `member viz`: build a self-contained HTML replay of a run from event logs: files given on the
 * command line (`member.log` files, `member sim --events` output), or, with none, the event logs
 * of every live member fetched through a node.
 */
import { Command } from "commander";
import { type LogSource, readEventLogs, showControls } from "../mod/log/reader.ts";
import { buildModel } from "../mod/viz/model.ts";
import { replayPage } from "../mod/viz/page.ts";
import { counted, err, out, RuntimeFailure, UsageError } from "./_cli.ts";
import { keyFileOption, loadKeyring, nodeOption, timeoutOption } from "./_client.ts";
import { fetchLogs } from "./_events.ts";
import { describeFileError } from "../mod/errors.ts";

interface VizFlags {
  output: string;
  node: string;
  timeout: number;
  keyFile?: string;
  json?: boolean;
  force?: boolean;
}

/** The `viz` subcommand. */
export function vizCommand(setExit: (code: number) => void): Command {
  return new Command("viz")
    .description(
      "Build one self-contained HTML page that replays joins, leaves, suspicions and failures " +
        "from event logs: the FILES given, or with none the event logs of every live member.",
    )
    .argument("[FILES...]", "event logs (member.log, or the --events file of member sim)")
    .option("-o, --output <FILE>", "where to write the page ('-' for stdout)", "replay.html")
    .addOption(nodeOption())
    .addOption(timeoutOption(10))
    .addOption(keyFileOption())
    .option("--force", "overwrite the output file if it exists")
    .option("--json", "also print the failures found (who detected what, when) as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  member viz -o replay.html                  # every live member's log\n" +
        "  member viz node1/member.log node2/member.log\n" +
        "  member sim --nodes 100 --fail 3 --events run.log && member viz run.log\n",
    )
    .action(async (files: string[], flags: VizFlags, command: Command) => {
      if (files.length > 0 && command.getOptionValueSource("node") === "cli") {
        throw new UsageError(
          "--node fetches the logs of a live cluster: give it or FILES, not both",
        );
      }
      setExit(await viz(files, flags));
    });
}

/**
 * Reads the files named, each once however often it is named (its events would otherwise count
 * twice). One that cannot be read is reported and skipped; `unread` names them.
 */
async function readFiles(files: string[]): Promise<{ logs: LogSource[]; unread: string[] }> {
  const logs: LogSource[] = [];
  const seen = new Set<string>();
  const unread: string[] = [];
  for (const file of files) {
    try {
      const real = await Deno.realPath(file);
      if (seen.has(real)) continue;
      seen.add(real);
      logs.push({ source: file, text: await Deno.readTextFile(file) });
    } catch (error) {
      err(`${showControls(`${file}: cannot read it (${describeFileError(error)})`)}; skipped\n`);
      unread.push(file);
    }
  }
  return { logs, unread };
}

async function viz(files: string[], flags: VizFlags): Promise<number> {
  if (flags.output === "") throw new UsageError("-o is empty: give a file, or - for stdout");
  const toStdout = flags.output === "-";
  if (toStdout && flags.json) {
    throw new UsageError("-o - writes the page to stdout, where --json would go: choose one");
  }
  // An earlier page may be the only copy of a run whose logs are gone: refused before any work.
  if (!toStdout && !flags.force && exists(flags.output)) {
    throw new RuntimeFailure(existsMessage(flags.output));
  }
  let logs: LogSource[];
  let unread: string[] = [];
  if (files.length > 0) {
    ({ logs, unread } = await readFiles(files));
  } else {
    const keyring = await loadKeyring(flags.keyFile);
    try {
      // A member whose log could not be fetched is missing from the page, as a file that could
      // not be read is: named there, and the exit status is 1.
      ({ logs, unreached: unread } = await fetchLogs(flags.node, flags.timeout * 1000, keyring));
    } catch (error) {
      throw new RuntimeFailure((error as Error).message);
    }
  }
  const { records, problems, skippedLines, used, rejected, empty } = readEventLogs(logs);
  for (const source of empty) err(`${showControls(source)}: empty; skipped\n`);
  for (const problem of problems.slice(0, 20)) {
    err(
      `${problem.source}${problem.line > 0 ? `:${problem.line}` : ""}: ${problem.error}; skipped\n`,
    );
  }
  if (problems.length > 20) {
    err(`... and ${counted(problems.length - 20, "more problem")} (listed in the page)\n`);
  }
  if (records.length === 0) {
    throw new RuntimeFailure("no event lines in the input: nothing to replay");
  }
  const model = buildModel(records, problems, { used, rejected, empty, unread, skippedLines });
  const page = replayPage(model);
  try {
    if (toStdout) out(page);
    else await Deno.writeTextFile(flags.output, page, { createNew: !flags.force });
  } catch (error) {
    // Made meanwhile by someone else: theirs is kept too.
    if (error instanceof Deno.errors.AlreadyExists) {
      throw new RuntimeFailure(existsMessage(flags.output));
    }
    throw new RuntimeFailure(`cannot write ${flags.output}: ${describeFileError(error)}`);
  }
  const fp = model.failures.filter((f) => f.falsePositive).length;
  const seconds = model.data.t.length === 0 ? 0 : model.data.t[model.data.t.length - 1] / 1000;
  err(
    `wrote ${toStdout ? "the page to stdout" : flags.output}: ` +
      `${counted(model.data.members.length, "member")}, ${counted(records.length, "event")} ` +
      `over ${seconds.toFixed(1)} s, ${counted(model.failures.length, "failure")}` +
      `${fp > 0 ? ` (${counted(fp, "false positive")})` : ""}` +
      `${skippedLines > 0 ? `, ${counted(skippedLines, "bad line")} skipped` : ""}\n`,
  );
  if (flags.json) {
    out(
      JSON.stringify({
        output: flags.output,
        members: model.data.members.length,
        events: records.length,
        failures: model.failures,
        corrections: model.corrections,
        problems: problems.length,
        skippedLines,
        unread: unread.length,
      }) + "\n",
    );
  }
  // As cat does: what could be read is written, and a file that could not be is a failure.
  return unread.length > 0 ? 1 : 0;
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function existsMessage(path: string): string {
  return `${showControls(path)} exists: give -o another file, or --force to overwrite it`;
}
