// An open-addressing hash map from integer keys (0 <= key < 2^53) to non-negative
// int32 values, on typed arrays: the live-span table for numeric (hex) span ids.
//
// Linear probing with backward-shift deletion (no tombstones), load factor <= 1/2.
// A built-in Map with numeric keys boxes keys beyond 2^30 and was the single largest
// cost of reading the recorded traces, whose ids are 40-bit addresses.
//
// Ids are compared as text (`0x0a`, `0xA` and `0xa` are three ids). Only ids in
// canonical hex are keyed by value here (canonicalHexKey); every other id is keyed by
// its text elsewhere. Canonical texts and their values correspond one to one, so keying
// by value never merges two ids that the text would keep apart.

const EMPTY = -1;

/** 13 hex digits = 52 bits: every such value is exact in a double. */
const MAX_KEY_HEX_DIGITS = 13;

/**
 * The key of an id written in canonical hex: `0x`, then 1 to 13 lowercase hex digits
 * without a leading zero (zero itself is `0x0`). -1 for any other text.
 */
export function canonicalHexKey(s: string, start: number, end: number): number {
  const ndigits = end - start - 2;
  if (ndigits < 1 || ndigits > MAX_KEY_HEX_DIGITS || s.charCodeAt(start) !== 48 || s.charCodeAt(start + 1) !== 120) return EMPTY;
  if (ndigits > 1 && s.charCodeAt(start + 2) === 48) return EMPTY;
  let v = 0;
  for (let i = start + 2; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) v = v * 16 + (c - 48);
    else if (c >= 97 && c <= 102) v = v * 16 + (c - 87);
    else return EMPTY;
  }
  return v;
}

function hash(key: number, mask: number): number {
  const lo = key >>> 0;
  const hi = (key / 4294967296) >>> 0;
  let h = Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1);
  h ^= h >>> 15;
  return h & mask;
}

export class IntMap {
  private keys: Float64Array;
  private values: Int32Array;
  private mask: number;
  size = 0;

  constructor(capacity = 1024) {
    let cap = 16;
    while (cap < capacity * 2) cap *= 2;
    this.keys = new Float64Array(cap);
    this.values = new Int32Array(cap).fill(EMPTY);
    this.mask = cap - 1;
  }

  /** The value for key, or -1. */
  get(key: number): number {
    const keys = this.keys;
    const values = this.values;
    for (let i = hash(key, this.mask); ; i = (i + 1) & this.mask) {
      const v = values[i];
      if (v === EMPTY) return EMPTY;
      if (keys[i] === key) return v;
    }
  }

  /** Sets key to value (value >= 0). */
  set(key: number, value: number): void {
    if ((this.size + 1) * 2 > this.keys.length) this.grow();
    const keys = this.keys;
    const values = this.values;
    for (let i = hash(key, this.mask); ; i = (i + 1) & this.mask) {
      if (values[i] === EMPTY) {
        keys[i] = key;
        values[i] = value;
        this.size++;
        return;
      }
      if (keys[i] === key) {
        values[i] = value;
        return;
      }
    }
  }

  /** Removes key; returns whether it was there. */
  delete(key: number): boolean {
    const keys = this.keys;
    const values = this.values;
    const mask = this.mask;
    let i = hash(key, mask);
    for (; ; i = (i + 1) & mask) {
      if (values[i] === EMPTY) return false;
      if (keys[i] === key) break;
    }
    // Backward-shift: move later entries of the probe run into the hole when their
    // home slot does not lie strictly between the hole and their position.
    let hole = i;
    for (let j = (i + 1) & mask; values[j] !== EMPTY; j = (j + 1) & mask) {
      const home = hash(keys[j], mask);
      const between = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (!between) {
        keys[hole] = keys[j];
        values[hole] = values[j];
        hole = j;
      }
    }
    values[hole] = EMPTY;
    this.size--;
    return true;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    const cap = oldKeys.length * 2;
    this.keys = new Float64Array(cap);
    this.values = new Int32Array(cap).fill(EMPTY);
    this.mask = cap - 1;
    this.size = 0;
    for (let i = 0; i < oldKeys.length; i++) if (oldValues[i] !== EMPTY) this.set(oldKeys[i], oldValues[i]);
  }
}
