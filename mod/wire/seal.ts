/**
 * Authenticated encryption of every datagram and every TCP frame with a shared cluster key
 * (AES-256-GCM through WebCrypto). A key file may hold several keys: the first seals, all open,
 * so that a key can be rotated without downtime (add the new key second everywhere, then move it
 * first everywhere, then remove the old one), as Serf's keyring does.
 *
 * A sealed message is `0x80 | protocolVersion`, a 12-byte nonce, then the ciphertext of an 8-byte
 * timestamp (the sender's wall clock, in ms) followed by the plain message, then the 16-byte tag.
 * The first byte is authenticated too. The nonce is 8 bytes drawn at random when the sealer
 * starts and a 4-byte counter, so nonces never repeat under one key in practice; the opener
 * rejects a nonce it has already accepted (a replay) and messages stamped too far from its own
 * clock.
 */
import { protocolVersion } from "../core/wire_size.ts";
import { describeFileError } from "../errors.ts";

/** The first byte of a sealed message. */
export const sealedMarker = 0x80 | protocolVersion;
/** Bytes a seal adds: the marker, the nonce, the timestamp and the tag. */
export const sealOverheadBytes = 1 + 12 + 8 + 16;
/** Key files hold at most this many keys. */
export const keysMax = 16;
/** A sealed message stamped further than this from the opener's clock is refused. */
export const clockSkewMaxMs = 5 * 60_000;
/** Senders whose replay windows are kept; the oldest are forgotten beyond this. */
const sendersMax = 50_000;
/** A nonce this far behind the newest seen from the same sender is too old to check: refused. */
const replayWindow = 1024;

/** Raised when a key file cannot be used. */
export class KeyError extends Error {
  override name = "KeyError";
}

/** Why an opened message was refused. */
export type OpenFailure = "not-sealed" | "unauthenticated" | "stale" | "replayed";

const base64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

