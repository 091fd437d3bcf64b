/**
 * `deno task compile` and `deno task bundle`: build the single binary (`dist/member`, with
 * `deno compile`) or the single-file bundle (`dist/member.js`, with `deno bundle`), which runs
 * anywhere Deno does with the same flags. `deno compile` downloads its runtime the first time.
 *
 *   deno task compile [--target TARGET] [--data-dir DIR]... [--grep PATH_OR_GLOB]... [--key-file FILE]...
 *
 * With --data-dir (and the others), the binary's file access is limited to those paths; without,
 * it may read and write anywhere its user may.
 */
import { binaryFlags, type FilePaths } from "./flags.ts";

const root = new URL("..", import.meta.url).pathname;

async function run(args: string[]): Promise<boolean> {
  console.error(`$ deno ${args.join(" ")}`);
  const status = await new Deno.Command(Deno.execPath(), { args, cwd: root }).spawn().status;
  return status.success;
}

function values(args: string[], flag: string): string[] {
  const found: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === flag && i + 1 < args.length) found.push(args[++i]);
  }
  return found;
}

const [what, ...rest] = Deno.args;
if (what === "compile") {
  const target = values(rest, "--target")[0];
  const dataDirs = values(rest, "--data-dir");
  const paths: FilePaths | undefined = dataDirs.length === 0 ? undefined : {
    dataDirs,
    grepPaths: values(rest, "--grep"),
    keyFiles: values(rest, "--key-file"),
  };
  const ok = await run([
    "compile",
    ...binaryFlags(paths),
    ...(target === undefined ? [] : ["--target", target]),
    "--output",
    target === undefined ? "dist/member" : `dist/member-${target}`,
    "main.ts",
  ]);
  Deno.exit(ok ? 0 : 1);
} else if (what === "bundle") {
  Deno.exit((await run(["bundle", "--quiet", "main.ts", "--output", "dist/member.js"])) ? 0 : 1);
} else {
  console.error("usage: deno run tasks/build.ts compile [--target T] [--data-dir D]... | bundle");
  Deno.exit(2);
}
