// The page allocator: Go 1.19's pageAlloc (mpagealloc.go, mpagealloc_64bit.go,
// mranges.go) and its scavenging half (mgcscavenge.go: scavenge, scavengeOne, the
// scavenge index).
//
// Addresses here are Go's *offset addresses*: addr - arenaBaseOffset, which on
// linux/amd64 is addr + 2^47 for user-space addresses, so that the whole 48-bit space is
// one ordered line [0, 2^48). 0 is minOffAddr, 2^48 - 1 maxOffAddr. The backend
// (index.ts) converts at its edge.
//
// Invariants (Go's):
// - Every valid address below searchAddr is allocated; searchAddr never points outside
//   inUse except when it is maxOffAddr, "no free memory".
// - summary[4][ci] summarises chunk ci; each higher summary merges its 8 children; a
//   summary that was never written is 0 ("nothing free").
// - A chunk's scavenged bits mark free pages released to the OS; the scavenge index has
//   a bit for every chunk that may hold free, unscavenged pages (set when pages are
//   freed unscavenged, cleared when scavengeOne finds nothing there).
// - Decisions depend only on these structures, so the order of operations is Go's
//   order, line for line: the differential test against the real runtime checks it.

import {
  CHUNK_WORDS,
  NOT_FOUND,
  PALLOC_CHUNK_PAGES,
  allocAll,
  allocRange as chunkAllocRange,
  candidateSize,
  find as chunkFind,
  findScavengeCandidate,
  findSearchIdx,
  freeAll,
  freeRange,
  popcntRange,
  setRange,
  summarize,
  summaryOut,
} from './palloc-bits.js';
import { ctz64, findBitRange64, hi64, mask64, popcount32 } from './bits64.js';
import { LEVEL_BITS, LEVEL_PAGES, LEVEL_SCALE, SUMMARY_LEVELS, SummaryLevel, mergeChildren, pack, packedHi, sumEnd, sumMax, sumStart } from './summary.js';

export const PAGE_BYTES = 8192;
export const CHUNK_BYTES = PALLOC_CHUNK_PAGES * PAGE_BYTES;
/** arenaBaseOffset on linux/amd64, as the distance added to a user address. */
export const OFFSET = 2 ** 47;
export const MIN_OFF_ADDR = 0;
export const MAX_OFF_ADDR = 2 ** 48 - 1;
/** pallocChunksL1Bits / L2Bits: the two-level chunk map. */
const CHUNK_L2_BITS = 13;
const CHUNK_L2_ENTRIES = 1 << CHUNK_L2_BITS;
/** The summary of a wholly free chunk. */
const FREE_CHUNK_LO = pack(PALLOC_CHUNK_PAGES, PALLOC_CHUNK_PAGES, PALLOC_CHUNK_PAGES);
const FREE_CHUNK_HI = packedHi;

export const chunkIndex = (o: number): number => Math.floor(o / CHUNK_BYTES);
export const chunkBase = (ci: number): number => ci * CHUNK_BYTES;
export const chunkPageIndex = (o: number): number => Math.floor((o % CHUNK_BYTES) / PAGE_BYTES);

/** Hooks through which the page allocator's own metadata reaches the OS layer. */
export interface MetadataHooks {
  /** sysGrow mapped summary or index memory for [base, limit) (offset addresses). */
  grew(base: number, limit: number): void;
  /** A second-level chunk array was allocated (sysAlloc of 1 MiB). */
  chunkArray(): void;
  /** sysUnused: release [addr, addr+bytes) (offset address). */
  release(addr: number, bytes: number): void;
}

/** addrRanges: sorted, disjoint, coalesced [base, limit) ranges. */
export class AddrRanges {
  readonly base: number[] = [];
  readonly limit: number[] = [];

  findSucc(addr: number): number {
    const base = this.base;
    let bot = 0;
    let top = base.length;
    while (top - bot > 8) {
      const i = ((top - bot) >> 1) + bot;
      if (base[i] <= addr && addr < this.limit[i]) return i + 1;
      if (addr < base[i]) top = i;
      else bot = i + 1;
    }
    for (let i = bot; i < top; i++) if (addr < base[i]) return i;
    return top;
  }

  /** The lowest address >= addr inside a range, or -1. */
  findAddrGreaterEqual(addr: number): number {
    const i = this.findSucc(addr);
    if (i === 0) return this.base[0];
    if (this.base[i - 1] <= addr && addr < this.limit[i - 1]) return addr;
    if (i < this.base.length) return this.base[i];
    return -1;
  }

  add(b: number, l: number): void {
    const i = this.findSucc(b);
    const down = i > 0 && this.limit[i - 1] === b;
    const up = i < this.base.length && l === this.base[i];
    if (down && up) {
      this.limit[i - 1] = this.limit[i];
      this.base.splice(i, 1);
      this.limit.splice(i, 1);
    } else if (down) this.limit[i - 1] = l;
    else if (up) this.base[i] = b;
    else {
      this.base.splice(i, 0, b);
      this.limit.splice(i, 0, l);
    }
  }
}

