import assert from "node:assert/strict";
import { SleepAwareClock } from "./clock.ts";

Deno.test("the clock moves on by a sleep, and not by the wall clock's small steps", () => {
  let monotonic = 1000;
  let wall = 1_800_000_000_000;
  const clock = new SleepAwareClock(1000, () => monotonic, () => wall);
  const start = clock.now();
  monotonic += 500;
  wall += 500;
  assert.equal(clock.now() - start, 500);
  // Asleep 10 minutes: the wall clock went on, the monotonic one stood still.
  wall += 600_000;
  assert.equal(clock.now() - start, 600_500);
  // NTP slews and steps back: not a sleep.
  wall += 300;
  assert.equal(clock.now() - start, 600_500);
  wall -= 5000;
  monotonic += 100;
  wall += 100;
  assert.equal(clock.now() - start, 600_600);
  assert.equal(clock.sleptMs, 600_000);
});
