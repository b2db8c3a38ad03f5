// The page allocator proper: Go 1.19's pageAlloc (mpagealloc.go, mpagealloc_64bit.go):
// the chunk store, the radix tree of summaries over it, and find, alloc, free, grow and
// update. The layers it stands on are in their own files, as in Go: chunk bitmaps
// (palloc-bits.ts), summaries (summary.ts), address ranges (addr-ranges.ts), the
// scavenge index (scavenge.ts); the page cache (page-cache.ts) and scavenging
// (scavenge.ts) are pageAlloc methods in Go, functions over a PageAlloc here.
//
// Addresses are offset addresses (addr-ranges.ts). The backend (index.ts) converts at
// its edge.
//
// Invariants (Go's):
// - Every valid address below searchAddr is allocated; searchAddr never points outside
//   inUse except when it is MAX_OFF_ADDR, "no free memory".
// - summary[4][ci] summarises chunk ci; each higher summary merges its 8 children; a
//   summary that was never written is 0 ("nothing free").
// - [start, end) are the chunk indices grown into (with gaps where inUse has them); a
//   chunk's storage exists from its growth on, and grown memory starts free and
//   scavenged.
// - A chunk's scavenged bits mark free pages released to the OS; pages freed
//   unscavenged mark their chunks in the scavenge index.
// - Decisions depend only on these structures, so the order of operations is Go's
//   order, line for line: the differential test against the real runtime checks it.
//
// Work units (`work`): summary entries visited and chunk words the bitmap functions
// touch (they return or report their count; no counter is shared between allocators).

import { MAX_OFF_ADDR, MIN_OFF_ADDR, AddrRanges } from './addr-ranges.js';
import {
  CHUNK_BYTES,
  CHUNK_WORDS,
  NOT_FOUND,
  PAGE_BYTES,
  PALLOC_CHUNK_PAGES,
  allocAll,
  allocRange as chunkAllocRange,
  chunkBase,
  chunkIndex,
  chunkPageIndex,
  find as chunkFind,
  findSearchIdx,
  findWords,
  freeAll,
  freeRange,
  popcntRange,
  setRange,
  summarize,
  summaryOut,
} from './palloc-bits.js';
import { ScavengeIndex } from './scavenge.js';
import { LEVEL_BITS, LEVEL_PAGES, LEVEL_SCALE, SUMMARY_LEVELS, SummaryLevel, mergeChildren, pack, packedHi, sumEnd, sumMax, sumStart } from './summary.js';

/** pallocChunksL1Bits / L2Bits: the two-level chunk map. */
const CHUNK_L2_BITS = 13;
const CHUNK_L2_ENTRIES = 1 << CHUNK_L2_BITS;
/** The summary of a wholly free chunk. */
const FREE_CHUNK_LO = pack(PALLOC_CHUNK_PAGES, PALLOC_CHUNK_PAGES, PALLOC_CHUNK_PAGES);
const FREE_CHUNK_HI = packedHi;

/** Hooks through which the page allocator's own metadata reaches the OS layer. */
export interface MetadataHooks {
  /** sysGrow mapped summary or index memory for [base, limit) (offset addresses). */
  grew(base: number, limit: number): void;
  /** A second-level chunk array was allocated (sysAlloc of 1 MiB). */
  chunkArray(): void;
  /** sysUnused: release [addr, addr+bytes) (offset address). */
  release(addr: number, bytes: number): void;
}

export class PageAlloc {
  readonly summary: SummaryLevel[] = Array.from({ length: SUMMARY_LEVELS }, () => new SummaryLevel());
  private readonly chunkL1: (Uint32Array | undefined)[] = [];
  /** The lowest address that may be free (offset address); MAX_OFF_ADDR: none. */
  searchAddr = MAX_OFF_ADDR;
  /** [start, end): the chunk indices the heap has grown into, gaps included. */
  start = 0;
  end = 0;
  readonly inUse = new AddrRanges();
  readonly scav = new ScavengeIndex();
  /** Summary entries and chunk words visited (work units). */
  work = 0;
  /** The physical page in runtime pages (at least 1): the scavenger's unit. */
  readonly minScavPages: number;
  /** The huge page in runtime pages, 1 when huge pages are not modelled. */
  readonly pagesPerHugePage: number;