/** A per-P page cache (mpagecache.go): 64 pages from one aligned 64-page block. */
export class PageCache {
  base = 0;
  cacheLo = 0;
  cacheHi = 0;
  scavLo = 0;
  scavHi = 0;

  empty(): boolean {
    return this.cacheLo === 0 && this.cacheHi === 0;
  }

  clear(): void {
    this.base = this.cacheLo = this.cacheHi = this.scavLo = this.scavHi = 0;
  }

  /** Bytes of the last alloc that had been scavenged. */
  lastScav = 0;

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
}

export class ScavengeIndex {
  /** One bit per chunk, in bytes of 8 chunks, stored in pages of 4096 bytes. */
  private readonly pages: (Uint8Array | undefined)[] = [];
  /** searchAddr as Go's atomicOffAddr: the offset, negated while "marked". */
  searchRaw = 0;
  minHeapIdx = 0;
  work = 0;

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

  grow(base: number): void {
    const baseIdx = Math.floor(chunkIndex(base) / 8);
    if (this.minHeapIdx === 0 || baseIdx < this.minHeapIdx) this.minHeapIdx = baseIdx;
  }

  /** find: the highest chunk that may have pages to scavenge (0: none), and a page index. */
  findPage = 0;

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
    for (let ci = start; ci <= end; ci++) {
      const i = Math.floor(ci / 8);
      this.setByte(i, this.byte(i) | (1 << (ci % 8)));
    }
    const newSearchAddr = limit - PAGE_BYTES;
    const raw = this.searchRaw;
    const searchAddr = raw < 0 ? -raw : raw;
    if (searchAddr < newSearchAddr) this.searchRaw = -newSearchAddr;
  }

  clear(ci: number): void {
    const i = Math.floor(ci / 8);
    this.setByte(i, this.byte(i) & ~(1 << (ci % 8)));
  }
}

export class PageAlloc {
  readonly summary: SummaryLevel[] = Array.from({ length: SUMMARY_LEVELS }, () => new SummaryLevel());
  private readonly chunkL1: (Uint32Array | undefined)[] = [];
  searchAddr = MAX_OFF_ADDR;
  start = 0;
  end = 0;
  readonly inUse = new AddrRanges();
  readonly scav = new ScavengeIndex();
  /** Summary entries visited (work units; chunk words are counted in bitsWork). */
  work = 0;
  /** pallocChunkPages-sized units of physical page: minPages for scavenging. */
  private readonly minScavPages: number;
  private readonly pagesPerHugePage: number;

