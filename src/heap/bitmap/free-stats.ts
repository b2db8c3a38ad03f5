// Free-memory statistics of the page allocator (for the bitmap backend's freeStats):
// free pages, maximal free runs and the largest, in address order over the grown heap.
//
// The walk goes down the radix tree of summaries (summary.ts) instead of over every
// chunk: a region whose summary says "nothing free" or "all free" is counted whole, so a
// heap of millions of uniform chunks costs a few summary reads. Only regions with a
// partly free chunk, or holding a P's page cache, are descended to their chunks' bits.
//
// Invariants: the summaries are exact (every update keeps them so), and a region of
// address space the heap has not grown into reads "nothing free", which ends a run as a
// gap between in-use ranges does. Pages in page caches are allocated in the bitmaps but
// free memory: `cached` maps each 32-page half-word's offset address to its cached bits.

import { ctz32, popcount32 } from './bits64.js';
import { CHUNK_BYTES, CHUNK_WORDS, PAGE_BYTES, PALLOC_CHUNK_PAGES } from './palloc-bits.js';
import type { PageAlloc } from './page-alloc.js';
import { LEVEL_BITS, LEVEL_PAGES, SUMMARY_LEVELS, sumMax, sumStart } from './summary.js';

/** The running tally, in address order. */
class Tally {
  freePages = 0;
  runs = 0;
  largest = 0;
  /** Free pages in the run reaching the current position. */
  run = 0;

  /** n free pages follow. */
  free(n: number): void {
    if (this.run === 0) this.runs++;
    this.freePages += n;
    this.run += n;
    if (this.run > this.largest) this.largest = this.run;
  }

  /** One 32-page half-word whose set bits are free pages. */
  half(free: number): void {
    if (free === 0) {
      this.run = 0;
      return;
    }
    this.freePages += popcount32(free);
    // A run starts at each free page whose predecessor is not free.
    this.runs += popcount32(free & ~((free << 1) | (this.run > 0 ? 1 : 0)));
    if (free === 0xffffffff) {
      this.run += 32;
      if (this.run > this.largest) this.largest = this.run;
      return;
    }
    // Step over the word run by run.
    let bit = 0;
    while (bit < 32) {
      const rest = free >>> bit;
      if (rest === 0) {
        this.run = 0;
        return;
      }
      const gap = ctz32(rest);
      if (gap > 0) {
        this.run = 0;
        bit += gap;
        continue;
      }
      const ones = ctz32(~rest >>> 0);
      this.run += ones;
      if (this.run > this.largest) this.largest = this.run;
      bit += ones;
    }
  }
}

/** Chunks per summary at each level. */
const LEVEL_CHUNKS = LEVEL_PAGES.map((n) => n / PALLOC_CHUNK_PAGES);

export interface FreeFigures {
  freePages: number;
  freeRuns: number;
  largestFreeRunPages: number;
}

/** The free-memory figures of p, counting the `cached` pages as free. */
export function freeFigures(p: PageAlloc, cached: Map<number, number>): FreeFigures {
  const t = new Tally();
  if (p.end > p.start) {
    const cachedChunks = [...new Set([...cached.keys()].map((a) => Math.floor(a / CHUNK_BYTES)))];
    const walker = new Walker(p, cached, cachedChunks, t);
    const top = LEVEL_CHUNKS[0];
    for (let i = Math.floor(p.start / top); i <= Math.floor((p.end - 1) / top); i++) walker.visit(0, i);
  }
  return { freePages: t.freePages, freeRuns: t.runs, largestFreeRunPages: t.largest };
}

class Walker {
  constructor(
    private readonly p: PageAlloc,
    private readonly cached: Map<number, number>,
    private readonly cachedChunks: number[],
    private readonly t: Tally,
  ) {}

  /** Summary i of level l, in address order. */
  visit(l: number, i: number): void {
    const level = this.p.summary[l];
    const lo = level.read(i);
    const hi = level.readHi;
    const first = i * LEVEL_CHUNKS[l];
    if (!this.holdsCache(first, first + LEVEL_CHUNKS[l])) {
      if (sumMax(lo, hi) === 0) {
        this.t.run = 0;
        return;
      }
      if (sumStart(lo, hi) === LEVEL_PAGES[l]) {
        this.t.free(LEVEL_PAGES[l]);
        return;
      }
    }
    if (l === SUMMARY_LEVELS - 1) {
      this.chunk(i);
      return;
    }
    const fanout = 1 << LEVEL_BITS[l + 1];
    for (let k = 0; k < fanout; k++) this.visit(l + 1, i * fanout + k);
  }

  private holdsCache(first: number, end: number): boolean {
    for (const c of this.cachedChunks) if (c >= first && c < end) return true;
    return false;
  }

  /** A grown chunk's allocation bits, less its cached pages (a chunk not grown reads "nothing free" above). */
  private chunk(ci: number): void {
    const words = this.p.chunkWords(ci);
    const o = this.p.chunkOffset(ci);
    for (let k = 0; k < CHUNK_WORDS / 2; k++) {
      let used = words[o + k] >>> 0;
      const c = this.cached.get(ci * CHUNK_BYTES + k * 32 * PAGE_BYTES);
      if (c !== undefined) used = (used & ~c) >>> 0;
      this.t.half(~used >>> 0);
    }
  }
}