  constructor(
    physPageBytes: number,
    hugePageBytes: number,
    readonly hooks: MetadataHooks,
  ) {
    this.minScavPages = Math.max(1, physPageBytes / PAGE_BYTES);
    this.pagesPerHugePage = hugePageBytes > PAGE_BYTES && hugePageBytes > physPageBytes ? hugePageBytes / PAGE_BYTES : 1;
  }

  private lastL1 = -1;
  private lastL2: Uint32Array = new Uint32Array(0);

  /** The chunk's storage (a second-level array) and, below, its words' offset in it. */
  chunkWords(ci: number): Uint32Array {
    const l1 = ci >>> CHUNK_L2_BITS;
    if (l1 !== this.lastL1) {
      this.lastL2 = this.chunkL1[l1] as Uint32Array;
      this.lastL1 = l1;
    }
    return this.lastL2;
  }

  chunkOffset(ci: number): number {
    return (ci & (CHUNK_L2_ENTRIES - 1)) * CHUNK_WORDS;
  }

  hasChunk(ci: number): boolean {
    return this.chunkL1[ci >>> CHUNK_L2_BITS] !== undefined;
  }

  /** The leaf summary's max for chunk ci. */
  leafMax(ci: number): number {
    const leaf = this.summary[SUMMARY_LEVELS - 1];
    const lo = leaf.read(ci);
    return sumMax(lo, leaf.readHi);
  }

  /** Whether chunk ci's leaf summary is 0 (no free page). */
  leafIsZero(ci: number): boolean {
    const leaf = this.summary[SUMMARY_LEVELS - 1];
    return leaf.read(ci) === 0 && leaf.readHi === 0;
  }

  grow(base: number, size: number): void {
    const limit = Math.ceil((base + size) / CHUNK_BYTES) * CHUNK_BYTES;
    base = Math.floor(base / CHUNK_BYTES) * CHUNK_BYTES;
    this.hooks.grew(base, limit);
    this.scav.grow(base);
    const firstGrowth = this.start === 0;
    const start = chunkIndex(base);
    const end = chunkIndex(limit);
    if (firstGrowth || start < this.start) this.start = start;
    if (end > this.end) this.end = end;
    this.inUse.add(base, limit);
    if (base < this.searchAddr) this.searchAddr = base;
    for (let c = chunkIndex(base); c < chunkIndex(limit); c++) {
      if (this.chunkL1[c >>> CHUNK_L2_BITS] === undefined) {
        this.chunkL1[c >>> CHUNK_L2_BITS] = new Uint32Array(CHUNK_L2_ENTRIES * CHUNK_WORDS);
        this.lastL1 = -1;
        this.hooks.chunkArray();
      }
      setRange(this.chunkWords(c), this.chunkOffset(c) + CHUNK_WORDS / 2, 0, PALLOC_CHUNK_PAGES);
    }
    this.update(base, size / PAGE_BYTES, true, false);
  }

  private summarizeChunk(ci: number): number {
    this.work += summarize(this.chunkWords(ci), this.chunkOffset(ci));
    return pack(summaryOut.start, summaryOut.max, summaryOut.end);
  }

  update(base: number, npages: number, contig: boolean, alloc: boolean): void {
    const limit = base + npages * PAGE_BYTES - 1;
    const sc = chunkIndex(base);
    const ec = chunkIndex(limit);
    const leaf = this.summary[SUMMARY_LEVELS - 1];
    if (sc === ec) {
      const xLo = leaf.read(sc);
      const xHi = leaf.readHi;
      const yLo = this.summarizeChunk(sc);
      const yHi = packedHi;
      this.work++;
      if (xLo === yLo && xHi === yHi) return;
      leaf.set(sc, yLo, yHi);
    } else if (contig) {
      let lo = this.summarizeChunk(sc);
      leaf.set(sc, lo, packedHi);
      for (let c = sc + 1; c < ec; c++) {
        this.work++;
        if (alloc) leaf.set(c, 0, 0);
        else leaf.set(c, FREE_CHUNK_LO, FREE_CHUNK_HI);
      }
      lo = this.summarizeChunk(ec);
      leaf.set(ec, lo, packedHi);
    } else {
      for (let c = sc; c <= ec; c++) {
        const lo = this.summarizeChunk(c);
        leaf.set(c, lo, packedHi);
      }
    }
    let changed = true;
    for (let l = SUMMARY_LEVELS - 2; l >= 0 && changed; l--) {
      changed = false;
      const childBits = LEVEL_BITS[l + 1];
      const childPages = LEVEL_PAGES[l + 1];
      const shift = LEVEL_SCALE[l];
      const lo = Math.floor(base / shift);
      const hi = Math.floor(limit / shift) + 1;
      const parent = this.summary[l];
      const children = this.summary[l + 1];
      for (let i = lo; i < hi; i++) {
        this.work += 1 << childBits;
        const sLo = mergeChildren(children, i * (1 << childBits), 1 << childBits, childPages);
        const sHi = packedHi;
        if (parent.read(i) !== sLo || parent.readHi !== sHi) {
          changed = true;
          parent.set(i, sLo, sHi);
        }
      }
    }
  }

