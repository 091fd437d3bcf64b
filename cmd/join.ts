/**
 * `member join`: make a node that left join the group again, as a new version.
 */
import { Command } from "commander";
import { type ControlFlags, controlOptions, runControl } from "./_client.ts";

/** The `join` subcommand. */
export function joinCommand(setExit: (code: number) => void): Command {
  return controlOptions(
    new Command("join")
      .description("Make the node (which left with `member leave`) join again, as a new member."),
    30,
    "print the answer, and the node's own entry after it, as JSON",
  )
    .action(async (flags: ControlFlags) => {
      await runControl(flags, { kind: "control-request", action: "join" });
      setExit(0);
    });
}
