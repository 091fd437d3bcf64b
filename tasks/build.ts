/**
 * `deno task compile` and `deno task bundle`: build the single binary (`dist/member`, with
 * `deno compile`) or the single-file bundle (`dist/member.js`, with `deno bundle`), which runs
 * anywhere Deno does with the same flags. `deno compile` downloads its runtime the first time.
 */
import { binaryFlags } from "./flags.ts";

const root = new URL("..", import.meta.url).pathname;

async function run(args: string[]): Promise<boolean> {
  console.error(`$ deno ${args.join(" ")}`);
  const status = await new Deno.Command(Deno.execPath(), { args, cwd: root }).spawn().status;
  return status.success;
}

const what = Deno.args[0];
if (what === "compile") {
  const target = Deno.args[1];
  const ok = await run([
    "compile",
    ...binaryFlags,
    ...(target === undefined ? [] : ["--target", target]),
    "--output",
    target === undefined ? "dist/member" : `dist/member-${target}`,
    "main.ts",
  ]);
  Deno.exit(ok ? 0 : 1);
} else if (what === "bundle") {
  Deno.exit((await run(["bundle", "--quiet", "main.ts", "--output", "dist/member.js"])) ? 0 : 1);
} else {
  console.error("usage: deno run tasks/build.ts compile [TARGET] | bundle");
  Deno.exit(2);
}
