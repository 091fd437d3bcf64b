/**
 * `member grep`: grep the logs of every live member at once. Results stream to stdout as they
 * arrive, each line prefixed with the member it came from (as `grep -H` prefixes a file name); a
 * summary goes to stderr. Exit status as grep's: 0 something matched, 1 nothing, 2 an error.
 */
import { Command, InvalidArgumentError } from "commander";
import { type GrepQuery, queryProblem } from "../mod/wire/grep_query.ts";
import { fanOut, type MemberOutcome } from "../mod/grep/fanout.ts";
import { GroupedOutput } from "../mod/grep/format.ts";
import { grepBytesMax } from "../mod/limits.ts";
import { counted, err, UsageError } from "./_cli.ts";
import { keyFileOption, loadKeyring, nodeOption, timeoutOption } from "./_client.ts";
import { fetchStats } from "./stats.ts";

interface GrepFlags {
  regexp?: string[];
  extendedRegexp?: boolean;
  fixedStrings?: boolean;
  basicRegexp?: boolean;
  ignoreCase?: boolean;
  invertMatch?: boolean;
  wordRegexp?: boolean;
  lineRegexp?: boolean;
  count?: boolean;
  lineNumber?: boolean;
  filesWithMatches?: boolean;
  filesWithoutMatch?: boolean;
  onlyMatching?: boolean;
  /** `-h` sets it false, `-H` true (the default). */
  filename: boolean;
  text?: boolean;
  quiet?: boolean;
  maxCount?: number;
  afterContext?: number;
  beforeContext?: number;
  context?: number;
  node: string;
  keyFile?: string;
  json?: boolean;
  timeout: number;
  maxOutput: number;
  summary: boolean;
}

/** Options of GNU grep that read files other than the ones a node serves, or change how it runs. */
const refused = new Map<string, string>([
  ["-f", "reads patterns from a file"],
  ["--file", "reads patterns from a file"],
  ["-r", "searches directories"],
  ["-R", "searches directories"],
  ["--recursive", "searches directories"],
  ["--dereference-recursive", "searches directories"],
  ["--include", "chooses files"],
  ["--exclude", "chooses files"],
  ["--exclude-from", "reads a file"],
  ["--exclude-dir", "chooses directories"],
  ["-d", "chooses how directories are read"],
  ["--directories", "chooses how directories are read"],
  ["-D", "chooses how devices are read"],
  ["--devices", "chooses how devices are read"],
  ["-P", "asks for Perl regular expressions, which are not offered"],
  ["--perl-regexp", "asks for Perl regular expressions, which are not offered"],
]);

function count(name: string, least = 0, most = 2 ** 31 - 1): (text: string) => number {
  return (text) => {
    if (/^\d+$/.test(text) && Number(text) > most) {
      throw new InvalidArgumentError(`${name} must be at most ${most}, got '${text}'`);
    }
    if (!/^\d+$/.test(text) || Number(text) < least) {
      const range = most < 2 ** 31 - 1
        ? ` from ${least} to ${most}`
        : least > 0
        ? ` of at least ${least}`
        : "";
      throw new InvalidArgumentError(`${name} must be a whole number${range}, got '${text}'`);
    }
    return Number(text);
  };
}

