import assert from "node:assert/strict";
import { countByte } from "./bytes.ts";

Deno.test("countByte counts a byte wherever it falls, whatever the length and offset", () => {
  const bytes = Uint8Array.from({ length: 300 }, (_, i) => (i * 37) % 11 === 0 ? 10 : i & 255);
  for (let from = 0; from < 9; from++) {
    for (let to = from; to < bytes.length; to += 13) {
      const data = bytes.subarray(from, to);
      for (const byte of [0, 10, 255]) {
        assert.equal(countByte(data, byte), data.filter((b) => b === byte).length);
      }
    }
  }
  // Next to every other value, in every place of a word.
  for (let value = 0; value < 256; value++) {
    const data = Uint8Array.from([value, 10, value, value, 10, 10, value, value, 10, value]);
    assert.equal(countByte(data, 10), data.filter((b) => b === 10).length, `${value}`);
  }
  assert.equal(countByte(new Uint8Array(8).fill(10), 10), 8);
  assert.equal(countByte(new Uint8Array(0), 10), 0);
});
