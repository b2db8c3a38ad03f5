// Chunk bitmaps: Go 1.19's mpallocbits.go.
//
// A chunk is 512 pages (4 MiB). Its pallocData is two 512-bit bitmaps, each eight
// 64-bit words: the allocation bits (1 = in use) and the scavenged bits (1 = released
// to the OS and free). Chunks live in a ChunkStore, sixteen 32-bit halves per bitmap
// (see bits64.ts), at `o` (the allocation bits) and `o + 16` (the scavenged bits).
//
// Invariant: a scavenged page is free (alloc clears scavenged bits). The searches are
// Go's, word for word, because where they start and what they return decides addresses:
// find1 and findSmallN/findLargeN start at the 64-bit word holding searchIdx and return
// the first fit at or after that word's start, and the lowest free page from it as the
// new search index. `work` counts 64-bit words visited.

import { clz64, ctz32, ctz64, fillAligned, findBitRange64, hi64, popcount32 } from './bits64.js';

export const PALLOC_CHUNK_PAGES = 512;
/** 32-bit halves per 512-bit bitmap. */
const HALVES = PALLOC_CHUNK_PAGES / 32;
/** Halves per chunk: allocation bits then scavenged bits. */
export const CHUNK_WORDS = 2 * HALVES;
/** maxPagesPerPhysPage: the largest physical page is 64 pages (512 KiB). */
export const MAX_PAGES_PER_PHYS_PAGE = 64;

export const NOT_FOUND = -1;

/** Counts words visited by the bitmap searches (work units). */
export const bitsWork = { n: 0 };

// ---- pageBits: ranges of bits in one bitmap (`b` at offset `o`). ----

export function getBit(b: Uint32Array, o: number, i: number): number {
  return (b[o + (i >>> 5)] >>> (i & 31)) & 1;
}

export function setRange(b: Uint32Array, o: number, i: number, n: number): void {
  const end = i + n;
  while (i < end) {
    const w = o + (i >>> 5);
    const lo = i & 31;
    const hi = Math.min(32, lo + (end - i));
    b[w] |= hi === 32 ? ~((1 << lo) - 1) : ((1 << hi) - 1) & ~((1 << lo) - 1);
    i += hi - lo;
  }
}

export function clearRange(b: Uint32Array, o: number, i: number, n: number): void {
  const end = i + n;
  while (i < end) {
    const w = o + (i >>> 5);
    const lo = i & 31;
    const hi = Math.min(32, lo + (end - i));
    b[w] &= ~(hi === 32 ? ~((1 << lo) - 1) : ((1 << hi) - 1) & ~((1 << lo) - 1));
    i += hi - lo;
  }
}

export function popcntRange(b: Uint32Array, o: number, i: number, n: number): number {
  let s = 0;
  const end = i + n;
  while (i < end) {
    const w = o + (i >>> 5);
    const lo = i & 31;
    const hi = Math.min(32, lo + (end - i));
    const mask = hi === 32 ? ~((1 << lo) - 1) : ((1 << hi) - 1) & ~((1 << lo) - 1);
    s += popcount32(b[w] & mask);
    i += hi - lo;
  }
  return s;
}

export function fill(b: Uint32Array, o: number, v: number): void {
  for (let k = 0; k < HALVES; k++) b[o + k] = v;
}

// ---- pallocBits: summaries and searches over the allocation bits. ----

/** The (start, max, end) free-run summary of a chunk's allocation bits. */
export const summaryOut = { start: 0, max: 0, end: 0 };

/**
 * summarize: the free pages at the start, the longest free run and the free pages at
 * the end. (Go computes max with a word-parallel trick; the value is the same.)
 */
