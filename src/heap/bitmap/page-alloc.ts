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
// - A chunk is stored either as its bitmap words or, while all its pages share one
//   state, as a tag (CHUNK_ALLOC, CHUNK_FREE_SCAV, CHUNK_FREE) with no words: a 16 TiB
//   span then costs a byte per chunk, not 128. The tag is exactly the bitmap it stands
//   for: chunkWords() writes those words out (materializes) before anything reads or
//   changes part of the chunk, and only operations over a whole chunk, whose result is
//   again uniform, set a tag. A tag's summary is a constant, and the work units charged
//   are those of the word operations it replaces.
// - Root group merges (find's skip list, not Go's) are exact or marked stale: update()
//   marks the groups whose root summaries it changed.
// - Decisions depend only on these structures, so the order of operations is Go's
//   order, line for line: the differential test against the real runtime checks it.
//
// Work units (`work`): summary entries visited and chunk words the bitmap functions
// touch (they return or report their count; no counter is shared between allocators).

import { MAX_OFF_ADDR, MIN_OFF_ADDR, AddrRanges } from './addr-ranges.js';
import {
  CHUNK_ALLOC,
  CHUNK_BITS,
  CHUNK_BYTES,
  CHUNK_FREE,
  CHUNK_FREE_SCAV,
  CHUNK_WORDS,
  NOT_FOUND,
  PAGE_BYTES,
  PALLOC_CHUNK_PAGES,
  allocRange as chunkAllocRange,
  chunkBase,
  chunkIndex,
  chunkPageIndex,
  find as chunkFind,
  findSearchIdx,
  findWords,
  freeRange,
  popcntRange,
  summarize,
  summaryOut,
} from './palloc-bits.js';
import { ScavengeIndex } from './scavenge.js';

/** 32-bit halves per bitmap: the scavenged bits start this far into a chunk. */
const HALVES = CHUNK_WORDS / 2;
/** 64-bit words per bitmap: the work units of a whole-chunk bitmap operation. */
const WORDS64 = HALVES / 2;
const NO_WORDS = new Uint32Array(0);
const NO_TAGS = new Uint8Array(0);
import { LEVEL_BITS, LEVEL_PAGES, LEVEL_SCALE, SUMMARY_LEVELS, SummaryLevel, mergeChildren, pack, packedHi, sumEnd, sumMax, sumStart } from './summary.js';

/**
 * Root summaries per group in find's skip list: a failing search on a heap of a few TiB
 * steps over hundreds of root entries, 64 at a time where none of them can end it.
 */
