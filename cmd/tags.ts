/**
 * `member tags`: what a running node says about itself (its role, its version, its zone), shown or
 * changed. A change spreads to every member and is logged as UPDATE in each event log.
 */
import { Command } from "commander";
import type { Tags } from "../mod/core/types.ts";
import { out, UsageError } from "./_cli.ts";
import { type ControlFlags, controlOptions, loadKeyring, runControl } from "./_client.ts";
import { tagKey, tagPair } from "./_tags.ts";
import { fetchStats } from "./stats.ts";

interface TagsFlags extends ControlFlags {
  set?: Tags;
  delete?: string[];
}

/** The `tags` subcommand. */
export function tagsCommand(setExit: (code: number) => void): Command {
  const command = new Command("tags")
    .description(
      "Show or change the node's tags: what it says about itself, which reaches every member " +
        "(`member members --tag`, `member stats`, `member watch`, handlers' MEMBER_TAGS) and is " +
        "logged as UPDATE. Without --set or --delete it prints them, one KEY=VALUE a line. " +
        "A node takes at most 64 tags in 1,024 bytes; past that it refuses the change (exit 1).",
    )
    .option(
      "--set <KEY=VALUE>",
      "add or replace a tag (repeatable); KEY: 1 to 64 letters, digits, _ . - /",
      tagPair,
    )
    .option("--delete <KEY>", "remove a tag (repeatable)", tagKey)
    .addHelpText(
      "after",
      "\nExamples:\n  member tags --set role=web --set zone=b\n  member tags --delete zone\n" +
        "  member tags --json\n",
    );
  return controlOptions(
    command,
    10,
    "print the answer and the node's own entry after it (its tags included) as JSON; alone, " +
      'print {"id":ID,"tags":{...}}',
  )
    .action(async (flags: TagsFlags) => {
      if (flags.set === undefined && flags.delete === undefined) {
        // Only a question: answered from the node's stats, so it works from any machine.
        const stats = await fetchStats(flags.node, flags.timeout, await loadKeyring(flags.keyFile));
        const tags = stats.self.tags ?? {};
        out(
          flags.json
            ? JSON.stringify({ id: stats.self.id, tags }) + "\n"
            : Object.entries(tags).map(([key, value]) => `${key}=${value}\n`).join(""),
        );
        setExit(0);
        return;
      }
      const both = (flags.delete ?? []).find((key) => Object.hasOwn(flags.set ?? {}, key));
      if (both !== undefined) {
        throw new UsageError(`tag '${both}' is both set and deleted: give one of the two`);
      }
      await runControl(flags, {
        kind: "control-request",
        action: "tags",
        setTags: flags.set ?? {},
        deleteTags: flags.delete ?? [],
      });
      setExit(0);
    });
}
