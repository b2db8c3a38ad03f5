// 64-bit words for the page allocator, as pairs of 32-bit halves.
//
// Go's page allocator works on uint64 words: a chunk's bitmap is 8 of them, a page
// cache is one, and its bit tricks (findBitRange64, fillAligned, summarize) shift, add
// and subtract whole 64-bit values. JavaScript has no fast 64-bit integer: BigInt
// allocates on every operation and is 10-50x slower on this kind of loop. So a word is
// held as two unsigned 32-bit numbers (lo = bits 0-31, hi = bits 32-63) — in a
// Uint32Array at [2w] and [2w+1] when stored — and each 64-bit operation is written
// out on the halves, with the carry or borrow passed across by hand where Go's code
// relies on it. Functions that produce a word return its low half and leave the high
// half in `hi64` (a module-level out-value, so no pair is allocated).

export let hi64 = 0;

export function ctz32(x: number): number {
  return x === 0 ? 32 : 31 - Math.clz32(x & -x);
}

/** TrailingZeros64. */
export function ctz64(lo: number, hi: number): number {
  return lo !== 0 ? ctz32(lo) : 32 + ctz32(hi);
}

/** LeadingZeros64. */
export function clz64(lo: number, hi: number): number {
  return hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
}

export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** x >> s for 0 <= s <= 63. */
function shr64(lo: number, hi: number, s: number): number {
  if (s === 0) {
    hi64 = hi;
    return lo;
  }
  if (s >= 32) {
    hi64 = 0;
    return (hi >>> (s - 32)) >>> 0;
  }
  hi64 = hi >>> s;
  return ((lo >>> s) | (hi << (32 - s))) >>> 0;
}

/** Bits [i, i+n) set, 0 <= i, n >= 1, i + n <= 64. */
export function mask64(i: number, n: number): number {
  const j = i + n; // exclusive
  const lo = i >= 32 ? 0 : (j >= 32 ? 0xffffffff : (1 << j) - 1) & ~((1 << i) - 1);
  hi64 = j <= 32 ? 0 : ((j === 64 ? 0xffffffff : (1 << (j - 32)) - 1) & ~(i <= 32 ? 0 : (1 << (i - 32)) - 1)) >>> 0;
  return lo >>> 0;
}

/**
 * findBitRange64: the index of the first run of n consecutive 1 bits in c
 * (1 <= n <= 64), or 64 if there is none.
 */
export function findBitRange64(lo: number, hi: number, n: number): number {
  let p = n - 1;
  let k = 1;
  while (p > 0) {
    if (p <= k) {
      lo = (lo & shr64(lo, hi, p & 63)) >>> 0;
      hi = (hi & hi64) >>> 0;
      break;
    }
    lo = (lo & shr64(lo, hi, k & 63)) >>> 0;
    hi = (hi & hi64) >>> 0;
    if (lo === 0 && hi === 0) return 64;
    p -= k;
    k *= 2;
  }
  return ctz64(lo, hi);
}

/**
 * fillAligned: x with every m-aligned group of m bits that has any bit set made all
 * ones (m a power of two <= 64). The bit trick needs real 64-bit add and subtract.
 */
export function fillAligned(lo: number, hi: number, m: number): number {
  if (m === 1) {
    hi64 = hi;
    return lo;
  }
  // c: the low m-1 bits of every m-bit group.
  let cLo: number;
  let cHi: number;
  switch (m) {
    case 2:
      cLo = cHi = 0x55555555;
      break;
    case 4:
      cLo = cHi = 0x77777777;
      break;
    case 8:
      cLo = cHi = 0x7f7f7f7f;
      break;
    case 16:
      cLo = cHi = 0x7fff7fff;
      break;
    case 32:
      cLo = cHi = 0x7fffffff;
      break;
    case 64:
      cLo = 0xffffffff;
      cHi = 0x7fffffff;
      break;
    default:
      throw new Error(`fillAligned: bad m ${m}`);
  }
  // x = ^((((x & c) + c) | x) | c)
  const sLo = ((lo & cLo) >>> 0) + cLo;
  const carry = sLo > 0xffffffff ? 1 : 0;
  const sHi = (((hi & cHi) >>> 0) + cHi + carry) >>> 0;
  let xLo = ~((sLo >>> 0) | lo | cLo) >>> 0;
  let xHi = ~(sHi | hi | cHi) >>> 0;
  // return ^((x - (x >> (m-1))) | x)
  const tLo = shr64(xLo, xHi, m - 1);
  const tHi = hi64;
  let dLo = xLo - tLo;
  let borrow = 0;
  if (dLo < 0) {
    dLo += 0x100000000;
    borrow = 1;
  }
  let dHi = xHi - tHi - borrow;
  if (dHi < 0) dHi += 0x100000000;
  xLo = ~(dLo | xLo) >>> 0;
  xHi = ~(dHi | xHi) >>> 0;
  hi64 = xHi;
  return xLo;
}