/** The `grep` subcommand. */
export function grepCommand(setExit: (code: number) => void): Command {
  // Of -h and -H, and of -l and -L, the one given last wins, as with grep.
  const last = { names: "-H", files: "" };
  return new Command("grep")
    .description(
      "Grep the logs of every member the node lists as alive (or suspect), in parallel. Output lines are " +
        "prefixed with the member (HOST:PORT:FILE:...); a summary goes to stderr.",
    )
    .argument("[PATTERN]", "the pattern, unless given with -e")
    // Files are each member's own choice; one named here is refused in words, below.
    .allowExcessArguments(true)
    .option(
      "-e, --regexp <PATTERN>",
      "a pattern; repeatable",
      (v: string, p: string[] | undefined) => [...(p ?? []), v],
    )
    .option("-E, --extended-regexp", "PATTERN is an extended regular expression")
    .option("-F, --fixed-strings", "PATTERN is a set of fixed strings")
    .option("-G, --basic-regexp", "PATTERN is a basic regular expression (the default)")
    .option("-i, --ignore-case", "ignore case distinctions")
    .option("-v, --invert-match", "select non-matching lines")
    .option("-w, --word-regexp", "match only whole words")
    .option("-x, --line-regexp", "match only whole lines")
    .option("-c, --count", "print a count of selected lines per member and file")
    .option("-n, --line-number", "print line numbers")
    .option("-l, --files-with-matches", "print only names of files with selected lines")
    .option("-L, --files-without-match", "print only names of files with no selected lines")
    .option("-o, --only-matching", "print only the matched parts of lines")
    .option("-h, --no-filename", "print lines without the member and file they came from")
    .option("-H, --with-filename", "print the member and file before each line (the default)")
    .option("-a, --text", "search binary files as text, printing their lines as they are")
    .option("-q, --quiet", "print nothing: the exit status alone says if a line matched")
    .option(
      "-m, --max-count <NUM>",
      "stop after NUM selected lines per file (a negative NUM: no limit)",
      (text: string) => /^-[0-9]+$/.test(text) ? -1 : count("-m")(text),
    )
    .option("-A, --after-context <NUM>", "print NUM lines of trailing context", count("-A"))
    .option("-B, --before-context <NUM>", "print NUM lines of leading context", count("-B"))
    .option("-C, --context <NUM>", "print NUM lines of context", count("-C"))
    .addOption(nodeOption())
    .addOption(keyFileOption())
    .option("--json", "print one JSON object per match (or per file with -c, -l, -L)")
    .addOption(
      timeoutOption(
        10,
        "report a member as failed after this long without a word from it (one still " +
          "searching says so every second)",
      ),
    )
    .option(
      "--max-output <BYTES>",
      "cut each member's output at this many bytes (at most 256 MiB), with a notice",
      // Each member caps its output there whatever it is asked: a larger value would not hold.
      count("--max-output", 1, grepBytesMax),
      64 << 20,
    )
    .option("--no-summary", "do not print the summary on stderr")
    // -h means --no-filename, as it does to grep, so help is --help alone.
    .helpOption("--help", "display help for command")
    .addHelpText(
      "after",
      "\nOptions mean what they mean to GNU grep, which runs on each member over the files\n" +
        "it serves (member serve --grep). Options that read other files (-f, -r, --include,\n" +
        "...) are refused.\n\nExamples:\n  member grep -c ERROR\n  member grep -n -E 'timeout [0-9]+ms' " +
        "--node 10.0.0.1:3000\n",
    )
    .on("option:no-filename", () => (last.names = "-h"))
    .on("option:with-filename", () => (last.names = "-H"))
    .on("option:files-with-matches", () => (last.files = "-l"))
    .on("option:files-without-match", () => (last.files = "-L"))
    .action(async (pattern: string | undefined, flags: GrepFlags, command: Command) => {
      // As with grep, what follows the pattern (all of it, with -e) names files.
      const files = command.args.slice(flags.regexp === undefined ? 1 : 0);
      if (files.length > 0) {
        throw new UsageError(
          `member grep takes no FILE ('${files[0]}'): each member searches the files it ` +
            "serves (member serve --grep)",
        );
      }
      setExit(
        await grep(pattern, {
          ...flags,
          filename: last.names === "-H",
          filesWithMatches: last.files === "-l",
          filesWithoutMatch: last.files === "-L",
        }),
      );
    });
}

/** Options whose next argument is a value, not an option. */
const takesValue = new Set([
  "-e",
  "--regexp",
  "-m",
  "--max-count",
  "-A",
  "--after-context",
  "-B",
  "--before-context",
  "-C",
  "--context",
  "--node",
  "--timeout",
  "--max-output",
  "--key-file",
]);

