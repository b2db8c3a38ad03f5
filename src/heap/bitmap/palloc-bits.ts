// Chunks: their geometry (the chunk arithmetic of Go 1.19's mpagealloc.go) and their
// bitmaps (mpallocbits.go).
//
// A chunk is 512 runtime pages of 8 KiB (4 MiB), aligned, numbered by offset address
// (see addr-ranges.ts): chunk ci is [ci * 4 MiB, (ci+1) * 4 MiB). Its pallocData is two
// 512-bit bitmaps, each eight 64-bit words: the allocation bits (1 = in use) and the
// scavenged bits (1 = released to the OS and free). The page allocator stores a chunk as
// sixteen 32-bit halves per bitmap (see bits64.ts) in a Uint32Array, at `o` (the
// allocation bits) and `o + 16` (the scavenged bits); the functions here work on such an
// array and offset and keep no state of their own.
//
// Invariant: a scavenged page is free (alloc clears scavenged bits). The searches are
// Go's, word for word, because where they start and what they return decides addresses:
// find1 and findSmallN/findLargeN start at the 64-bit word holding searchIdx and return
// the first fit at or after that word's start, and the lowest free page from it as the
// new search index.
//
// Work units are 64-bit words visited. The functions do not count into any shared
// counter: the updates return the words they touched, find leaves the words it visited
// in `findWords`, and the page allocator adds them to its own count.

import { clz64, ctz32, ctz64, findBitRange64, popcount32 } from './bits64.js';

/** _PageSize: the runtime page, 8 KiB on every platform. */
export const PAGE_BYTES = 8192;
export const PALLOC_CHUNK_PAGES = 512;
/** pallocChunkBytes: 4 MiB. */
export const CHUNK_BYTES = PALLOC_CHUNK_PAGES * PAGE_BYTES;
/** 32-bit halves per 512-bit bitmap. */
const HALVES = PALLOC_CHUNK_PAGES / 32;
/** Halves per chunk: allocation bits then scavenged bits. */
export const CHUNK_WORDS = 2 * HALVES;
/** 64-bit words per bitmap: the work of a whole-bitmap operation. */
const WORDS64 = HALVES / 2;

export const NOT_FOUND = -1;

// Chunk storage states (see page-alloc.ts): the words hold the bitmaps (CHUNK_BITS), or
// every page of the chunk is in one state and no words are kept.
export const CHUNK_BITS = 0;
/** Every page in use, none scavenged. */
export const CHUNK_ALLOC = 1;
/** Every page free and scavenged (grown memory). */
export const CHUNK_FREE_SCAV = 2;
/** Every page free, none scavenged. */
export const CHUNK_FREE = 3;

/** The chunk holding offset address o. */
export const chunkIndex = (o: number): number => Math.floor(o / CHUNK_BYTES);
/** The offset address where chunk ci starts. */
export const chunkBase = (ci: number): number => ci * CHUNK_BYTES;
/** The page of its chunk that offset address o is in. */
export const chunkPageIndex = (o: number): number => Math.floor((o % CHUNK_BYTES) / PAGE_BYTES);

// ---- pageBits: ranges of bits in one bitmap (`b` at offset `o`). ----

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

// ---- pallocBits: summaries and searches over the allocation bits. ----

/** The (start, max, end) free-run summary of a chunk's allocation bits. */
export const summaryOut = { start: 0, max: 0, end: 0 };

/**
 * summarize: the free pages at the start, the longest free run and the free pages at
 * the end, into summaryOut; returns the words read. (Go computes max with a
 * word-parallel trick; the value is the same.)
 */
export function summarize(b: Uint32Array, o: number): number {
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
    return WORDS64;
  }
  if (cur > max) max = cur;
  summaryOut.start = start;
  summaryOut.max = max;
  summaryOut.end = cur;
  return WORDS64;
}

/**
 * find: the first run of npages free pages from searchIdx's word, or NOT_FOUND; sets
 * findSearchIdx (the new search index) and findWords (64-bit words visited).
 */
export let findSearchIdx = NOT_FOUND;
export let findWords = 0;

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
  const i0 = searchIdx >>> 6;
  for (let i = i0; i < 8; i++) {
    const lo = b[o + 2 * i];
    const hi = b[o + 2 * i + 1];
    if ((lo & hi) === -1 || (lo === 0xffffffff && hi === 0xffffffff)) continue;
    findWords = i - i0 + 1;
    return i * 64 + ctz64(~lo >>> 0, ~hi >>> 0);
  }
  findWords = 8 - i0;
  return NOT_FOUND;
}

function findSmallN(b: Uint32Array, o: number, npages: number, searchIdx: number): number {
  let end = 0;
  let newSearchIdx = NOT_FOUND;
  const i0 = searchIdx >>> 6;
  for (let i = i0; i < 8; i++) {
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
      findWords = i - i0 + 1;
      return i * 64 - end;
    }
    const j = findBitRange64(~lo >>> 0, ~hi >>> 0, npages);
    if (j < 64) {
      findSearchIdx = newSearchIdx;
      findWords = i - i0 + 1;
      return i * 64 + j;
    }
    end = clz64(lo, hi);
  }
  findSearchIdx = newSearchIdx;
  findWords = 8 - i0;
  return NOT_FOUND;
}

function findLargeN(b: Uint32Array, o: number, npages: number, searchIdx: number): number {
  let start = NOT_FOUND;
  let size = 0;
  let newSearchIdx = NOT_FOUND;
  const i0 = searchIdx >>> 6;
  for (let i = i0; i < 8; i++) {
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
      findWords = i - i0 + 1;
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
  findWords = 8 - i0;
  return size < npages ? NOT_FOUND : start;
}

// ---- pallocData: allocation and scavenged bits together. ----
// Each returns the 64-bit words of the allocation bits it touched.

/** The 64-bit words that pages [i, i+n) span. */
const wordsSpanned = (i: number, n: number): number => ((i + n - 1) >>> 6) - (i >>> 6) + 1;

/** allocRange: mark [i, i+n) in use; in-use pages are never scavenged. */
export function allocRange(b: Uint32Array, o: number, i: number, n: number): number {
  setRange(b, o, i, n);
  clearRange(b, o + HALVES, i, n);
  return wordsSpanned(i, n);
}

export function freeRange(b: Uint32Array, o: number, i: number, n: number): number {
  clearRange(b, o, i, n);
  return wordsSpanned(i, n);
}
