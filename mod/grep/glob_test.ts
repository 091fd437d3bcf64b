import assert from "node:assert/strict";
import { expandPaths } from "./glob.ts";

Deno.test("globs: wildcards, **, hidden entries, unmatched specs and the file limit", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    for (const path of ["a.log", "b.log", "c.txt", ".hidden.log", "x/1.log", "x/y/2.log"]) {
      Deno.mkdirSync(`${dir}/${path}`.replace(/\/[^/]+$/, ""), { recursive: true });
      Deno.writeTextFileSync(`${dir}/${path}`, "line\n");
    }
    const got = await expandPaths(
      [`${dir}/*.log`, `${dir}/**/*.log`, `${dir}/[ab].log`, `${dir}/nope/*.log`],
      { filesMax: 100 },
    );
    assert.deepEqual(got.files, [
      `${dir}/a.log`,
      `${dir}/b.log`,
      `${dir}/x/1.log`,
      `${dir}/x/y/2.log`,
    ]);
    assert.deepEqual(got.unmatched, [`${dir}/nope/*.log`]);
    assert.deepEqual(got.notUtf8, []);
    assert.equal(got.cut, false);
    const capped = await expandPaths([`${dir}/**/*.log`], { filesMax: 2 });
    assert.equal(capped.files.length, 2);
    assert.equal(capped.cut, true, "the limit is reported");
    const exact = await expandPaths([`${dir}/**/*.log`], { filesMax: 4 });
    assert.deepEqual([exact.files.length, exact.cut], [4, false], "reaching it is not a cut");
    const second = await expandPaths([`${dir}/*.log`, `${dir}/x/*.log`], { filesMax: 2 });
    assert.deepEqual([second.cut, second.unmatched], [true, []], "a spec cut off still matched");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("globs: names that are not UTF-8 are reported, in any segment, never opened", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    // Only a program outside Deno can write such names: byte 0xff in a file and a directory.
    const made = await new Deno.Command("sh", {
      args: [
        "-c",
        'bad=$(printf "\\377"); mkdir "$1/d$bad" && echo x > "$1/f$bad.log" && ' +
        'echo x > "$1/d$bad/in.log" && echo x > "$1/ok.log"',
        "sh",
        dir,
      ],
    }).output();
    assert(made.success);
    const got = await expandPaths([`${dir}/*.log`, `${dir}/*/in.log`, `${dir}/**/in.log`], {
      filesMax: 100,
    });
    assert.deepEqual(got.files, [`${dir}/ok.log`]);
    assert.deepEqual(got.notUtf8, [`${dir}/d\uFFFD`, `${dir}/f\uFFFD.log`]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
