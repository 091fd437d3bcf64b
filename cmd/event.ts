/**
 * `member event NAME [PAYLOAD]`: send a user event through a running node to every member of the
 * cluster. Each member running now logs it once as a USER line, and hands it to its watches and to
 * its `--on USER` handlers; members that join later do not get it.
 */
import { Command } from "commander";
import { UsageError } from "./_cli.ts";
import { type ControlFlags, controlOptions, runControl } from "./_client.ts";
import { userEventProblem } from "../mod/core/user_events.ts";

/** The `event` subcommand. */
export function eventCommand(setExit: (code: number) => void): Command {
  const command = new Command("event")
    .description(
      "Send a user event to every member running now: each logs it once (USER name=NAME " +
        "payload=...) and runs its --on USER handlers. The payload is at most 1 KiB.",
    )
    .argument("<NAME>", "1 to 64 letters, digits, '_', '.', '-', ':' or '/'")
    .argument("[PAYLOAD]", "any text, at most 1,024 bytes", "")
    .addHelpText(
      "after",
      '\nExamples:\n  member event deploy v2.3\n  member event restart-cache \'{"region":"eu"}\'\n',
    );
  return controlOptions(command, 10, "print the answer as JSON")
    .action(async (name: string, payload: string, flags: ControlFlags) => {
      // Refused here, in one line, rather than by the node.
      const problem = userEventProblem(name, payload);
      if (problem !== undefined) throw new UsageError(problem);
      await runControl(flags, {
        kind: "control-request",
        action: "event",
        eventName: name,
        eventPayload: payload,
      });
      setExit(0);
    });
}
