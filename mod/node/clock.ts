/**
 * The time a node's core runs on: monotonic, and moving on while the machine sleeps.
 *
 * `performance.now()` never steps back, but on Linux and macOS it stands still while the machine
 * is suspended: a core fed it after a laptop or a virtual machine wakes would take minutes of
 * absence for none, and keep a list that is minutes old. The wall clock goes on through a
 * suspend, so a forward jump of the wall clock against the monotonic one, larger than `jumpMs`,
 * is added. Smaller differences (the wall clock slewed by NTP, stepped back) are not.
 */
export class SleepAwareClock {
  readonly #jumpMs: number;
  readonly #monotonic: () => number;
  readonly #wall: () => number;
  #gapMs: number;
  #sleptMs = 0;

  constructor(jumpMs = 1000, monotonic = () => performance.now(), wall = () => Date.now()) {
    this.#jumpMs = jumpMs;
    this.#monotonic = monotonic;
    this.#wall = wall;
    this.#gapMs = wall() - monotonic();
  }

  /** Milliseconds, monotonic, the machine's sleeps included. */
  now(): number {
    const monotonic = this.#monotonic();
    const gap = this.#wall() - monotonic;
    if (gap - this.#gapMs > this.#jumpMs) this.#sleptMs += gap - this.#gapMs;
    this.#gapMs = gap;
    return monotonic + this.#sleptMs;
  }

  /** How long the machine has been seen asleep in all. */
  get sleptMs(): number {
    return this.#sleptMs;
  }
}

/** The process's clock: every node in it runs on the same time. */
export const clock = new SleepAwareClock();