  constructor(
    physPageBytes: number,
    hugePageBytes: number,
    private readonly hooks: MetadataHooks,
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
  private leafMax(ci: number): number {
    const leaf = this.summary[SUMMARY_LEVELS - 1];
    const lo = leaf.read(ci);
    return sumMax(lo, leaf.readHi);
  }

  private leafIsZero(ci: number): boolean {
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
    summarize(this.chunkWords(ci), this.chunkOffset(ci));
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
      chunkAllocRange(w, o, si, ei + 1 - si);
    } else {
      let w = this.chunkWords(sc);
      let o = this.chunkOffset(sc);
      scav += popcntRange(w, o + CHUNK_WORDS / 2, si, PALLOC_CHUNK_PAGES - si);
      chunkAllocRange(w, o, si, PALLOC_CHUNK_PAGES - si);
      for (let c = sc + 1; c < ec; c++) {
        w = this.chunkWords(c);
        o = this.chunkOffset(c);
        scav += popcntRange(w, o + CHUNK_WORDS / 2, 0, PALLOC_CHUNK_PAGES);
        allocAll(w, o);
      }
      w = this.chunkWords(ec);
      o = this.chunkOffset(ec);
      scav += popcntRange(w, o + CHUNK_WORDS / 2, 0, ei + 1);
      chunkAllocRange(w, o, 0, ei + 1);
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
    let searchAddr = MIN_OFF_ADDR;
    let addr = 0;
    found: {
      if (PALLOC_CHUNK_PAGES - chunkPageIndex(this.searchAddr) >= npages) {
        const i = chunkIndex(this.searchAddr);
        this.work++;
        if (this.leafMax(i) >= npages) {
          const j = chunkFind(this.chunkWords(i), this.chunkOffset(i), npages, chunkPageIndex(this.searchAddr));
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
      freeRange(this.chunkWords(i), this.chunkOffset(i), chunkPageIndex(base), 1);
    } else {
      const sc = chunkIndex(base);
      const ec = chunkIndex(limit);
      const si = chunkPageIndex(base);
      const ei = chunkPageIndex(limit);
      if (sc === ec) freeRange(this.chunkWords(sc), this.chunkOffset(sc), si, ei + 1 - si);
      else {
        freeRange(this.chunkWords(sc), this.chunkOffset(sc), si, PALLOC_CHUNK_PAGES - si);
        for (let c = sc + 1; c < ec; c++) freeAll(this.chunkWords(c), this.chunkOffset(c));
        freeRange(this.chunkWords(ec), this.chunkOffset(ec), 0, ei + 1);
      }
    }
    this.update(base, npages, true, false);
  }

  /** allocToCache: takes the aligned 64-page block holding the first free page. */
  allocToCache(c: PageCache): void {
    c.clear();
    if (chunkIndex(this.searchAddr) >= this.end) return;
    let ci = chunkIndex(this.searchAddr);
    let j: number;
    this.work++;
    if (!this.leafIsZero(ci)) {
      j = chunkFind(this.chunkWords(ci), this.chunkOffset(ci), 1, chunkPageIndex(this.searchAddr));
      if (j === NOT_FOUND) throw new Error('bitmap: allocToCache: bad summary data');
      c.base = chunkBase(ci) + Math.floor(j / 64) * 64 * PAGE_BYTES;
    } else {
      const addr = this.find(1);
      if (addr === 0) {
        this.searchAddr = MAX_OFF_ADDR;
        return;
      }
      ci = chunkIndex(addr);
      j = chunkPageIndex(addr);
      c.base = Math.floor(addr / (64 * PAGE_BYTES)) * 64 * PAGE_BYTES;
    }
    const words = this.chunkWords(ci);
    const o = this.chunkOffset(ci);
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
    this.update(c.base, 64, false, true);
    this.searchAddr = c.base + PAGE_BYTES * 63;
  }

  /** pageCache.flush: returns the cache's pages (and their scavenged state). */
  flushCache(c: PageCache): void {
    if (c.empty()) return;
    const ci = chunkIndex(c.base);
    const pi = chunkPageIndex(c.base);
    const words = this.chunkWords(ci);
    const o = this.chunkOffset(ci);
    for (let i = 0; i < 64; i++) {
      const inCache = i < 32 ? (c.cacheLo >>> i) & 1 : (c.cacheHi >>> (i - 32)) & 1;
      const scav = i < 32 ? (c.scavLo >>> i) & 1 : (c.scavHi >>> (i - 32)) & 1;
      if (inCache) freeRange(words, o, pi + i, 1);
      if (scav) setRange(words, o + CHUNK_WORDS / 2, pi + i, 1);
    }
    if (c.base < this.searchAddr) this.searchAddr = c.base;
    this.update(c.base, 64, false, false);
    c.clear();
  }

  /** scavenge: releases at least nbytes (Infinity: everything), highest addresses first. */
  scavenge(nbytes: number): number {
    let released = 0;
    while (released < nbytes) {
      const ci = this.scav.find();
      if (ci === 0) break;
      released += this.scavengeOne(ci, nbytes - released);
    }
    return released;
  }

  /** Releases every free, unscavenged page of chunk ci that the scavenger may take. */
  scavengeChunk(ci: number): number {
    let released = 0;
    for (let r = this.scavengeOne(ci, Infinity); r > 0; r = this.scavengeOne(ci, Infinity)) released += r;
    return released;
  }

  private scavengeOne(ci: number, max: number): number {
    const maxPages = max === Infinity ? Infinity : Math.ceil(max / PAGE_BYTES);
    const minPages = this.minScavPages;
    this.work++;
    if (this.leafMax(ci) >= minPages) {
      const base = findScavengeCandidate(this.chunkWords(ci), this.chunkOffset(ci), PALLOC_CHUNK_PAGES - 1, minPages, maxPages, this.pagesPerHugePage);
      const npages = candidateSize;
      if (npages !== 0) {
        const addr = chunkBase(ci) + base * PAGE_BYTES;
        if (this.allocRange(addr, npages) !== 0) throw new Error('bitmap: double scavenge');
        this.hooks.release(addr, npages * PAGE_BYTES);
        this.free(addr, npages, true);
        setRange(this.chunkWords(ci), this.chunkOffset(ci) + CHUNK_WORDS / 2, base, npages);
        return npages * PAGE_BYTES;
      }
    }
    this.scav.clear(ci);
    return 0;
  }

  /** For statistics: calls fn(chunkIndex, words, offset) for every chunk in use. */
  forEachChunk(fn: (ci: number, words: Uint32Array, o: number) => void): void {
    for (let r = 0; r < this.inUse.base.length; r++) {
      for (let ci = chunkIndex(this.inUse.base[r]); ci < chunkIndex(this.inUse.limit[r]); ci++) fn(ci, this.chunkWords(ci), this.chunkOffset(ci));
    }
  }
}

