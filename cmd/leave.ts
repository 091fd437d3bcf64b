/**
 * `member leave`: make a node leave the group voluntarily. The others log LEAVE, never FAIL.
 */
import { Command } from "commander";
import { nodeOption, runControl, timeoutOption } from "./_client.ts";

interface LeaveFlags {
  node: string;
  timeout: number;
  json?: boolean;
}

/** The `leave` subcommand. */
export function leaveCommand(setExit: (code: number) => void): Command {
  return new Command("leave")
    .description(
      "Make the node leave the group voluntarily; it keeps running, and `member join` brings it " +
        "back as a new member.",
    )
    .addOption(nodeOption())
    .addOption(timeoutOption(30))
    .option("--json", "print the answer, and the node's own entry after it, as JSON")
    .action(async (flags: LeaveFlags) => {
      await runControl(
        flags.node,
        { kind: "control-request", action: "leave" },
        flags.timeout,
        flags.json === true,
      );
      setExit(0);
    });
}
