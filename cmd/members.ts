/**
 * `member members`: the list as Serf prints it, one member a line (id, address, status, tags as
 * `k=v,k=v`), filtered by status and by tags, so that a script can ask "the web members in zone
 * b that are alive" of any node.
 */
import { Command, InvalidArgumentError } from "commander";
import type { EntryJson } from "../mod/node/stats.ts";
import { tagsText } from "../mod/node/tags.ts";
import { out } from "./_cli.ts";
import { keyFileOption, loadKeyring, nodeOption, timeoutOption } from "./_client.ts";
import { type TagFilter, tagFilter, tagsMatch } from "./_tags.ts";
import { fetchStats } from "./stats.ts";

interface MembersFlags {
  node: string;
  timeout: number;
  keyFile?: string;
  json?: boolean;
  status?: string[];
  tag?: TagFilter[];
}

const statuses = ["alive", "suspect", "failed", "left"];

/** Parses `--status alive,suspect,...`. */
function statusList(text: string): string[] {
  const list = text.split(",").map((s) => s.trim().toLowerCase());
  const unknown = list.find((s) => !statuses.includes(s));
  if (unknown !== undefined) {
    throw new InvalidArgumentError(
      `unknown status '${unknown}': give a comma list of ${statuses.join(", ")}`,
    );
  }
  return list;
}

/** The `members` subcommand. */
export function membersCommand(setExit: (code: number) => void): Command {
  return new Command("members")
    .description(
      "List the members the node knows, itself included, one a line: id, address, status and " +
        "tags (k=v,k=v), sorted by address; filtered by --status and --tag.",
    )
    .option(
      "--status <LIST>",
      "only members of these statuses: a comma list of alive, suspect, failed, left",
      statusList,
    )
    .option(
      "--tag <KEY=REGEX>",
      "only members with tag KEY whose value REGEX matches whole (repeatable: all must match)",
      tagFilter,
    )
    .addOption(nodeOption())
    .addOption(timeoutOption(5))
    .addOption(keyFileOption())
    .option(
      "--json",
      "print a JSON array of entries: id, address, version, status, tags, heartbeat, ... " +
        "(as member stats --json prints them)",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  member members --status alive,suspect\n" +
        "  member members --tag role=web --tag 'zone=(a|b)' --json\n",
    )
    .action(async (flags: MembersFlags) => {
      const stats = await fetchStats(flags.node, flags.timeout, await loadKeyring(flags.keyFile));
      const listed = selected([stats.self, ...stats.members], flags.status, flags.tag ?? []);
      out(flags.json ? JSON.stringify(listed) + "\n" : render(listed));
      setExit(0);
    });
}

/** The entries that pass the filters, sorted by address. */
function selected(
  entries: readonly EntryJson[],
  status: readonly string[] | undefined,
  filters: readonly TagFilter[],
): EntryJson[] {
  return entries
    .filter((entry) => status === undefined || status.includes(entry.status))
    // A node of a build before tags answers without them: such a member has none.
    .filter((entry) => tagsMatch(entry.tags ?? {}, filters))
    .sort((a, b) => a.address.localeCompare(b.address));
}

/** Serf's columns, aligned: id, address, status, tags. */
function render(entries: readonly EntryJson[]): string {
  const rows = entries.map((e) => [e.id, e.address, e.status, tagsText(e.tags ?? {})]);
  const widths = [0, 1, 2].map((i) => Math.max(0, ...rows.map((row) => row[i].length)));
  return rows.map((row) =>
    row.map((cell, i) => i < 3 ? cell.padEnd(widths[i]) : cell).join("  ").trimEnd() + "\n"
  ).join("");
}
