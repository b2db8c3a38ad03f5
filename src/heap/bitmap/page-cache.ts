// Per-P page caches: Go 1.19's mpagecache.go.
//
// A page cache is one aligned block of 64 pages (one 64-bit word of a chunk's bitmap)
// that a P took from the page allocator, with the free pages it holds and which of them
// are scavenged. Small allocations by that P are served from it without touching the
// page allocator's summaries.
//
// Invariants (Go's):
// - base is 64-page aligned; bit i of cache stands for page base + i and is set when
//   that page is free in the cache; scav's bits are a subset of cache's.
// - The allocator's bitmap marks every page of the block allocated while the cache holds
//   it, and its scavenged bits are clear for the pages the cache took as free and
//   scavenged: the cache carries that state until it hands the pages back (flush).
// - A cache is empty when it holds no free page; only an empty cache is refilled
//   (allocToCache), and flush leaves it empty.
//
// A 64-bit word is two 32-bit halves (lo: pages 0-31, hi: 32-63), as in bits64.ts.

import { ctz64, findBitRange64, hi64, mask64, popcount32 } from './bits64.js';
import { MAX_OFF_ADDR } from './addr-ranges.js';
import { CHUNK_WORDS, NOT_FOUND, PAGE_BYTES, chunkBase, chunkIndex, chunkPageIndex, find as chunkFind, findWords, freeRange, setRange } from './palloc-bits.js';
import type { PageAlloc } from './page-alloc.js';

/** pageCachePages: one 64-bit bitmap. */
export const PAGE_CACHE_PAGES = 64;

export class PageCache {
  base = 0;
  cacheLo = 0;
  cacheHi = 0;
  scavLo = 0;
  scavHi = 0;
  /** Bytes of the last alloc that had been scavenged. */
  lastScav = 0;

  empty(): boolean {
    return this.cacheLo === 0 && this.cacheHi === 0;
  }

  clear(): void {
    this.base = this.cacheLo = this.cacheHi = this.scavLo = this.scavHi = 0;
  }

  /** pageCache.alloc: npages from the cache (base address) or 0 if it cannot. */
  alloc(npages: number): number {
    this.lastScav = 0;
    if (this.empty()) return 0;
    if (npages === 1) {
      const i = ctz64(this.cacheLo, this.cacheHi);
      if (i < 32) {
        this.lastScav = ((this.scavLo >>> i) & 1) * PAGE_BYTES;
        this.cacheLo = (this.cacheLo & ~(1 << i)) >>> 0;
        this.scavLo = (this.scavLo & ~(1 << i)) >>> 0;
      } else {
        this.lastScav = ((this.scavHi >>> (i - 32)) & 1) * PAGE_BYTES;
        this.cacheHi = (this.cacheHi & ~(1 << (i - 32))) >>> 0;
        this.scavHi = (this.scavHi & ~(1 << (i - 32))) >>> 0;
      }
      return this.base + i * PAGE_BYTES;
    }
    // allocN
    const i = findBitRange64(this.cacheLo, this.cacheHi, npages);
    if (i >= 64) return 0;
    const mLo = mask64(i, npages);
    const mHi = hi64;
    this.lastScav = (popcount32(this.scavLo & mLo) + popcount32(this.scavHi & mHi)) * PAGE_BYTES;
    this.cacheLo = (this.cacheLo & ~mLo) >>> 0;
    this.cacheHi = (this.cacheHi & ~mHi) >>> 0;
    this.scavLo = (this.scavLo & ~mLo) >>> 0;
    this.scavHi = (this.scavHi & ~mHi) >>> 0;
    return this.base + i * PAGE_BYTES;
  }

  /** pageCache.flush: returns the cache's pages (and their scavenged state) to p, and empties it. */
  flush(p: PageAlloc): void {
    if (this.empty()) return;
    const ci = chunkIndex(this.base);
    const pi = chunkPageIndex(this.base);
    const words = p.chunkWords(ci);
    const o = p.chunkOffset(ci);
    for (let i = 0; i < 64; i++) {
      const inCache = i < 32 ? (this.cacheLo >>> i) & 1 : (this.cacheHi >>> (i - 32)) & 1;
      const scav = i < 32 ? (this.scavLo >>> i) & 1 : (this.scavHi >>> (i - 32)) & 1;
      if (inCache) p.work += freeRange(words, o, pi + i, 1);
      if (scav) setRange(words, o + CHUNK_WORDS / 2, pi + i, 1);
    }
    if (this.base < p.searchAddr) p.searchAddr = this.base;
    p.update(this.base, 64, false, false);
    this.clear();
  }
}

/** pageAlloc.allocToCache: fills the empty cache c with the aligned 64-page block holding the first free page. */
export function allocToCache(p: PageAlloc, c: PageCache): void {
  c.clear();
  if (chunkIndex(p.searchAddr) >= p.end) return;
  let ci = chunkIndex(p.searchAddr);
  let j: number;
  p.work++;
  if (!p.leafIsZero(ci)) {
    j = chunkFind(p.chunkWords(ci), p.chunkOffset(ci), 1, chunkPageIndex(p.searchAddr));
    p.work += findWords;
    if (j === NOT_FOUND) throw new Error('bitmap: allocToCache: bad summary data');
    c.base = chunkBase(ci) + Math.floor(j / 64) * 64 * PAGE_BYTES;
  } else {
    const addr = p.find(1);
    if (addr === 0) {
      p.searchAddr = MAX_OFF_ADDR;
      return;
    }
    ci = chunkIndex(addr);
    j = chunkPageIndex(addr);
    c.base = Math.floor(addr / (64 * PAGE_BYTES)) * 64 * PAGE_BYTES;
  }
  const words = p.chunkWords(ci);
  const o = p.chunkOffset(ci);
  const w = o + 2 * Math.floor(j / 64);
  const s = o + CHUNK_WORDS / 2 + 2 * Math.floor(j / 64);
  c.cacheLo = ~words[w] >>> 0;
  c.cacheHi = ~words[w + 1] >>> 0;
  c.scavLo = words[s];
  c.scavHi = words[s + 1];
  // allocPages64 and clear the free-and-scavenged bits.
  words[w] = (words[w] | c.cacheLo) >>> 0;
  words[w + 1] = (words[w + 1] | c.cacheHi) >>> 0;
  words[s] = (words[s] & ~(c.cacheLo & c.scavLo)) >>> 0;
  words[s + 1] = (words[s + 1] & ~(c.cacheHi & c.scavHi)) >>> 0;
  p.update(c.base, 64, false, true);
  p.searchAddr = c.base + PAGE_BYTES * 63;
}
