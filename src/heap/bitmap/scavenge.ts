// Scavenging: the parts of Go 1.19's mgcscavenge.go that decide which free pages go back
// to the OS, in which order: findScavengeCandidate (within a chunk), the scavenge index
// (which chunks), and pageAlloc.scavenge / scavengeOne (the loop over them). Pacing, the
// background scavenger and the memory limit are policy (src/policy).
//
// Invariants (Go's):
// - The scavenge index has one bit per chunk, set for every chunk that may hold free,
//   unscavenged pages: mark sets it when pages are freed unscavenged; scavengeOne clears
//   it when it finds nothing to take there.
// - Its searchAddr (searchRaw) is the highest address that may have work; find walks
//   the index downwards from it. Go's atomicOffAddr "marked" state, kept as a negated
//   value, records that a free raised it: the next find then moves it unconditionally,
//   and a find that runs out of chunks does not clear it.
// - Scavenging takes the highest candidate first (highest chunk, highest run in it),
//   whole physical pages, and never breaks a free and unscavenged huge page it could
//   take whole. A scavenged run is allocated, released to the OS through the metadata
//   hooks, freed again and marked scavenged, as scavengeRangeLocked does, so the
//   summaries and searchAddr move exactly as in Go.
//
// Work units: index bytes visited (ScavengeIndex.work) and, charged to the page
// allocator's count, chunk words read by findScavengeCandidate and one leaf summary per
// scavengeOne.

import { clz64, fillAligned, hi64 } from './bits64.js';
import { MIN_OFF_ADDR } from './addr-ranges.js';
import {
  CHUNK_BYTES,
  CHUNK_FREE,
  CHUNK_FREE_SCAV,
  CHUNK_WORDS,
  PAGE_BYTES,
  PALLOC_CHUNK_PAGES,
  chunkBase,
  chunkIndex,
  chunkPageIndex,
  setRange,
} from './palloc-bits.js';
import type { PageAlloc } from './page-alloc.js';

/** 32-bit halves per 512-bit bitmap: the scavenged bits start this far into a chunk. */
const HALVES = CHUNK_WORDS / 2;
/** maxPagesPerPhysPage: the largest physical page is 64 pages (512 KiB). */
const MAX_PAGES_PER_PHYS_PAGE = 64;
/** 64-bit words per bitmap: what findScavengeCandidate reads of a uniform free chunk. */
const WORDS64 = HALVES / 2;

/**
 * findScavengeCandidate: the highest run of free, unscavenged pages at or below
 * searchIdx, at least `min` pages and `min`-aligned (a physical page), cut to `max`
 * pages from the top, but widened down to a huge-page boundary rather than break a
 * free and unscavenged huge page. Returns the start; the size is in candidateSize
 * (0: none) and the 64-bit words read in candidateWords.
 */
export let candidateSize = 0;
let candidateWords = 0;

