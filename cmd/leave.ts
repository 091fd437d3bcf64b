/**
 * `member leave`: make a node leave the group voluntarily. The others log LEAVE, never FAIL.
 */
import { Command } from "commander";
import { out, RuntimeFailure } from "./_cli.ts";
import { control, nodeOption, timeoutOption } from "./_client.ts";

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
    .option("--json", "print the answer as JSON")
    .action(async (flags: LeaveFlags) => {
      const reply = await control(
        flags.node,
        { kind: "control-request", action: "leave" },
        flags.timeout,
      );
      if (flags.json) out(JSON.stringify({ ok: reply.ok, message: reply.message }) + "\n");
      if (!reply.ok) throw new RuntimeFailure(reply.message);
      if (!flags.json) out(reply.message + "\n");
      setExit(0);
    });
}