export function summarize(b: Uint32Array, o: number): void {
  bitsWork.n += HALVES / 2;
  let start = -1;
  let max = 0;
  let cur = 0;
  for (let k = 0; k < HALVES; k++) {
    let x = b[o + k];
    if (x === 0) {
      cur += 32;
      continue;
    }
    if (x === 0xffffffff || x === -1) {
      if (start < 0) start = cur;
      if (cur > max) max = cur;
      cur = 0;
      continue;
    }
    let bit = 0;
    x >>>= 0;
    while (bit < 32) {
      const rest = x >>> bit;
      if (rest === 0) {
        cur += 32 - bit;
        break;
      }
      const zeros = ctz32(rest);
      cur += zeros;
      bit += zeros;
      if (start < 0) start = cur;
      if (cur > max) max = cur;
      cur = 0;
      const ones = ctz32(~rest >>> zeros);
      bit += ones;
    }
  }
  if (start < 0) {
    summaryOut.start = summaryOut.max = summaryOut.end = PALLOC_CHUNK_PAGES;
    return;
  }
  if (cur > max) max = cur;
  summaryOut.start = start;
  summaryOut.max = max;
  summaryOut.end = cur;
}

/** find: the first run of npages free pages from searchIdx's word; sets findSearchIdx. */
export let findSearchIdx = NOT_FOUND;

export function find(b: Uint32Array, o: number, npages: number, searchIdx: number): number {
  if (npages === 1) {
    const addr = find1(b, o, searchIdx);
    findSearchIdx = addr;
    return addr;
  }
  if (npages <= 64) return findSmallN(b, o, npages, searchIdx);
  return findLargeN(b, o, npages, searchIdx);
}

function find1(b: Uint32Array, o: number, searchIdx: number): number {
  for (let i = searchIdx >>> 6; i < 8; i++) {
    bitsWork.n++;
    const lo = b[o + 2 * i];
    const hi = b[o + 2 * i + 1];
    if ((lo & hi) === -1 || (lo === 0xffffffff && hi === 0xffffffff)) continue;
    return i * 64 + ctz64(~lo >>> 0, ~hi >>> 0);
  }
  return NOT_FOUND;
}

function findSmallN(b: Uint32Array, o: number, npages: number, searchIdx: number): number {
  let end = 0;
  let newSearchIdx = NOT_FOUND;
  for (let i = searchIdx >>> 6; i < 8; i++) {
    bitsWork.n++;
    const lo = b[o + 2 * i] >>> 0;
    const hi = b[o + 2 * i + 1] >>> 0;
    if (lo === 0xffffffff && hi === 0xffffffff) {
      end = 0;
      continue;
    }
    if (newSearchIdx === NOT_FOUND) newSearchIdx = i * 64 + ctz64(~lo >>> 0, ~hi >>> 0);
    const start = ctz64(lo, hi);
    if (end + start >= npages) {
      findSearchIdx = newSearchIdx;
      return i * 64 - end;
    }
    const j = findBitRange64(~lo >>> 0, ~hi >>> 0, npages);
    if (j < 64) {
      findSearchIdx = newSearchIdx;
      return i * 64 + j;
    }
    end = clz64(lo, hi);
  }
  findSearchIdx = newSearchIdx;
  return NOT_FOUND;
}

function findLargeN(b: Uint32Array, o: number, npages: number, searchIdx: number): number {
  let start = NOT_FOUND;
  let size = 0;
  let newSearchIdx = NOT_FOUND;
  for (let i = searchIdx >>> 6; i < 8; i++) {
    bitsWork.n++;
    const lo = b[o + 2 * i] >>> 0;
    const hi = b[o + 2 * i + 1] >>> 0;
    if (lo === 0xffffffff && hi === 0xffffffff) {
      size = 0;
      continue;
    }
    if (newSearchIdx === NOT_FOUND) newSearchIdx = i * 64 + ctz64(~lo >>> 0, ~hi >>> 0);
    if (size === 0) {
      size = clz64(lo, hi);
      start = i * 64 + 64 - size;
      continue;
    }
    const s = ctz64(lo, hi);
    if (s + size >= npages) {
      findSearchIdx = newSearchIdx;
      return start;
    }
    if (s < 64) {
      size = clz64(lo, hi);
      start = i * 64 + 64 - size;
      continue;
    }
    size += 64;
  }
  findSearchIdx = newSearchIdx;
  return size < npages ? NOT_FOUND : start;
}

