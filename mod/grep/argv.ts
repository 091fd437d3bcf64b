/**
 * A query turned into GNU grep's arguments, without a shell and only from an allowlist: the query
 * arrives structured (mod/wire/grep_query.ts), and nothing in it can name another file to read.
 */
import type { GrepQuery, OutputMode } from "../wire/grep_query.ts";

/** GNU grep's arguments for a query over `files`, without a shell and only from the allowlist. */
export function grepArgv(query: GrepQuery, files: readonly string[], mode: OutputMode): string[] {
  // Records need the file name of every line; text leaves it out only when asked to (-h).
  const argv = [
    "--color=never",
    query.noFilename && mode === "text" ? "--no-filename" : "--with-filename",
  ];
  argv.push(
    query.syntax === "extended"
      ? "--extended-regexp"
      : query.syntax === "fixed"
      ? "--fixed-strings"
      : "--basic-regexp",
  );
  if (query.text) argv.push("--text");
  if (query.ignoreCase) argv.push("--ignore-case");
  if (query.invert) argv.push("--invert-match");
  if (query.word) argv.push("--word-regexp");
  if (query.line) argv.push("--line-regexp");
  if (query.count) argv.push("--count");
  if (query.filesWithMatches) argv.push("--files-with-matches");
  if (query.filesWithoutMatch) argv.push("--files-without-match");
  if (query.onlyMatching) argv.push("--only-matching");
  if (query.lineNumber || mode === "records") argv.push("--line-number");
  if (mode === "records") argv.push("--null");
  if (query.maxCount !== undefined) argv.push(`--max-count=${query.maxCount}`);
  if (query.after !== undefined) argv.push(`--after-context=${query.after}`);
  if (query.before !== undefined) argv.push(`--before-context=${query.before}`);
  for (const pattern of query.patterns) argv.push(`--regexp=${pattern}`);
  argv.push("--", ...files);
  return argv;
}

/** Whether a query's output is file names alone (-l, -L), one per file. */
export function namesOnly(query: GrepQuery): boolean {
  return query.filesWithMatches || query.filesWithoutMatch;
}

/**
 * The byte that ends one unit of output: a newline, except that file names alone in records
 * mode end with the NUL of `-Z`.
 */
export function outputTerminator(query: GrepQuery, mode: OutputMode): number {
  return mode === "records" && namesOnly(query) ? 0 : 10;
}