function fromBase64(text: string): Uint8Array | undefined {
  try {
    const binary = atob(text);
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/** A new random 256-bit key, base64-encoded, for `member keygen`. */
export function generateKey(): string {
  return base64(crypto.getRandomValues(new Uint8Array(32)));
}

interface ReplayWindow {
  newest: number;
  /** Bit i set: the nonce `newest - i` was seen. */
  seen: Uint32Array;
}

/** The keys of a cluster: seals with the first, opens with any. */
export class Keyring {
  readonly #keys: CryptoKey[];
  readonly #prefix = new Uint8Array(8);
  #counter = 0;
  readonly #windows = new Map<string, ReplayWindow>();
  /**
   * Takes over what `previous` has seen (its replay windows), so that a key file reloaded on
   * SIGHUP does not reopen the door to messages already taken.
   */
  continueFrom(previous: Keyring): void {
    for (const [sender, window] of previous.#windows) {
      if (!this.#windows.has(sender)) this.#windows.set(sender, window);
    }
  }

  /** The number of keys, for messages. */
  readonly size: number;

  private constructor(keys: CryptoKey[]) {
    this.#keys = keys;
    this.size = keys.length;
    crypto.getRandomValues(this.#prefix);
  }

  /**
   * Reads a key file's text: one base64 key (16, 24 or 32 bytes) per line; blank lines and lines
   * starting with `#` are ignored. The first key seals.
   */
  static async parse(text: string): Promise<Keyring> {
    const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) =>
      l !== "" && !l.startsWith("#")
    );
    if (lines.length === 0) throw new KeyError("it holds no key");
    if (lines.length > keysMax) throw new KeyError(`it holds more than ${keysMax} keys`);
    const keys: CryptoKey[] = [];
    for (const [i, line] of lines.entries()) {
      const raw = fromBase64(line);
      if (raw === undefined || ![16, 24, 32].includes(raw.length)) {
        throw new KeyError(`key ${i + 1} is not a base64 AES key of 16, 24 or 32 bytes`);
      }
      keys.push(
        await crypto.subtle.importKey("raw", raw as Uint8Array<ArrayBuffer>, "AES-GCM", false, [
          "encrypt",
          "decrypt",
        ]),
      );
    }
    return new Keyring(keys);
  }

  /** Reads and parses a key file. */
  static async load(path: string): Promise<Keyring> {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      throw new KeyError(`cannot read key file ${path}: ${describeFileError(error)}`);
    }
    try {
      return await Keyring.parse(text);
    } catch (error) {
      if (error instanceof KeyError) throw new KeyError(`key file ${path}: ${error.message}`);
      throw error;
    }
  }

  /** Seals a message with the first key. */
  async seal(plain: Uint8Array, nowMs = Date.now()): Promise<Uint8Array> {
    if (this.#counter >= 0xffff_ffff) {
      crypto.getRandomValues(this.#prefix);
      this.#counter = 0;
    }
    const nonce = new Uint8Array(12);
    nonce.set(this.#prefix);
    new DataView(nonce.buffer).setUint32(8, this.#counter++);
    const body = new Uint8Array(8 + plain.length) as Uint8Array<ArrayBuffer>;
    new DataView(body.buffer).setFloat64(0, nowMs);
    body.set(plain, 8);
    const header = Uint8Array.of(sealedMarker);
    const cipher = new Uint8Array(
      await crypto.subtle.encrypt(
        { name: "AES-GCM", iv: nonce, additionalData: header },
        this.#keys[0],
        body,
      ),
    );
    const sealed = new Uint8Array(1 + 12 + cipher.length);
    sealed[0] = sealedMarker;
    sealed.set(nonce, 1);
    sealed.set(cipher, 13);
    return sealed;
  }

  /** Opens a sealed message with any key; the plain message, or why it was refused. */
  async open(
    sealed: Uint8Array,
    nowMs = Date.now(),
  ): Promise<{ ok: true; plain: Uint8Array } | { ok: false; reason: OpenFailure }> {
    if (sealed.length < sealOverheadBytes || sealed[0] !== sealedMarker) {
      return { ok: false, reason: "not-sealed" };
    }
    const nonce = sealed.slice(1, 13);
    const cipher = sealed.slice(13);
    const header = sealed.slice(0, 1);
    let body: Uint8Array | undefined;
    for (const key of this.#keys) {
      try {
        body = new Uint8Array(
          await crypto.subtle.decrypt(
            { name: "AES-GCM", iv: nonce, additionalData: header },
            key,
            cipher,
          ),
        );
        break;
      } catch {
        // Not this key.
      }
    }
    if (body === undefined) return { ok: false, reason: "unauthenticated" };
    const stamp = new DataView(body.buffer, body.byteOffset, 8).getFloat64(0);
    if (!(Math.abs(nowMs - stamp) <= clockSkewMaxMs)) return { ok: false, reason: "stale" };
    if (!this.#fresh(nonce)) return { ok: false, reason: "replayed" };
    return { ok: true, plain: body.subarray(8) };
  }

  /** Records a nonce; false when it was seen before (or is too old to tell). */
  #fresh(nonce: Uint8Array): boolean {
    const sender = base64(nonce.subarray(0, 8));
    const counter = new DataView(nonce.buffer, nonce.byteOffset + 8, 4).getUint32(0);
    let window = this.#windows.get(sender);
    if (window === undefined) {
      if (this.#windows.size >= sendersMax) {
        this.#windows.delete(this.#windows.keys().next().value!);
      }
      window = { newest: counter, seen: new Uint32Array(replayWindow / 32) };
      window.seen[0] = 1;
      this.#windows.set(sender, window);
      return true;
    }
    if (counter > window.newest) {
      shift(window.seen, counter - window.newest);
      window.newest = counter;
      window.seen[0] |= 1;
      return true;
    }
    const age = window.newest - counter;
    if (age >= replayWindow) return false;
    const word = age >>> 5;
    const bit = 1 << (age & 31);
    if ((window.seen[word] & bit) !== 0) return false;
    window.seen[word] |= bit;
    return true;
  }
}

/** Shifts a bitmap by `by` bits toward higher ages (bit i moves to bit i + by). */
function shift(bits: Uint32Array, by: number): void {
  const total = bits.length * 32;
  if (by >= total) {
    bits.fill(0);
    return;
  }
  const words = by >>> 5;
  const rest = by & 31;
  for (let i = bits.length - 1; i >= 0; i--) {
    const from = i - words;
    let value = from >= 0 ? (bits[from] << rest) >>> 0 : 0;
    if (rest !== 0 && from - 1 >= 0) value |= bits[from - 1] >>> (32 - rest);
    bits[i] = value >>> 0;
  }
}