/**
 * The options in `args`, in order, up to `--`: bundles split (`-in` is -i and -n), values left
 * out (`-ief` is -i and -e, its value f; `-ie PATTERN` takes the next argument), long options
 * without their `=value`.
 */
export function optionsInOrder(args: readonly string[]): string[] {
  const found: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") break;
    if (arg.startsWith("--")) {
      found.push(arg.split("=")[0]);
      if (takesValue.has(arg)) i++;
    } else if (/^-[A-Za-z]/.test(arg)) {
      const bundle = shortBundle(arg);
      found.push(...bundle.names);
      if (bundle.takesNext) i++;
    }
  }
  return found;
}

/**
 * A bundle of short options: `-in` is -i and -n; up to the first that takes a value, whose value
 * is the rest of the argument (`-ief` is -i, -e f) or, when nothing is left, the next argument.
 */
function shortBundle(arg: string): { names: string[]; value: string; takesNext: boolean } {
  const names: string[] = [];
  for (let j = 1; j < arg.length; j++) {
    const name = `-${arg[j]}`;
    names.push(name);
    if (takesValue.has(name)) {
      return { names, value: arg.slice(j + 1), takesNext: j === arg.length - 1 };
    }
  }
  return { names, value: "", takesNext: false };
}

/**
 * The arguments of `member grep` as its parser takes them: long options in full, refused options
 * refused (a string saying why), GNU grep's shorthands spelled out.
 */
export function preparedArgs(args: readonly string[], command: Command): string[] | string {
  const longs = [
    ...command.options.flatMap((option) => option.long ?? []),
    "--help",
    ...[...refused.keys()].filter((name) => name.startsWith("--")),
  ];
  const normalized = normalizedArgs(args, longs);
  if (typeof normalized === "string") return normalized;
  return refusedOption(normalized) ?? normalized;
}

/** Refuses GNU grep options that read other files, before parsing, with a clear line. */
export function refusedOption(args: readonly string[]): string | undefined {
  for (const name of optionsInOrder(args)) {
    const reason = refused.get(name);
    if (reason !== undefined) {
      const why = reason.startsWith("asks") ? "" : ": member grep searches only the files each " +
        "member serves";
      return `grep option ${name} is not allowed (it ${reason})${why}`;
    }
  }
  return undefined;
}

/**
 * GNU grep's shorthands, in the words the parser knows: `-NUM` is `--context=NUM`, in a bundle
 * too, `-y` is `-i` (obsolete, still accepted), and a long option cut short is the one of `longs`
 * it begins (`--ignore` is `--ignore-case`); one that begins several is an error, a string that
 * names them. Values and what follows `--` are left as they are.
 */
export function normalizedArgs(
  args: readonly string[],
  longs: readonly string[] = [],
): string[] | string {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      out.push(...args.slice(i));
      break;
    }
    if (arg.startsWith("--")) {
      const [name, ...value] = arg.split("=");
      const matches = longs.includes(name) ? [name] : longs.filter((l) => l.startsWith(name));
      if (matches.length > 1) {
        return `option '${name}' is ambiguous; possibilities: ${
          matches.map((m) => `'${m}'`).join(" ")
        }`;
      }
      const full = matches[0] ?? name;
      out.push([full, ...value].join("="));
      if (value.length === 0 && takesValue.has(full)) {
        out.push(...args.slice(i + 1, i + 2));
        i++;
      }
    } else if (/^-[A-Za-z0-9]/.test(arg)) {
      const { names, value, takesNext } = shortBundle(arg);
      // Digits are grep's -NUM wherever they sit in a bundle (`-2n`, `-n2`); a run of them is one
      // number, and the last run counts.
      let context = "";
      const letters: string[] = [];
      names.forEach((name, j) => {
        if (!/^-[0-9]$/.test(name)) letters.push(name === "-y" ? "i" : name[1]);
        else context = j > 0 && /^-[0-9]$/.test(names[j - 1]) ? context + name[1] : name[1];
      });
      if (context !== "") out.push(`--context=${context}`);
      if (letters.length > 0) out.push(`-${letters.join("")}${value}`);
      if (takesNext) {
        out.push(...args.slice(i + 1, i + 2));
        i++;
      }
    } else out.push(arg);
  }
  return out;
}