  /** allocRange: marks [base, base+npages) in use; returns the bytes that were scavenged. */
  allocRange(base: number, npages: number): number {
    const limit = base + npages * PAGE_BYTES - 1;
    const sc = chunkIndex(base);
    const ec = chunkIndex(limit);
    const si = chunkPageIndex(base);
    const ei = chunkPageIndex(limit);
    let scav = 0;
    if (sc === ec) {
      const w = this.chunkWords(sc);
      const o = this.chunkOffset(sc);
      scav += popcntRange(w, o + CHUNK_WORDS / 2, si, ei + 1 - si);
      this.work += chunkAllocRange(w, o, si, ei + 1 - si);
    } else {
      let w = this.chunkWords(sc);
      let o = this.chunkOffset(sc);
      scav += popcntRange(w, o + CHUNK_WORDS / 2, si, PALLOC_CHUNK_PAGES - si);
      this.work += chunkAllocRange(w, o, si, PALLOC_CHUNK_PAGES - si);
      for (let c = sc + 1; c < ec; c++) {
        w = this.chunkWords(c);
        o = this.chunkOffset(c);
        scav += popcntRange(w, o + CHUNK_WORDS / 2, 0, PALLOC_CHUNK_PAGES);
        this.work += allocAll(w, o);
      }
      w = this.chunkWords(ec);
      o = this.chunkOffset(ec);
      scav += popcntRange(w, o + CHUNK_WORDS / 2, 0, ei + 1);
      this.work += chunkAllocRange(w, o, 0, ei + 1);
    }
    this.update(base, npages, true, true);
    return scav * PAGE_BYTES;
  }

  /** findMappedAddr (as in test mode): the lowest address >= addr the allocator knows. */
  findMappedAddr(addr: number): number {
    const v = this.inUse.findAddrGreaterEqual(addr);
    return v < 0 ? MAX_OFF_ADDR : v;
  }

  /** find's second result: the new search address. */
  foundSearchAddr = MAX_OFF_ADDR;

  /** find: the first free run of npages in address order, through the radix tree; 0 if none. */
  // The allocator's hottest search, kept as one labelled loop that follows Go's
  // pageAlloc.find step for step (level, entry, the foundFree narrowing): split into
  // helpers it would pass four locals back per level and no longer read against Go.
  // eslint-disable-next-line max-lines-per-function
  find(npages: number): number {
    let i = 0;
    // firstFree: the narrowest known region holding the first free page (Go's foundFree).
    let ffBase = MIN_OFF_ADDR;
    let ffBound = MAX_OFF_ADDR;
    nextLevel: for (let l = 0; l < SUMMARY_LEVELS; l++) {
      const entriesPerBlock = 1 << LEVEL_BITS[l];
      const regionPages = LEVEL_PAGES[l];
      const shift = LEVEL_SCALE[l];
      i = i * entriesPerBlock;
      const level = this.summary[l];
      let j0 = 0;
      const searchIdx = Math.floor(this.searchAddr / shift);
      if (searchIdx - (searchIdx % entriesPerBlock) === i) j0 = searchIdx % entriesPerBlock;
      let base = 0;
      let size = 0;
      for (let j = j0; j < entriesPerBlock; j++) {
        this.work++;
        const lo = level.read(i + j);
        const hi = level.readHi;
        if (lo === 0 && hi === 0) {
          size = 0;
          continue;
        }
        const addr = (i + j) * shift;
        const last = addr + regionPages * PAGE_BYTES - 1;
        if (ffBase <= addr && last <= ffBound) {
          ffBase = addr;
          ffBound = last;
        } else if (!(last < ffBase || ffBound < addr)) throw new Error('bitmap: find: range partially overlaps');
        const s = sumStart(lo, hi);
        if (size + s >= npages) {
          // eslint-disable-next-line max-depth -- Go's find: a run that starts in this entry and ends the search
          if (size === 0) base = j * regionPages;
          size += s;
          break;
        }
        if (sumMax(lo, hi) >= npages) {
          i += j;
          continue nextLevel;
        }
        if (size === 0 || s < regionPages) {
          size = sumEnd(lo, hi);
          base = (j + 1) * regionPages - size;
          continue;
        }
        size += regionPages;
      }
      if (size >= npages) {
        this.foundSearchAddr = this.findMappedAddr(ffBase);
        return i * shift + base * PAGE_BYTES;
      }
      if (l === 0) {
        this.foundSearchAddr = MAX_OFF_ADDR;
        return 0;
      }
      throw new Error(`bitmap: find: bad summary data at level ${l}`);
    }
    const ci = i;
    const j = chunkFind(this.chunkWords(ci), this.chunkOffset(ci), npages, 0);
    this.work += findWords;
    if (j === NOT_FOUND) throw new Error('bitmap: find: bad summary data in chunk');
    const addr = chunkBase(ci) + j * PAGE_BYTES;
    const searchAddr = chunkBase(ci) + findSearchIdx * PAGE_BYTES;
    const last = chunkBase(ci + 1) - 1;
    if (ffBase <= searchAddr && last <= ffBound) ffBase = searchAddr;
    else if (!(last < ffBase || ffBound < searchAddr)) throw new Error('bitmap: find: range partially overlaps');
    this.foundSearchAddr = this.findMappedAddr(ffBase);
    return addr;
  }

