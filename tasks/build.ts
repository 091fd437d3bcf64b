/**
 * `deno task compile` and `deno task bundle`: build the single binary (`dist/member`, with
 * `deno compile`) or the single-file bundle (`dist/member.js`, with `deno bundle`), which runs
 * anywhere Deno does with the same flags. `deno compile` downloads its runtime the first time.
 *
 *   deno task compile [--target TARGET] [--data-dir DIR]... [--grep PATH_OR_GLOB]... [--key-file FILE]...
 *                     [--handler PROGRAM]...
 *
 * With --data-dir (and the others), the binary's file access is limited to those paths; without,
 * it may read and write anywhere its user may. It may run grep, and the --handler programs
 * (absolute paths) that `serve --on` names, nothing else.
 */
import { binaryFlags, type FilePaths } from "./flags.ts";

const root = new URL("..", import.meta.url).pathname;

async function run(args: string[]): Promise<boolean> {
  console.error(`$ deno ${args.join(" ")}`);
  const status = await new Deno.Command(Deno.execPath(), { args, cwd: root }).spawn().status;
  return status.success;
}

const encoder = new TextEncoder();
// deno colours its messages even when piped; the patterns below read the text.
// deno-lint-ignore no-control-regex
const colour = /\x1b\[[0-9;]*m/g;

/**
 * Runs `deno compile`, its messages shown as they come, until an error begins: that is held back.
 * A runtime that could not be fetched (no network, a proxy, a mirror down) is said in one line
 * with the ways on, instead of deno's chain of causes and a backtrace; any other error is shown
 * as deno wrote it.
 */
async function compile(args: string[], output: string): Promise<boolean> {
  console.error(`$ deno ${args.join(" ")}`);
  const child = new Deno.Command(Deno.execPath(), { args, cwd: root, stderr: "piped" }).spawn();
  let held = "";
  let pending = "";
  for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) {
      if (held === "" && !/^error/.test(line.replace(colour, ""))) {
        Deno.stderr.writeSync(encoder.encode(line + "\n"));
      } else {
        held += line + "\n";
      }
    }
  }
  held += pending;
  const status = await child.status;
  if (status.success) return true;
  const text = held.replace(colour, "");
  if (/Setting up base binary/.test(text)) {
    const url = text.match(/url \((\S+?)\)/)?.[1] ?? "the Deno runtime (denort)";
    const causes = text.split("Stack backtrace")[0].split("\n")
      .filter((line) => /^\s*\d+: /.test(line));
    const cause = causes.at(-1)?.replace(/^\s*\d+: /, "").trim() ?? "no reason given";
    console.error(
      `error: cannot build ${output}: deno compile could not fetch its runtime from ${url} ` +
        `(${cause}); run \`deno task bundle\` for dist/member.js, which runs wherever Deno 2.9 ` +
        "does, or compile on a machine that can reach that address",
    );
  } else {
    Deno.stderr.writeSync(encoder.encode(held));
  }
  return false;
}

const usage =
  "usage: deno task compile [--target TARGET] [--data-dir DIR]... [--grep PATH_OR_GLOB]... " +
  "[--key-file FILE]... [--handler PROGRAM]...\n       deno task bundle";

/**
 * The values of each flag, `--flag VALUE` or `--flag=VALUE`; exits 2 on anything else, for a
 * mistyped flag would build a binary with wider file access than asked for.
 */
function parse(args: string[], flags: readonly string[]): Map<string, string[]> {
  const found = new Map(flags.map((flag) => [flag, [] as string[]]));
  for (let i = 0; i < args.length; i++) {
    const eq = args[i].indexOf("=");
    const flag = eq > 0 ? args[i].slice(0, eq) : args[i];
    const value = eq > 0 ? args[i].slice(eq + 1) : args[++i];
    if (!found.has(flag) || value === undefined || value === "") {
      console.error(
        `error: ${
          found.has(flag)
            ? `${flag} needs a value`
            : `unknown argument '${args[eq > 0 ? i : i - 1]}'`
        }\n${usage}`,
      );
      Deno.exit(2);
    }
    found.get(flag)!.push(value);
  }
  return found;
}

const [what, ...rest] = Deno.args;
if (what === "compile") {
  const values = parse(rest, ["--target", "--data-dir", "--grep", "--key-file", "--handler"]);
  const handlers = values.get("--handler")!;
  for (const handler of handlers) {
    // The permission names the program exactly as serve will run it; a list flag cannot hold ','.
    if (!handler.startsWith("/") || handler.includes(",")) {
      console.error(`error: --handler ${handler}: give an absolute path without ','\n${usage}`);
      Deno.exit(2);
    }
  }
  const target = values.get("--target")![0];
  const dataDirs = values.get("--data-dir")!;
  if (
    dataDirs.length === 0 &&
    (values.get("--grep")!.length > 0 || values.get("--key-file")!.length > 0)
  ) {
    console.error(
      "error: --grep and --key-file narrow file access only with --data-dir: name it too\n" + usage,
    );
    Deno.exit(2);
  }
  const paths: FilePaths | undefined = dataDirs.length === 0 ? undefined : {
    dataDirs,
    grepPaths: values.get("--grep")!,
    keyFiles: values.get("--key-file")!,
  };
  const output = target === undefined ? "dist/member" : `dist/member-${target}`;
  const ok = await compile([
    "compile",
    // The lock also holds what only the tests use (a browser driver, 13 MB): left out.
    "--exclude-unused-npm",
    ...binaryFlags(paths, handlers),
    ...(target === undefined ? [] : ["--target", target]),
    "--output",
    output,
    "main.ts",
  ], output);
  Deno.exit(ok ? 0 : 1);
} else if (what === "bundle" && rest.length === 0) {
  Deno.exit((await run(["bundle", "--quiet", "main.ts", "--output", "dist/member.js"])) ? 0 : 1);
} else {
  console.error(usage);
  Deno.exit(2);
}
