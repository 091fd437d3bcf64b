/**
 * `member set`: change a running node's settings: its receive-side drop rate, and the suspicion
 * switch of the whole cluster.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { numberIn, UsageError } from "./_cli.ts";
import { type ControlFlags, controlOptions, runControl } from "./_client.ts";

interface SetFlags extends ControlFlags {
  dropRate?: number;
  suspicion?: "on" | "off";
}

/** The `set` subcommand. */
export function setCommand(setExit: (code: number) => void): Command {
  const command = new Command("set")
    .description(
      "Change a running node's settings: its receive-side drop rate (this node only) and the " +
        "suspicion switch (spreads to the whole cluster).",
    )
    .option("--drop-rate <P>", "drop this share of incoming datagrams (0 to 1)", numberIn(0, 1))
    .addOption(
      new Option("--suspicion <on|off>", "suspect silent members before failing them")
        .choices(["on", "off"])
        .argParser((text: string) => {
          const value = text.toLowerCase();
          if (value !== "on" && value !== "off") {
            throw new InvalidArgumentError(`expected on or off, got '${text}'`);
          }
          return value;
        }),
    )
    .addHelpText("after", "\nExample:\n  member set --drop-rate 0.1 --suspicion off\n");
  return controlOptions(command, 10, "print the answer, and the node's settings after it, as JSON")
    .action(async (flags: SetFlags) => {
      if (flags.dropRate === undefined && flags.suspicion === undefined) {
        throw new UsageError("nothing to set: give --drop-rate and/or --suspicion");
      }
      await runControl(flags, {
        kind: "control-request",
        action: "set",
        ...(flags.dropRate === undefined ? {} : { dropRate: flags.dropRate }),
        ...(flags.suspicion === undefined ? {} : { suspicion: flags.suspicion === "on" }),
      });
      setExit(0);
    });
}
