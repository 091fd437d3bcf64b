/**
 * `member keygen`: print a new cluster key. Put it in a key file on every machine (readable only
 * by the service) and start each node with `member serve --key-file FILE`.
 */
import { Command } from "commander";
import { generateKey } from "../mod/wire/seal.ts";
import { out } from "./_cli.ts";

/** The `keygen` subcommand. */
export function keygenCommand(setExit: (code: number) => void): Command {
  return new Command("keygen")
    .description(
      "Print a new random 256-bit cluster key (base64). A key file holds one key per line: the " +
        "first seals, every one opens, so keys rotate without downtime.",
    )
    .addHelpText(
      "after",
      "\nExample:\n  member keygen > /etc/member/keys && chmod 600 /etc/member/keys\n" +
        "  member serve --join 10.0.0.1:3000 --key-file /etc/member/keys\n",
    )
    .action(() => {
      out(generateKey() + "\n");
      setExit(0);
    });
}
