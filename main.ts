/**
 * member: cluster membership by gossip, failure detection in seconds, and a grep over every live
 * member's logs. This is the entry point: argv to subcommand to exit code.
 *
 * Exit codes: 0 success, 1 runtime failure, 2 usage error (grep: 0 matched, 1 none, 2 error).
 */
import { Command, CommanderError } from "commander";
import { editDistance, RuntimeFailure, UsageError } from "./cmd/_cli.ts";
import { grepCommand, preparedArgs } from "./cmd/grep.ts";
import { joinCommand } from "./cmd/join.ts";
import { keygenCommand } from "./cmd/keygen.ts";
import { leaveCommand } from "./cmd/leave.ts";
import { eventCommand } from "./cmd/event.ts";
import { membersCommand } from "./cmd/members.ts";
import { serveCommand } from "./cmd/serve.ts";
import { setCommand } from "./cmd/set.ts";
import { simCommand } from "./cmd/sim.ts";
import { statsCommand } from "./cmd/stats.ts";
import { tagsCommand } from "./cmd/tags.ts";
import { vizCommand } from "./cmd/viz.ts";
import { watchCommand } from "./cmd/watch.ts";
import { version } from "./mod/version.ts";

/** Runs the command line and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let exitCode = 0;
  const setExit = (code: number) => {
    exitCode = code;
  };
  const program = new Command("member")
    .description(
      "Cluster membership by gossip-style heartbeating with suspicion: fast failure detection, " +
        "tags that say what each member is, a grep over every live member's logs, statistics, " +
        "and a replay in the browser.",
    )
    .version(version, "-V, --version")
    .showSuggestionAfterError(true)
    .exitOverride()
    .addCommand(serveCommand(setExit))
    .addCommand(joinCommand(setExit))
    .addCommand(leaveCommand(setExit))
    .addCommand(statsCommand(setExit))
    .addCommand(membersCommand(setExit))
    .addCommand(eventCommand(setExit))
    .addCommand(grepCommand(setExit))
    .addCommand(watchCommand(setExit))
    .addCommand(setCommand(setExit))
    .addCommand(tagsCommand(setExit))
    .addCommand(vizCommand(setExit))
    .addCommand(keygenCommand(setExit))
    .addCommand(simCommand(setExit));
  for (const command of [program, ...program.commands]) {
    command.exitOverride().configureOutput({
      // Colour detection would read the environment, which the binary is not allowed to.
      getOutHasColors: () => false,
      getErrHasColors: () => false,
      // One line: commander puts its suggestion on a second.
      outputError: (text, write) =>
        write(text.trimEnd().replace(/\n\(Did you mean (.*)\)$/, " (did you mean $1)") + "\n"),
    });
  }
  // An unknown command is one line, whether asked for help with it or not.
  const named = args[0] === "help" ? args[1] : args[0];
  if (
    named !== undefined && !named.startsWith("-") && named !== "help" &&
    !program.commands.some((command) => command.name() === named)
  ) {
    const near = program.commands.map((command) => command.name())
      .find((name) => name[0] === named[0] && editDistance(name, named) <= 2);
    console.error(
      `error: unknown command '${named}'${
        near ? ` (did you mean ${near}?)` : ""
      }; see member --help`,
    );
    return 2;
  }
  if (args[0] === "grep") {
    const grep = program.commands.find((command) => command.name() === "grep")!;
    const prepared = preparedArgs(args.slice(1), grep);
    if (typeof prepared === "string") {
      console.error(`error: ${prepared}`);
      return 2;
    }
    args = ["grep", ...prepared];
  }
  try {
    await program.parseAsync(args, { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return 0;
      // `member help` asked for help (0); `member` alone is a usage error shown with help.
      if (error.code === "commander.help" && error.exitCode === 0) return 0;
      return 2;
    }
    if (error instanceof UsageError) {
      console.error(`error: ${error.message}`);
      return 2;
    }
    if (error instanceof RuntimeFailure) {
      console.error(`error: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
