import assert from "node:assert/strict";
import { contactAddresses } from "./_join.ts";

Deno.test("a contact's name stands for every address it resolves to", async () => {
  const resolve = (name: string, type: "A" | "AAAA") =>
    Promise.resolve(
      name !== "members.example" ? [] : type === "A" ? ["10.0.0.1", "10.0.0.2"] : ["fd00::1"],
    );
  assert.deepEqual(await contactAddresses("members.example:4000", resolve), [
    "10.0.0.1:4000",
    "10.0.0.2:4000",
    "[fd00::1]:4000",
  ]);
  // Unknown to DNS (in /etc/hosts, say): left to the system's resolver.
  assert.deepEqual(await contactAddresses("vm1:3000", resolve), ["vm1:3000"]);
  for (const literal of ["10.0.0.9:3000", "[::1]:3000", "localhost:3000"]) {
    assert.deepEqual(await contactAddresses(literal, resolve), [literal]);
  }
});