function queryOf(pattern: string | undefined, flags: GrepFlags): GrepQuery | string {
  const patterns = flags.regexp ?? (pattern === undefined ? [] : [pattern]);
  if (patterns.length === 0) return "no pattern: give PATTERN or -e PATTERN";
  const syntaxes = [flags.extendedRegexp, flags.fixedStrings, flags.basicRegexp].filter(Boolean);
  if (syntaxes.length > 1) return "conflicting matchers: give at most one of -E, -F, -G";
  // Quiet needs one selected line, so each file is searched no further than its first.
  const limit = flags.maxCount === -1 ? undefined : flags.maxCount;
  const maxCount = flags.quiet ? Math.min(limit ?? 1, 1) : limit;
  const query: GrepQuery = {
    patterns,
    syntax: flags.extendedRegexp ? "extended" : flags.fixedStrings ? "fixed" : "basic",
    ignoreCase: flags.ignoreCase ?? false,
    invert: flags.invertMatch ?? false,
    word: flags.wordRegexp ?? false,
    line: flags.lineRegexp ?? false,
    count: flags.count ?? false,
    lineNumber: flags.lineNumber ?? false,
    filesWithMatches: flags.filesWithMatches ?? false,
    filesWithoutMatch: flags.filesWithoutMatch ?? false,
    onlyMatching: flags.onlyMatching ?? false,
    ...(flags.filename ? {} : { noFilename: true }),
    ...(flags.text ? { text: true } : {}),
    ...(maxCount === undefined ? {} : { maxCount }),
    ...(flags.afterContext ?? flags.context) === undefined
      ? {}
      : { after: flags.afterContext ?? flags.context },
    ...(flags.beforeContext ?? flags.context) === undefined
      ? {}
      : { before: flags.beforeContext ?? flags.context },
  };
  // What every member would refuse (too many patterns, one too long) is a usage error here.
  const problem = queryProblem(query);
  return problem === undefined ? query : `the query cannot be sent: ${problem}`;
}

const encoder = new TextEncoder();

async function grep(pattern: string | undefined, flags: GrepFlags): Promise<number> {
  const query = queryOf(pattern, flags);
  if (typeof query === "string") {
    err(`error: ${query}\n`);
    return 2;
  }
  const started = performance.now();
  let members: string[];
  let keyring;
  try {
    keyring = await loadKeyring(flags.keyFile);
    const stats = await fetchStats(flags.node, flags.timeout, keyring);
    members = [
      stats.self.address,
      // A suspect is most often alive, and refutes: it is asked too.
      ...stats.members.filter((m) => m.status === "alive" || m.status === "suspect")
        .map((m) => m.address),
    ];
  } catch (error) {
    err(`error: ${(error as Error).message}\n`);
    return 2;
  }
  let broken = flags.quiet ?? false;
  // A closed stdout (`| head`) stops the query on every member, as grep stops when its reader
  // goes: nobody reads what more they would send.
  const closed = new AbortController();
  const write = (bytes: Uint8Array) => {
    if (broken) return;
    try {
      let offset = 0;
      while (offset < bytes.length) offset += Deno.stdout.writeSync(bytes.subarray(offset));
    } catch {
      broken = true;
      if (!flags.quiet) closed.abort();
    }
  };
  const grouped = new GroupedOutput(query, write);
  // Quiet, a selected line anywhere settles the exit status: the others are stopped, as grep -q
  // stops at its first match. (-c and -L write lines for files without a match too.)
  const settled = flags.quiet === true && !query.count && !query.filesWithoutMatch;
  const selected = () => {
    if (settled) closed.abort();
  };
  const outcomes = await fanOut(members, query, {
    mode: flags.json ? "records" : "text",
    idleTimeoutMs: flags.timeout * 1000,
    bytesMax: flags.maxOutput,
    keyring,
    onText: (member, data) => {
      selected();
      grouped.add(member, data);
    },
    onEnd: (member) => grouped.end(member),
    onRecord: (member, record) => {
      selected();
      write(encoder.encode(JSON.stringify({ member, ...record }) + "\n"));
    },
    signal: closed.signal,
  });
  // Its reader gone (or, quiet, a line selected), grep ends quietly: lines were selected, and
  // whoever asked took what it wanted.
  if (closed.signal.aborted) return 0;
  const elapsedMs = performance.now() - started;
  return finish(outcomes, query, elapsedMs, flags.summary, flags.quiet ?? false);
}

