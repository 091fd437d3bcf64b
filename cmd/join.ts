/**
 * `member join`: make a node that left join the group again, as a new version.
 */
import { Command } from "commander";
import { nodeOption, runControl, timeoutOption } from "./_client.ts";

interface JoinFlags {
  node: string;
  timeout: number;
  json?: boolean;
}

/** The `join` subcommand. */
export function joinCommand(setExit: (code: number) => void): Command {
  return new Command("join")
    .description("Make the node (which left with `member leave`) join again, as a new member.")
    .addOption(nodeOption())
    .addOption(timeoutOption(30))
    .option("--json", "print the answer, and the node's own entry after it, as JSON")
    .action(async (flags: JoinFlags) => {
      await runControl(
        flags.node,
        { kind: "control-request", action: "join" },
        flags.timeout,
        flags.json === true,
      );
      setExit(0);
    });
}