// ---- pallocData: allocation and scavenged bits together. ----

/** allocRange: mark [i, i+n) in use; in-use pages are never scavenged. */
export function allocRange(b: Uint32Array, o: number, i: number, n: number): void {
  bitsWork.n += ((i + n - 1) >>> 6) - (i >>> 6) + 1;
  setRange(b, o, i, n);
  clearRange(b, o + HALVES, i, n);
}

export function allocAll(b: Uint32Array, o: number): void {
  bitsWork.n += 8;
  fill(b, o, 0xffffffff);
  fill(b, o + HALVES, 0);
}

export function freeRange(b: Uint32Array, o: number, i: number, n: number): void {
  bitsWork.n += ((i + n - 1) >>> 6) - (i >>> 6) + 1;
  clearRange(b, o, i, n);
}

export function freeAll(b: Uint32Array, o: number): void {
  bitsWork.n += 8;
  fill(b, o, 0);
}

/**
 * findScavengeCandidate: the highest run of free, unscavenged pages at or below
 * searchIdx, at least `min` pages and `min`-aligned (a physical page), cut to `max`
 * pages from the top, but widened down to a huge-page boundary rather than break a
 * free and unscavenged huge page. Returns the start; the size is in candidateSize
 * (0: none).
 */
export let candidateSize = 0;

export function findScavengeCandidate(b: Uint32Array, o: number, searchIdx: number, min: number, max: number, pagesPerHugePage: number): number {
  if ((min & (min - 1)) !== 0 || min === 0 || min > MAX_PAGES_PER_PHYS_PAGE) throw new Error(`findScavengeCandidate: bad min ${min}`);
  max = max === 0 ? min : Math.ceil(max / min) * min;
  const word = (i: number): number => {
    bitsWork.n++;
    const lo = (b[o + HALVES + 2 * i] | b[o + 2 * i]) >>> 0;
    const hi = (b[o + HALVES + 2 * i + 1] | b[o + 2 * i + 1]) >>> 0;
    return fillAligned(lo, hi, min);
  };
  let i = searchIdx >>> 6;
  let xLo = 0;
  let xHi = 0;
  for (; i >= 0; i--) {
    xLo = word(i);
    xHi = hi64;
    if (!(xLo === 0xffffffff && xHi === 0xffffffff)) break;
  }
  if (i < 0) {
    candidateSize = 0;
    return 0;
  }
  const z1 = clz64(~xLo >>> 0, ~xHi >>> 0);
  let run: number;
  const end = i * 64 + (64 - z1);
  // x << z1
  let sLo: number;
  let sHi: number;
  if (z1 >= 64) {
    sLo = sHi = 0;
  } else if (z1 >= 32) {
    sHi = (xLo << (z1 - 32)) >>> 0;
    sLo = 0;
  } else if (z1 === 0) {
    sLo = xLo;
    sHi = xHi;
  } else {
    sHi = ((xHi << z1) | (xLo >>> (32 - z1))) >>> 0;
    sLo = (xLo << z1) >>> 0;
  }
  if (sLo !== 0 || sHi !== 0) {
    run = clz64(sLo, sHi);
  } else {
    run = 64 - z1;
    for (let j = i - 1; j >= 0; j--) {
      const yLo = word(j);
      const yHi = hi64;
      run += clz64(yLo, yHi);
      if (yLo !== 0 || yHi !== 0) break;
    }
  }
  let size = Math.min(run, max);
  let start = end - size;
  if (pagesPerHugePage > 1) {
    const hugePageAbove = Math.ceil(start / pagesPerHugePage) * pagesPerHugePage;
    if (hugePageAbove <= end) {
      const hugePageBelow = Math.floor(start / pagesPerHugePage) * pagesPerHugePage;
      if (hugePageBelow >= end - run) {
        size = size + (start - hugePageBelow);
        start = hugePageBelow;
      }
    }
  }
  candidateSize = size;
  return start;
}
