// The largest free run of the page allocator (for the bitmap backend's freeStats), in
// address order over the grown heap, page-cache pages counted as free.
//
// The radix tree of summaries (summary.ts) already holds it: each summary's start, max
// and end, folded in address order across the root level, give the longest run, as
// mergeSummaries does one level up. Only regions holding a P's page cache are descended
// (their pages are allocated in the bitmaps but free memory), down to their chunks' bits.
// A heap of millions of chunks thus costs one read per 16 GiB root entry plus a few per
// cache, however fragmented it is. The other free figures are kept as the heap changes
// (index.ts).
//
// Invariants: the summaries are exact (every update keeps them so), and a region of
// address space the heap has not grown into reads "nothing free", which ends a run as a
// gap between in-use ranges does. `cached` maps each 32-page half-word's offset address
// to its cached bits.

import { ctz32 } from './bits64.js';
import { CHUNK_BYTES, CHUNK_WORDS, PAGE_BYTES, PALLOC_CHUNK_PAGES } from './palloc-bits.js';
import type { PageAlloc } from './page-alloc.js';
import { LEVEL_BITS, LEVEL_PAGES, SUMMARY_LEVELS, sumEnd, sumMax, sumStart } from './summary.js';

/** Chunks per summary at each level. */
const LEVEL_CHUNKS = LEVEL_PAGES.map((n) => n / PALLOC_CHUNK_PAGES);

/** The longest run so far and the run reaching the current position, in address order. */
class Runs {
  largest = 0;
  run = 0;

  /** A region of `full` pages summarised as (start, max, end). */
  region(start: number, max: number, end: number, full: number): void {
    if (start === full) {
      this.run += full;
      if (this.run > this.largest) this.largest = this.run;
      return;
    }
    this.run += start;
    if (this.run > this.largest) this.largest = this.run;
    if (max > this.largest) this.largest = max;
    this.run = end;
  }

  /** One 32-page half-word whose set bits are free pages. */
  half(free: number): void {
    if (free === 0xffffffff) {
      this.run += 32;
      if (this.run > this.largest) this.largest = this.run;
      return;
    }
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

/** The largest run of free pages in p, counting the `cached` pages as free. */
export function largestFreeRun(p: PageAlloc, cached: Map<number, number>): number {
  const runs = new Runs();
  if (p.end > p.start) {
    const cachedChunks = [...new Set([...cached.keys()].map((a) => Math.floor(a / CHUNK_BYTES)))];
    const walker = new Walker(p, cached, cachedChunks, runs);
    const top = LEVEL_CHUNKS[0];
    for (let i = Math.floor(p.start / top); i <= Math.floor((p.end - 1) / top); i++) walker.visit(0, i);
  }
  return runs.largest;
}

class Walker {
  constructor(
    private readonly p: PageAlloc,
    private readonly cached: Map<number, number>,
    private readonly cachedChunks: number[],
    private readonly runs: Runs,
  ) {}

  /** Summary i of level l, in address order. */
  visit(l: number, i: number): void {
    const first = i * LEVEL_CHUNKS[l];
    if (!this.holdsCache(first, first + LEVEL_CHUNKS[l])) {
      const level = this.p.summary[l];
      const lo = level.read(i);
      const hi = level.readHi;
      this.runs.region(sumStart(lo, hi), sumMax(lo, hi), sumEnd(lo, hi), LEVEL_PAGES[l]);
      return;
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

  /** A chunk holding a cache: its allocation bits, less its cached pages (a cache lives only in a grown chunk). */
  private chunk(ci: number): void {
    const words = this.p.chunkWords(ci);
    const o = this.p.chunkOffset(ci);
    for (let k = 0; k < CHUNK_WORDS / 2; k++) {
      let used = words[o + k] >>> 0;
      const c = this.cached.get(ci * CHUNK_BYTES + k * 32 * PAGE_BYTES);
      if (c !== undefined) used = (used & ~c) >>> 0;
      this.runs.half(~used >>> 0);
    }
  }
}