// Ported whole from Go 1.19's fillAligned-based candidate search so that it reads against
// the original; its table-driven tests (test/go-cases.test.ts) pin every branch.
// eslint-disable-next-line max-lines-per-function
export function findScavengeCandidate(b: Uint32Array, o: number, searchIdx: number, min: number, max: number, pagesPerHugePage: number): number {
  if ((min & (min - 1)) !== 0 || min === 0 || min > MAX_PAGES_PER_PHYS_PAGE) throw new Error(`findScavengeCandidate: bad min ${min}`);
  max = max === 0 ? min : Math.ceil(max / min) * min;
  candidateWords = 0;
  const word = (i: number): number => {
    candidateWords++;
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

/** The scavenge index: one bit per chunk, "may hold free, unscavenged pages". */
export class ScavengeIndex {
  /** One bit per chunk, in bytes of 8 chunks, stored in pages of 4096 bytes. */
  private readonly pages: (Uint8Array | undefined)[] = [];
  /** searchAddr as Go's atomicOffAddr: the offset, negated while "marked". */
  searchRaw = 0;
  /** The lowest index byte the heap has grown into. */
  minHeapIdx = 0;
  /** Index bytes visited (work units). */
  work = 0;
  /**
   * find's second result: the page of the chunk to search down from. Go 1.19's
   * scavengeOne takes it but searches from the chunk's top page all the same, and so
   * does scavengeOne here.
   */
  findPage = 0;

  byte(i: number): number {
    const p = this.pages[i >>> 12];
    return p === undefined ? 0 : p[i & 4095];
  }

  private setByte(i: number, v: number): void {
    let p = this.pages[i >>> 12];
    if (p === undefined) {
      p = new Uint8Array(4096);
      this.pages[i >>> 12] = p;
    }
    p[i & 4095] = v;
  }

  /** grow: the heap now reaches down to offset address base. */
  grow(base: number): void {
    const baseIdx = Math.floor(chunkIndex(base) / 8);
    if (this.minHeapIdx === 0 || baseIdx < this.minHeapIdx) this.minHeapIdx = baseIdx;
  }

  /** find: the highest chunk that may have pages to scavenge (0: none); its page in findPage. */
  find(): number {
    const raw = this.searchRaw;
    const marked = raw < 0;
    const searchAddr = marked ? -raw : raw;
    if (searchAddr === MIN_OFF_ADDR) return 0;
    const searchChunk = chunkIndex(searchAddr);
    for (let i = Math.floor(searchChunk / 8); i >= this.minHeapIdx; i--) {
      this.work++;
      const chunks = this.byte(i);
      if (chunks === 0) continue;
      const n = 31 - Math.clz32(chunks); // 7 - LeadingZeros8
      const ci = i * 8 + n;
      if (searchChunk === ci) {
        this.findPage = chunkPageIndex(searchAddr);
        return ci;
      }
      const newSearchAddr = chunkBase(ci) + CHUNK_BYTES - PAGE_BYTES;
      if (marked) {
        // StoreUnmark: succeeds, nothing races with a sequential replay.
        this.searchRaw = newSearchAddr;
      } else if (!(raw < newSearchAddr)) {
        // StoreMin
        this.searchRaw = newSearchAddr;
      }
      this.findPage = PALLOC_CHUNK_PAGES - 1;
      return ci;
    }
    // Clear: unless marked.
    if (this.searchRaw >= 0) this.searchRaw = MIN_OFF_ADDR;
    return 0;
  }

  /** mark: chunks of [base, limit) may have pages to scavenge. */
  mark(base: number, limit: number): void {
    const start = chunkIndex(base);
    const end = chunkIndex(limit - PAGE_BYTES);
    for (let ci = start; ci <= end;) {
      const i = Math.floor(ci / 8);
      if (ci % 8 === 0 && ci + 7 <= end) {
        // A whole byte of chunks.
        this.setByte(i, 0xff);
        ci += 8;
        continue;
      }
      this.setByte(i, this.byte(i) | (1 << (ci % 8)));
      ci++;
    }
    const newSearchAddr = limit - PAGE_BYTES;
    const raw = this.searchRaw;
    const searchAddr = raw < 0 ? -raw : raw;
    if (searchAddr < newSearchAddr) this.searchRaw = -newSearchAddr;
  }

  /** clear: chunk ci has nothing the scavenger can take. */
  clear(ci: number): void {
    const i = Math.floor(ci / 8);
    this.setByte(i, this.byte(i) & ~(1 << (ci % 8)));
  }
}

/** pageAlloc.scavenge: releases at least nbytes (Infinity: everything), highest addresses first. */
export function scavenge(p: PageAlloc, nbytes: number): number {
  let released = 0;
  while (released < nbytes) {
    const ci = p.scav.find();
    if (ci === 0) break;
    released += scavengeOne(p, ci, nbytes - released);
  }
  return released;
}

/** Releases every free, unscavenged page of chunk ci that the scavenger may take. */
export function scavengeChunk(p: PageAlloc, ci: number): number {
  let released = 0;
  for (let r = scavengeOne(p, ci, Infinity); r > 0; r = scavengeOne(p, ci, Infinity)) released += r;
  return released;
}

/**
 * scavengeOne: releases the top candidate of chunk ci, up to max bytes; clears its index
 * bit if none. A uniform (tagged) free chunk needs no words: findScavengeCandidate would
 * read all eight and find the whole chunk (unscavenged, when max reaches it) or nothing.
 */
function scavengeOne(p: PageAlloc, ci: number, max: number): number {
  const maxPages = max === Infinity ? Infinity : Math.ceil(max / PAGE_BYTES);
  const minPages = p.minScavPages;
  p.work++;
  if (p.leafMax(ci) >= minPages) {
    const tag = p.chunkTag(ci);
    if (tag === CHUNK_FREE && Math.ceil(maxPages / minPages) * minPages >= PALLOC_CHUNK_PAGES) {
      p.work += WORDS64;
      return releaseRun(p, ci, 0, PALLOC_CHUNK_PAGES);
    }
    if (tag === CHUNK_FREE_SCAV) p.work += WORDS64;
    else {
      const base = findScavengeCandidate(p.chunkWords(ci), p.chunkOffset(ci), PALLOC_CHUNK_PAGES - 1, minPages, maxPages, p.pagesPerHugePage);
      p.work += candidateWords;
      if (candidateSize !== 0) return releaseRun(p, ci, base, candidateSize);
    }
  }
  p.scav.clear(ci);
  return 0;
}

/** scavengeRangeLocked: pages [base, base+npages) of chunk ci go back to the OS. */
function releaseRun(p: PageAlloc, ci: number, base: number, npages: number): number {
  const addr = chunkBase(ci) + base * PAGE_BYTES;
  if (p.allocRange(addr, npages) !== 0) throw new Error('bitmap: double scavenge');
  p.hooks.release(addr, npages * PAGE_BYTES);
  p.free(addr, npages, true);
  if (npages === PALLOC_CHUNK_PAGES) p.setChunkTag(ci, CHUNK_FREE_SCAV);
  else setRange(p.chunkWords(ci), p.chunkOffset(ci) + HALVES, base, npages);
  return npages * PAGE_BYTES;
}