  /** alloc's scavenged bytes. */
  lastScav = 0;

  /** alloc: npages at the lowest address that fits (searchAddr's chunk first); 0 if none. */
  alloc(npages: number): number {
    this.lastScav = 0;
    if (chunkIndex(this.searchAddr) >= this.end) return 0;
    let searchAddr: number;
    let addr: number;
    found: {
      if (PALLOC_CHUNK_PAGES - chunkPageIndex(this.searchAddr) >= npages) {
        const i = chunkIndex(this.searchAddr);
        this.work++;
        if (this.leafMax(i) >= npages) {
          const j = chunkFind(this.chunkWords(i), this.chunkOffset(i), npages, chunkPageIndex(this.searchAddr));
          this.work += findWords;
          if (j === NOT_FOUND) throw new Error('bitmap: alloc: bad summary data');
          addr = chunkBase(i) + j * PAGE_BYTES;
          searchAddr = chunkBase(i) + findSearchIdx * PAGE_BYTES;
          break found;
        }
      }
      addr = this.find(npages);
      searchAddr = this.foundSearchAddr;
      if (addr === 0) {
        if (npages === 1) this.searchAddr = MAX_OFF_ADDR;
        return 0;
      }
    }
    this.lastScav = this.allocRange(addr, npages);
    if (this.searchAddr < searchAddr) this.searchAddr = searchAddr;
    return addr;
  }

  free(base: number, npages: number, scavenged: boolean): void {
    if (base < this.searchAddr) this.searchAddr = base;
    const limit = base + npages * PAGE_BYTES - 1;
    if (!scavenged) this.scav.mark(base, limit + 1);
    if (npages === 1) {
      const i = chunkIndex(base);
      this.work += freeRange(this.chunkWords(i), this.chunkOffset(i), chunkPageIndex(base), 1);
    } else {
      const sc = chunkIndex(base);
      const ec = chunkIndex(limit);
      const si = chunkPageIndex(base);
      const ei = chunkPageIndex(limit);
      if (sc === ec) this.work += freeRange(this.chunkWords(sc), this.chunkOffset(sc), si, ei + 1 - si);
      else {
        this.work += freeRange(this.chunkWords(sc), this.chunkOffset(sc), si, PALLOC_CHUNK_PAGES - si);
        for (let c = sc + 1; c < ec; c++) this.work += freeAll(this.chunkWords(c), this.chunkOffset(c));
        this.work += freeRange(this.chunkWords(ec), this.chunkOffset(ec), 0, ei + 1);
      }
    }
    this.update(base, npages, true, false);
  }

  /** For statistics: calls fn(chunkIndex, words, offset) for every chunk in use. */
  forEachChunk(fn: (ci: number, words: Uint32Array, o: number) => void): void {
    for (let r = 0; r < this.inUse.base.length; r++) {
      for (let ci = chunkIndex(this.inUse.base[r]); ci < chunkIndex(this.inUse.limit[r]); ci++) fn(ci, this.chunkWords(ci), this.chunkOffset(ci));
    }
  }
}
