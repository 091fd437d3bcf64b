import assert from "node:assert/strict";
import { plainQuery, queryProblem, repetitionAdded, repetitionMax } from "./grep_query.ts";

Deno.test("repetition counts are written out as GNU grep compiles them", () => {
  const cases: [string, boolean, number][] = [
    ["a{3}", true, 2],
    ["(ab){1,4}", true, 6],
    ["(x{1,10}){1,10}", true, 9 + 10 * 9],
    ["\\(x\\{1,10\\}\\)\\{1,10\\}", false, 9 + 10 * 9],
    ["x{1,10}", false, 0], // braces are literal in basic syntax
    ["x*y+z?", true, 0],
    ["[0-9]{1,3}(\\.[0-9]{1,3}){3}", true, 2 + 2 + 4 * 2],
    ["[]{}]{5}", true, 4], // a bracket is one character, whatever it holds
    ["[[:alpha:]]{4}", true, 3],
    ["a{,5}", true, 4],
    ["a{2,}", true, 1],
    ["{x}", true, 0],
    ["a|b{3}", true, 2],
    ["((", true, 0],
    ["\\", true, 0],
    ["(x{1,1000}){1,1000}", true, 999 + 1000 * 999],
  ];
  for (const [pattern, extended, added] of cases) {
    assert.equal(repetitionAdded(pattern, extended), added, pattern);
  }
});

Deno.test("a query whose repetitions would cost grep gigabytes is refused, a usual one is not", () => {
  const refused = queryProblem(plainQuery(["(x{1,1000}){1,1000}"], "extended"));
  assert.match(refused ?? "", /repetition counts .* more than 512/);
  // Summed over the patterns of one query.
  const two = plainQuery([".{1,300}", ".{1,300}"], "extended");
  assert.notEqual(queryProblem(two), undefined);
  assert.equal(queryProblem(plainQuery([`.{1,${repetitionMax + 1}}`], "extended")), undefined);
  assert.equal(queryProblem(plainQuery(["[0-9]{1,3}(\\.[0-9]{1,3}){3}"], "extended")), undefined);
  // Fixed strings have no repetitions.
  assert.equal(queryProblem(plainQuery(["x{1,1000}"], "fixed")), undefined);
});
