/**
 * Tags on the command line: `KEY=VALUE` pairs (`serve --tag`, `tags --set`), keys alone
 * (`tags --delete`) and `KEY=REGEX` filters (`members --tag`), each refused with one line naming
 * the flag (exit 2) when it cannot be one.
 */
import { InvalidArgumentError } from "commander";
import { tagKeyPattern } from "../mod/core/tags.ts";
import type { Tags } from "../mod/core/types.ts";

/** Why a tag key cannot be one, in the words of `tagsProblem`, or undefined when it can. */
function keyProblem(key: string): string | undefined {
  return tagKeyPattern.test(key) ? undefined : `tag key '${key}' must be 1 to 64 letters, ` +
    "digits, '_', '.', '-' or '/', beginning with a letter or digit";
}

/** Splits `KEY=VALUE` at its first `=`; the value may be empty and may hold `=`. */
function split(text: string, what: string): [string, string] {
  const eq = text.indexOf("=");
  if (eq < 0) throw new InvalidArgumentError(`expected ${what}, got '${text}'`);
  const key = text.slice(0, eq);
  const problem = keyProblem(key);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  return [key, text.slice(eq + 1)];
}

/** Parses one repeatable `KEY=VALUE` into the tags before it; a later key replaces an earlier. */
export function tagPair(text: string, previous: Tags = {}): Tags {
  const [key, value] = split(text, "KEY=VALUE");
  return { ...previous, [key]: value };
}

/** Parses one repeatable `KEY` (a tag to delete) into the keys before it. */
export function tagKey(text: string, previous: string[] = []): string[] {
  const problem = keyProblem(text);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  return [...previous, text];
}

/** One `--tag KEY=REGEX` filter: the regular expression must match the whole value. */
export interface TagFilter {
  readonly key: string;
  readonly pattern: RegExp;
}

/** Parses one repeatable `KEY=REGEX` filter; a regular expression that does not compile is refused. */
export function tagFilter(text: string, previous: TagFilter[] = []): TagFilter[] {
  const [key, source] = split(text, "KEY=REGEX");
  let pattern: RegExp;
  try {
    // Anchored, as Serf anchors its filters: role=web does not match webserver.
    pattern = new RegExp(`^(?:${source})$`, "u");
  } catch (error) {
    throw new InvalidArgumentError(
      `'${source}' is not a regular expression: ${(error as Error).message}`,
    );
  }
  return [...previous, { key, pattern }];
}

/** True when `tags` has every filter's key, with a value its expression matches whole. */
export function tagsMatch(tags: Tags, filters: readonly TagFilter[]): boolean {
  return filters.every(({ key, pattern }) => Object.hasOwn(tags, key) && pattern.test(tags[key]));
}
