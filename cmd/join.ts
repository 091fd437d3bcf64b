/**
 * `member join`: make a node that left join the group again, as a new version.
 */
import { Command } from "commander";
import { out, RuntimeFailure } from "./_cli.ts";
import { control, nodeOption, timeoutOption } from "./_client.ts";

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
    .option("--json", "print the answer as JSON")
    .action(async (flags: JoinFlags) => {
      const reply = await control(
        flags.node,
        { kind: "control-request", action: "join" },
        flags.timeout,
      );
      if (flags.json) out(JSON.stringify({ ok: reply.ok, message: reply.message }) + "\n");
      if (!reply.ok) throw new RuntimeFailure(reply.message);
      if (!flags.json) out(reply.message + "\n");
      setExit(0);
    });
}