const ROOT_GROUP_BITS = 6;
const ROOT_GROUP = 1 << ROOT_GROUP_BITS;
const ROOT_GROUPS = (1 << LEVEL_BITS[0]) / ROOT_GROUP;

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
  /** Per second-level array: each chunk's storage state; present from the chunks' growth on. */
  private readonly tagL1: (Uint8Array | undefined)[] = [];
  /** Per second-level array: the chunks' words, allocated when one of them is first materialized. */
  private readonly chunkL1: (Uint32Array | undefined)[] = [];
  /** The lowest address that may be free (offset address); MAX_OFF_ADDR: none. */
  searchAddr = MAX_OFF_ADDR;
  /** [start, end): the chunk indices the heap has grown into, gaps included. */
  start = 0;
  end = 0;
  readonly inUse = new AddrRanges();
  readonly scav = new ScavengeIndex();
  /**
   * Per group of ROOT_GROUP root summaries: their merge (free pages at its start, the
   * longest run, at its end), valid unless the group is marked stale; update() marks a
   * group stale when it writes one of its root summaries. Not Go's: it only lets find
   * step over groups (see find), with the same result and work units.
   */
  private readonly groupStart = new Float64Array(ROOT_GROUPS);
  private readonly groupMax = new Float64Array(ROOT_GROUPS);
  private readonly groupEnd = new Float64Array(ROOT_GROUPS);
  private readonly groupStale = new Uint8Array(ROOT_GROUPS).fill(1);
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
  private lastL2: Uint32Array = NO_WORDS;
  private lastTags: Uint8Array = NO_TAGS;

  private selectL1(l1: number): void {
    this.lastTags = this.tagL1[l1] ?? NO_TAGS;
    this.lastL2 = this.chunkL1[l1] ?? NO_WORDS;
    this.lastL1 = l1;
  }

  /** The chunk's storage (a second-level array, materialized) and, below, its words' offset in it. */
  chunkWords(ci: number): Uint32Array {
    const l1 = ci >>> CHUNK_L2_BITS;
    if (l1 !== this.lastL1) this.selectL1(l1);
    const k = ci & (CHUNK_L2_ENTRIES - 1);
    if (this.lastTags[k] !== CHUNK_BITS) this.materialize(l1, k);
    return this.lastL2;
  }

  /** Writes out the words a (selected) tagged chunk stands for. */
  private materialize(l1: number, k: number): void {
    if (this.chunkL1[l1] === undefined) {
      this.chunkL1[l1] = new Uint32Array(CHUNK_L2_ENTRIES * CHUNK_WORDS);
      this.lastL2 = this.chunkL1[l1];
    }
    const tag = this.lastTags[k];
    const o = k * CHUNK_WORDS;
    this.lastL2.fill(tag === CHUNK_ALLOC ? 0xffffffff : 0, o, o + HALVES);
    this.lastL2.fill(tag === CHUNK_FREE_SCAV ? 0xffffffff : 0, o + HALVES, o + CHUNK_WORDS);
    this.lastTags[k] = CHUNK_BITS;
  }

  /** Chunk ci's storage state (CHUNK_BITS: its words). */
  chunkTag(ci: number): number {
    const l1 = ci >>> CHUNK_L2_BITS;
    if (l1 !== this.lastL1) this.selectL1(l1);
    return this.lastTags[ci & (CHUNK_L2_ENTRIES - 1)];
  }

  /** Marks chunk ci uniform; its words, if any, are stale from here on. */
  setChunkTag(ci: number, tag: number): void {
    const l1 = ci >>> CHUNK_L2_BITS;
    if (l1 !== this.lastL1) this.selectL1(l1);
    this.lastTags[ci & (CHUNK_L2_ENTRIES - 1)] = tag;
  }

  chunkOffset(ci: number): number {
    return (ci & (CHUNK_L2_ENTRIES - 1)) * CHUNK_WORDS;
  }

  hasChunk(ci: number): boolean {
    return this.tagL1[ci >>> CHUNK_L2_BITS] !== undefined;
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

  /** Whether the page at o is free in the bitmap (never outside the grown heap). */
  pageFree(o: number): boolean {
    const ci = chunkIndex(o);
    if (this.leafIsZero(ci)) return false;
    const tag = this.chunkTag(ci);
    if (tag !== CHUNK_BITS) return tag !== CHUNK_ALLOC;
    const i = chunkPageIndex(o);
    return ((this.chunkWords(ci)[this.chunkOffset(ci) + (i >>> 5)] >>> (i & 31)) & 1) === 0;
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
    // Grown chunks are free and scavenged: a tag each (their words, if their array has
    // any, are zero and stale).
    for (let c = chunkIndex(base); c < chunkIndex(limit); c = (c >>> CHUNK_L2_BITS) * CHUNK_L2_ENTRIES + CHUNK_L2_ENTRIES) {
      let tags = this.tagL1[c >>> CHUNK_L2_BITS];
      if (tags === undefined) {
        tags = new Uint8Array(CHUNK_L2_ENTRIES);
        this.tagL1[c >>> CHUNK_L2_BITS] = tags;
        this.lastL1 = -1;
        this.hooks.chunkArray();
      }
      const k = c & (CHUNK_L2_ENTRIES - 1);
      tags.fill(CHUNK_FREE_SCAV, k, Math.min(CHUNK_L2_ENTRIES, k + chunkIndex(limit) - c));
    }
    this.update(base, size / PAGE_BYTES, true, false);
  }

  private summarizeChunk(ci: number): number {
    const tag = this.chunkTag(ci);
    if (tag !== CHUNK_BITS) {
      this.work += WORDS64;
      return tag === CHUNK_ALLOC ? pack(0, 0, 0) : pack(PALLOC_CHUNK_PAGES, PALLOC_CHUNK_PAGES, PALLOC_CHUNK_PAGES);
    }
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
      if (ec > sc + 1) {
        this.work += ec - sc - 1;
        if (alloc) leaf.fill(sc + 1, ec, 0, 0);
        else leaf.fill(sc + 1, ec, FREE_CHUNK_LO, FREE_CHUNK_HI);
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
      if (l === 0 && changed) this.groupStale.fill(1, lo >>> ROOT_GROUP_BITS, ((hi - 1) >>> ROOT_GROUP_BITS) + 1);
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
    if (sc === ec) scav += this.allocIn(sc, si, ei + 1 - si);
    else {
      scav += this.allocIn(sc, si, PALLOC_CHUNK_PAGES - si);
      for (let c = sc + 1; c < ec; c++) scav += this.allocIn(c, 0, PALLOC_CHUNK_PAGES);
      scav += this.allocIn(ec, 0, ei + 1);
    }
    this.update(base, npages, true, true);
    return scav * PAGE_BYTES;
  }

  /** Marks pages [i, i+n) of chunk ci in use; returns how many were scavenged. */
  private allocIn(ci: number, i: number, n: number): number {
    if (n === PALLOC_CHUNK_PAGES) {
      const tag = this.chunkTag(ci);
      if (tag !== CHUNK_BITS) {
        this.setChunkTag(ci, CHUNK_ALLOC);
        this.work += WORDS64;
        return tag === CHUNK_FREE_SCAV ? PALLOC_CHUNK_PAGES : 0;
      }
    }
    const w = this.chunkWords(ci);
    const o = this.chunkOffset(ci);
    const scav = popcntRange(w, o + HALVES, i, n);
    this.work += chunkAllocRange(w, o, i, n);
    return scav;
  }

  /** Marks pages [i, i+n) of chunk ci free (their scavenged bits unchanged). */
  private freeIn(ci: number, i: number, n: number): void {
    if (n === PALLOC_CHUNK_PAGES) {
      const tag = this.chunkTag(ci);
      if (tag !== CHUNK_BITS) {
        if (tag === CHUNK_ALLOC) this.setChunkTag(ci, CHUNK_FREE);
        this.work += WORDS64;
        return;
      }
    }
    this.work += freeRange(this.chunkWords(ci), this.chunkOffset(ci), i, n);
  }

  /** findMappedAddr (as in test mode): the lowest address >= addr the allocator knows. */
  findMappedAddr(addr: number): number {
    const v = this.inUse.findAddrGreaterEqual(addr);
    return v < 0 ? MAX_OFF_ADDR : v;
  }

  /** Brings root group g's merged summary up to date. */
  private mergeRootGroup(g: number): void {
    const level = this.summary[0];
    const full = LEVEL_PAGES[0];
    let start = 0;
    let max = 0;
    let end = 0;
    for (let k = 0; k < ROOT_GROUP; k++) {
      const lo = level.read(g * ROOT_GROUP + k);
      const hi = level.readHi;
      const s = sumStart(lo, hi);
      const e = sumEnd(lo, hi);
      if (start === k * full) start += s;
      if (end + s > max) max = end + s;
      const m = sumMax(lo, hi);
      if (m > max) max = m;
      end = e === full ? end + full : e;
    }
    this.groupStart[g] = start;
    this.groupMax[g] = max;
    this.groupEnd[g] = end;
    this.groupStale[g] = 0;
  }

  /**
   * Whether find, at the root with `size` free pages running into group g, would pass
   * over all of g: no run through it reaches npages, no entry holds npages, and either
   * the first free region is already known (ffBound narrowed) or g has no free page.
   */
  private canSkipRootGroup(g: number, npages: number, size: number, ffBound: number): boolean {
    if (this.groupStale[g] === 1) this.mergeRootGroup(g);
    const max = this.groupMax[g];
    return size + this.groupStart[g] < npages && max < npages && (max === 0 || ffBound !== MAX_OFF_ADDR);
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
      // Entries past the level's window read 0: visited (and counted) all at once.
      const windowEnd = level.first + level.count - i;
      for (let j = j0; j < entriesPerBlock; j++) {
        if (j >= windowEnd) {
          this.work += entriesPerBlock - j;
          size = 0;
          break;
        }
        // At the root, a whole group that can neither end the search nor be descended into,
        // and (once the first free region is known) cannot narrow it, is stepped over: its
        // entries would each count one work unit and leave size as its merged end.
        if (l === 0 && (j & (ROOT_GROUP - 1)) === 0 && j + ROOT_GROUP <= windowEnd && this.canSkipRootGroup(j >>> ROOT_GROUP_BITS, npages, size, ffBound)) {
          const g = j >>> ROOT_GROUP_BITS;
          this.work += ROOT_GROUP;
          size = this.groupStart[g] === ROOT_GROUP * regionPages ? size + ROOT_GROUP * regionPages : this.groupEnd[g];
          base = (j + ROOT_GROUP) * regionPages - size;
          j += ROOT_GROUP - 1;
          continue;
        }
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
    const sc = chunkIndex(base);
    const ec = chunkIndex(limit);
    const si = chunkPageIndex(base);
    const ei = chunkPageIndex(limit);
    if (sc === ec) this.freeIn(sc, si, ei + 1 - si);
    else {
      this.freeIn(sc, si, PALLOC_CHUNK_PAGES - si);
      for (let c = sc + 1; c < ec; c++) this.freeIn(c, 0, PALLOC_CHUNK_PAGES);
      this.freeIn(ec, 0, ei + 1);
    }
    this.update(base, npages, true, false);
  }
}