/**
 * Prints the summary and works out grep's exit status. Quiet, as grep -q: a selected line anywhere
 * is success whatever else went wrong, and the summary is shown only when something did.
 */
function finish(
  outcomes: MemberOutcome[],
  query: GrepQuery,
  elapsedMs: number,
  summary: boolean,
  quiet: boolean,
): number {
  const failed = outcomes.filter((o) => o.failure !== undefined);
  const errors = outcomes.filter((o) => o.done !== undefined && o.done.exitCode === 2);
  // Quiet, a selected line is success even beside an error on that member (an unreadable file);
  // output means a selected line unless it is a count or a file without one (-c, -L).
  const matched = outcomes.some((o) =>
    o.done?.exitCode === 0 || (quiet && !query.count && !query.filesWithoutMatch && o.lines > 0)
  );
  if (quiet && (matched || failed.length + errors.length === 0)) return matched ? 0 : 1;
  // The same grep error everywhere (an invalid regular expression) is one line, not one per member.
  const messages = new Set(errors.map((o) => o.done!.error.split("\n")[0]));
  if (errors.length === outcomes.length && messages.size === 1 && failed.length === 0) {
    err(`error: ${[...messages][0].replace(/^(\S*\/)?grep: /, "")}\n`);
    return 2;
  }
  if (summary) {
    const lines = outcomes.reduce((sum, o) => sum + o.lines, 0);
    const answered = outcomes.length - failed.length;
    const width = Math.max(...outcomes.map((o) => o.member.length));
    const rows = outcomes.map((o) => {
      const took = `${(o.elapsedMs / 1000).toFixed(2)} s`;
      const what = o.failure !== undefined
        ? `failed: ${o.failure} (${counted(o.lines, "line")} before)`
        : `${counted(o.lines, "line")}, ${counted(o.done!.files, "file")}`;
      const notes = [
        o.done?.truncated ? "output cut at --max-output" : "",
        o.done?.timedOut ? "grep timed out" : "",
        o.done !== undefined && o.done.error !== "" ? o.done.error.replaceAll("\n", "; ") : "",
      ].filter((n) => n !== "");
      return `  ${o.member.padEnd(width)}  ${what}  ${took}${
        notes.length > 0 ? `  (${notes.join("; ")})` : ""
      }`;
    });
    err(
      `member grep: ${counted(lines, "line")} from ${answered} of ${
        counted(outcomes.length, "member")
      } in ${(elapsedMs / 1000).toFixed(2)} s\n${rows.join("\n")}\n`,
    );
  }
  if (!summary) {
    // Without the summary, grep's own diagnostics and the failures still go to stderr, as grep's
    // do.
    for (const o of outcomes) {
      const said = [
        o.failure !== undefined ? `failed: ${o.failure}` : o.done?.error ?? "",
        o.done?.truncated ? "output cut at --max-output" : "",
      ].join("\n");
      for (const line of said.split("\n")) {
        if (line !== "") err(`member grep: ${o.member}: ${line}\n`);
      }
    }
  }
  if (failed.length > 0 || errors.length > 0) return 2;
  return matched ? 0 : 1;
}
