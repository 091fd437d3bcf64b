/**
 * `member leave`: make a node leave the group voluntarily. The others log LEAVE, never FAIL.
 */
import { Command } from "commander";
import { type ControlFlags, controlOptions, runControl } from "./_client.ts";

/** The `leave` subcommand. */
export function leaveCommand(setExit: (code: number) => void): Command {
  return controlOptions(
    new Command("leave")
      .description(
        "Make the node leave the group voluntarily; it keeps running, and `member join` brings it " +
          "back as a new member.",
      ),
    30,
    "print the answer, and the node's own entry after it, as JSON",
  )
    .action(async (flags: ControlFlags) => {
      await runControl(flags, { kind: "control-request", action: "leave" });
      setExit(0);
    });
}
