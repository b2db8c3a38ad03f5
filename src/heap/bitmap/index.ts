// bitmap: Go 1.19's page heap (mheap.go's allocSpan, grow and freeSpanLocked over the
// page allocator of page-alloc.ts, with per-P page caches of page-cache.ts).
//
// The layers below, one file per Go file: bits64.ts (64-bit words), palloc-bits.ts
// (chunks, mpallocbits.go), summary.ts (pallocSum), addr-ranges.ts (mranges.go),
// scavenge.ts (mgcscavenge.go), page-cache.ts (mpagecache.go), page-alloc.ts
// (mpagealloc.go). This file speaks user addresses; they speak offset addresses.
//
// What the runtime does, and heapsim with it:
// - allocSpan: an allocation of fewer than 16 pages by a P goes to that P's page
//   cache (64 pages from one aligned block), refilling it from the page allocator when
//   empty; anything else, or a cache that cannot serve it, goes to pageAlloc.alloc,
//   which grows the heap once if needed. Trace rows without a P bypass the caches.
// - grow: the request rounded up to whole chunks (512 pages, 4 MiB), carved from the
//   current arena; when that is used up, sysAlloc reserves more 64 MiB arenas at the next
//   arena hint (0xc000000000 upwards), contiguously. When the arenas at the hint would
//   reach the mappings the kernel placed top-down from its mmap base (the metadata, with
//   room for the records this growth adds) or pass the top of the 48-bit address space,
//   the growth is the runtime's "out of memory" (HeapOutOfMemoryError). Go would try its
//   other hints and then let the kernel choose (sysReserveAligned(nil)); with the heap
//   grown upwards from the first hint, the space those could find is at most the 768 GiB
//   below it, so only a request that fits there while the hint's range does not is
//   refused here where Go would have succeeded. Grown memory is mapped, counted as
//   released (never touched), and handed to pageAlloc.grow.
// - freeSpanLocked: pageAlloc.free(base, npages, scavenged=false).
// - Release of N bytes: pageAlloc.scavenge(N) (highest addresses first, via the scavenge
//   index); an empty request scavenges everything.
// - Metadata, charged to the OS layer as the runtime maps it: at start, the five summary
//   levels and the scavenge index are reserved (PROT_NONE, ~593 MiB of address space)
//   and the arena index (h.arenas' L2, 32 MiB) is mapped; each growth commits the
//   summary and index pages it needs (sysGrow; the first growth commits the scavenge
//   index from its start up to the heap, ~4 MiB, as Go 1.19 does) and, per 32 GiB of address space, a
//   1 MiB chunk-bitmap array; each 64 MiB arena has a 2.07 MiB heapArena record. Metadata
//   pages the allocator writes at growth become resident.
//
// Growth calls HeapOptions.onGrow just before the new memory goes to pageAlloc.grow; a
// release from inside it only flips scavenged bits (see PageHeap.alloc).
//
// Work units: the page allocator's and the scavenge index's own counts (summary entries,
// chunk words, index bytes) plus one per page-cache allocation and per chunk releaseIdle
// looks at.
//
// freeStats is cheap enough to run at every local peak of a large heap: free pages and
// free runs are kept as spans come and go and the heap grows (a span that turns free
// starts a run unless the page before it is free, and joins the run after it), and the
// largest run is read off the summaries (free-stats.ts). Page-cache pages count as free.
//
// Left out: the runtime's own inline scavenging in allocSpan (on growth and for the
// memory limit) is policy; physically aligned stack allocation (OpenBSD only); mspan
// structures.

import { HeapConfigError, STILL_CLOCK, type BackendInfo, type FreeStats, type HeapClock, type HeapOptions, type PageHeap } from '../types.js';
import { ADDRESS_SPACE_END, type OsMemory } from '../../os/sim-os.js';
import { ARENA_BASE, HEAP_ARENA_BYTES, HUGE_PAGE_BYTES, checkArenaRange } from '../platform.js';
import { popcount32 } from './bits64.js';
import { OFFSET } from './addr-ranges.js';
import { CHUNK_BYTES, PAGE_BYTES, PALLOC_CHUNK_PAGES, chunkIndex } from './palloc-bits.js';
import { PageAlloc } from './page-alloc.js';
import { PAGE_CACHE_PAGES, PageCache, allocToCache } from './page-cache.js';
import { scavenge, scavengeChunk } from './scavenge.js';
import { largestFreeRun } from './free-stats.js';
import { FreeStamps } from './free-stamps.js';
import { LEVEL_BITS, LEVEL_SHIFT, SUMMARY_LEVELS } from './summary.js';

/** Runtime pages per heap arena. */
const ARENA_PAGES = HEAP_ARENA_BYTES / PAGE_BYTES;
/**
 * sizeof(heapArena) in Go 1.19 on linux/amd64: the heap bitmap (2 bits per 8-byte word),
 * one span pointer per page, three bitmaps of one bit per page, the checkmarks pointer
 * and zeroedBase.
 */
const HEAP_ARENA_META_BYTES = HEAP_ARENA_BYTES / 32 + ARENA_PAGES * 8 + 3 * (ARENA_PAGES / 8) + 16;
/** h.arenas' second level: 2^22 arena pointers. */
const ARENA_L2_BYTES = (1 << 22) * 8;
/** One second-level array of chunk bitmaps: 2^13 pallocData of 128 bytes. */
const CHUNK_ARRAY_BYTES = 8192 * 128;
const SUM_BYTES = 8;
/**
 * P ids below this limit keep their page caches in a dense array (real GOMAXPROCS values are
 * small); larger ids, which only a hand-written trace has, go to a Map, so a P column of
 * 2147483647 costs one entry, not a 2^31-slot array walked by freeStats.
 */
const DENSE_P_LIMIT = 256;

export class BitmapHeap implements PageHeap {
  readonly name = 'bitmap';
  readonly pageBytes = PAGE_BYTES;
  heapPages = 0;
  lastScavengedPages = 0;
  readonly pages: PageAlloc;
  /** Page caches of P < DENSE_P_LIMIT by index, then of larger P by id. */
  private readonly caches: (PageCache | undefined)[] = new Array<PageCache | undefined>(DENSE_P_LIMIT).fill(undefined);
  private readonly sparseCaches = new Map<number, PageCache>();
  /** Every page cache, in creation order (for isFree). */
  private readonly cacheList: PageCache[] = [];
  /** Pages of the live spans. */
  private livePages = 0;
  /** Maximal runs of free pages (cached ones included), kept as spans come and go. */
  private freeRuns = 0;
  private readonly os: OsMemory;
  private readonly clock: HeapClock;
  private readonly onGrow: ((grownBytes: number) => void) | undefined;
  private arenaBase = 0;
  private arenaEnd = 0;
  /** Where the next arenas are reserved: mallocinit's first arena hint, then upwards. */
  private hint = ARENA_BASE;
  /** The runtime's heapReleased. */
  private releasedBytes = 0;
  private ownWork = 0;
  // Metadata: where each structure's reservation starts, and the running figures.
  private readonly summaryBase: number[] = [];
  private readonly scavIndexBase: number;
  private chunkArrays = 0;
  /** The lowest address the kernel has placed a mapping of ours at (mmap(NULL) grows down). */
  private mmapLow = ADDRESS_SPACE_END;
  /** The OS backs memory with transparent huge pages: make Go's MADV_(NO)HUGEPAGE calls. */
  private readonly thp: boolean;
  /** Per chunk: the trace time a page in it was last freed (for releaseIdle). */
  private readonly freedAt = new FreeStamps();
  metadataReservedBytes = 0;
  metadataCommittedBytes = 0;

  /** hugePageBytes: physHugePageSize, 2 MiB on linux/amd64 (0 for none). */
  constructor(options: HeapOptions, hugePageBytes = HUGE_PAGE_BYTES) {
    if (options.pageBytes !== PAGE_BYTES) {
      // Chunks of 512 pages, 64-page caches and the summary radix tree are laid out for
      // Go's 8 KiB page, which Go never changed; other sizes have no runtime to follow.
      throw new HeapConfigError(
        `the bitmap backend models only Go's 8192-byte pages (Go 1.19's chunk, summary and page-cache layout is built on them); this trace has page_size=${options.pageBytes}: use another backend`,
      );
    }
    this.os = options.os;
    this.clock = options.clock ?? STILL_CLOCK;
    this.onGrow = options.onGrow;
    this.thp = options.os.thp !== 'never';
    const phys = this.os.physPageBytes;
    this.pages = new PageAlloc(phys, hugePageBytes, {
      grew: (base, limit) => this.sysGrow(base, limit),
      chunkArray: () => this.chunkArray(),
      release: (addr, bytes) => this.sysUnused(addr - OFFSET, bytes),
    });
    // pageAlloc.sysInit: reserve every summary level and the scavenge index.
    for (let l = 0; l < SUMMARY_LEVELS; l++) {
      const bytes = Math.ceil((2 ** (48 - LEVEL_SHIFT[l]) * SUM_BYTES) / phys) * phys;
      this.summaryBase.push(this.mmapAnywhere(bytes, true));
      this.metadataReservedBytes += bytes;
    }
    const indexBytes = 2 ** 48 / CHUNK_BYTES / 8;
    this.scavIndexBase = this.mmapAnywhere(indexBytes, true);
    this.metadataReservedBytes += indexBytes;
  }

  /** mmap(NULL, ...) of metadata: the kernel's choice, remembered as the low-water mark. */
  private mmapAnywhere(bytes: number, reserveOnly: boolean): number {
    const at = this.os.mmapAnywhere(bytes, reserveOnly);
    if (at < this.mmapLow) this.mmapLow = at;
    return at;
  }

  get work(): number {
    return this.ownWork + this.pages.work + this.pages.scav.work;
  }

  get releasedPages(): number {
    return this.releasedBytes / PAGE_BYTES;
  }

  /**
   * sysUnused (mem_linux.go): with huge pages, first MADV_NOHUGEPAGE on the huge pages
   * the range only partly covers (so the kernel does not refill them whole), then
   * release. Modelled when the OS has THP on; Go makes these calls whenever it knows the
   * huge page size, which changes nothing for the kernel with THP off.
   */
  private sysUnused(v: number, n: number): void {
    if (this.thp) {
      const head = v % HUGE_PAGE_BYTES !== 0 ? Math.floor(v / HUGE_PAGE_BYTES) * HUGE_PAGE_BYTES : -1;
      const tail = (v + n) % HUGE_PAGE_BYTES !== 0 ? Math.floor((v + n - 1) / HUGE_PAGE_BYTES) * HUGE_PAGE_BYTES : -1;
      if (head >= 0 && head + HUGE_PAGE_BYTES === tail) this.os.adviseHuge(head, 2 * HUGE_PAGE_BYTES, false);
      else {
        if (head >= 0) this.os.adviseHuge(head, HUGE_PAGE_BYTES, false);
        if (tail >= 0 && tail !== head) this.os.adviseHuge(tail, HUGE_PAGE_BYTES, false);
      }
    }
    this.os.release(v, n);
  }

  /** sysUsed -> sysHugePageOS: MADV_HUGEPAGE on the huge pages the span covers whole. */
  private sysUsed(v: number, n: number): void {
    if (this.thp) this.os.adviseHuge(v, n, true);
  }

  /** h.arenas' L2 map comes from sysAllocOS, which mappedReady does not count. */
  get metadataReadyBytes(): number {
    return this.metadataCommittedBytes - (this.arenaL2Mapped ? ARENA_L2_BYTES : 0);
  }

  /** Counts committed metadata, and as reserved too when it was mapped fresh (not in a reservation). */
  private commit(bytes: number, fresh: boolean): void {
    if (fresh) this.metadataReservedBytes += bytes;
    this.metadataCommittedBytes += bytes;
  }

  /** sysGrow: map the summary and index pages that [base, limit) needs. */
  private sysGrow(base: number, limit: number): void {
    const phys = this.os.physPageBytes;
    if (this.pages.inUse.base.length === 0 && this.arenaL2Mapped === false) {
      // The first heap growth also creates h.arenas' L2 map (sysAllocOS).
      const at = this.mmapAnywhere(ARENA_L2_BYTES, false);
      this.os.touch(at, phys);
      this.commit(ARENA_L2_BYTES, true);
      this.arenaL2Mapped = true;
    }
    const inUse = this.pages.inUse;
    const succ = inUse.findSucc(base);
    const sumRange = (l: number, b: number, lim: number): [number, number] => {
      const shift = 2 ** LEVEL_SHIFT[l];
      const e = 2 ** LEVEL_BITS[l];
      const lo = Math.floor(b / shift);
      const hi = Math.floor((lim - 1) / shift) + 1;
      return [Math.floor(lo / e) * e, Math.ceil(hi / e) * e];
    };
    const bytesRange = (l: number, b: number, lim: number): [number, number] => {
      const [lo, hi] = sumRange(l, b, lim);
      return [Math.floor((lo * SUM_BYTES) / phys) * phys, Math.ceil((hi * SUM_BYTES) / phys) * phys];
    };
    const subtract = (a: [number, number], b: [number, number]): [number, number] => {
      if (b[0] <= a[0] && a[1] <= b[1]) return [0, 0];
      if (b[1] < a[1] && a[0] < b[1]) return [b[1], a[1]];
      if (a[0] < b[0] && b[0] < a[1]) return [a[0], b[0]];
      return a;
    };
    for (let l = 0; l < SUMMARY_LEVELS; l++) {
      let need = bytesRange(l, base, limit);
      if (succ > 0) need = subtract(need, bytesRange(l, inUse.base[succ - 1], inUse.limit[succ - 1]));
      if (succ < inUse.base.length) need = subtract(need, bytesRange(l, inUse.base[succ], inUse.limit[succ]));
      if (need[1] > need[0]) {
        this.os.map(this.summaryBase[l] + need[0], need[1] - need[0]);
        this.commit(need[1] - need[0], false);
      }
      // The summaries grow() is about to write become resident.
      const [lo, hi] = sumRange(l, base, limit);
      const first = Math.floor((lo * SUM_BYTES) / phys) * phys;
      const last = Math.ceil((hi * SUM_BYTES) / phys) * phys;
      this.os.touch(this.summaryBase[l] + first, Math.max(phys, last - first));
    }
    // scavengeIndex.grow: one bit per chunk, mapped (sysMap + sysUsed: Ready, counted in
    // mappedReady) in physical pages. Go 1.19 extends the range it needs down to what it
    // has when they do not overlap, and on the first growth it has [0, 0): the index is
    // mapped from its start up to the heap's chunks, ~4 MiB for a heap at 0xc000000000
    // (later releases track the range apart). Only the bytes of the heap's own chunks are
    // written, so only their pages become resident.
    let needMin = Math.floor(chunkIndex(base) / 8 / phys) * phys;
    let needMax = Math.ceil((chunkIndex(limit) + 7) / 8 / phys) * phys;
    const haveMin = this.indexMin;
    const haveMax = this.indexMax;
    if (needMax < haveMin) needMax = haveMin;
    if (needMin > haveMax) needMin = haveMax;
    const need = subtract([needMin, needMax], [haveMin, haveMax]);
    if (need[1] > need[0]) {
      this.os.map(this.scavIndexBase + need[0], need[1] - need[0]);
      this.commit(need[1] - need[0], false);
      if (haveMin === 0 || needMin < haveMin) this.indexMin = needMin;
      if (haveMax === 0 || needMax > haveMax) this.indexMax = needMax;
    }
    const written = Math.floor(chunkIndex(base) / 8 / phys) * phys;
    this.os.touch(this.scavIndexBase + written, Math.max(phys, Math.ceil((chunkIndex(limit) + 7) / 8 / phys) * phys - written));
    this.pendingChunkTouch = [base, limit];
  }

  private arenaL2Mapped = false;
  private indexMin = 0;
  private indexMax = 0;
  private pendingChunkTouch: [number, number] | null = null;
  private chunkArrayBase = new Map<number, number>();

  private chunkArray(): void {
    // pageAlloc.grow: sysAlloc of a second-level chunk array, in the chunk being grown.
    const [base] = this.pendingChunkTouch as [number, number];
    const at = this.mmapAnywhere(CHUNK_ARRAY_BYTES, false);
    this.chunkArrayBase.set(Math.floor(chunkIndex(base) / 8192), at);
    this.commit(CHUNK_ARRAY_BYTES, true);
    this.chunkArrays++;
  }

  /** The chunks' pallocData become resident: one touch per chunk array, of the pages they cover. */
  private touchChunkData(base: number, limit: number): void {
    const phys = this.os.physPageBytes;
    const first = chunkIndex(base);
    const end = chunkIndex(limit);
    for (let ci = first; ci < end; ci = (Math.floor(ci / 8192) + 1) * 8192) {
      const at = this.chunkArrayBase.get(Math.floor(ci / 8192));
      if (at === undefined) continue;
      const last = Math.min(end, (Math.floor(ci / 8192) + 1) * 8192) - 1;
      const lo = Math.floor(((ci % 8192) * 128) / phys) * phys;
      const hi = Math.floor(((last % 8192) * 128) / phys) * phys + phys;
      this.os.touch(at + lo, hi - lo);
    }
  }

  /** mheap.grow. */
  private grow(npages: number): void {
    const ask = Math.ceil(npages / PALLOC_CHUNK_PAGES) * PALLOC_CHUNK_PAGES * PAGE_BYTES;
    const phys = this.os.physPageBytes;
    const end = this.arenaBase + ask;
    let nBase = Math.ceil(end / phys) * phys;
    if (nBase > this.arenaEnd) {
      // sysAlloc: whole arenas at the hint.
      const n = Math.ceil(ask / HEAP_ARENA_BYTES) * HEAP_ARENA_BYTES;
      const av = this.hint;
      // What the kernel will place below its mappings for this growth: the heapArena
      // records, h.arenas' L2 map the first time, and the chunk-bitmap arrays.
      const roundPhys = (b: number) => Math.ceil(b / phys) * phys;
      const metaBytes =
        (n / HEAP_ARENA_BYTES) * roundPhys(HEAP_ARENA_META_BYTES) +
        (this.arenaL2Mapped ? 0 : ARENA_L2_BYTES) +
        (Math.ceil(n / (8192 * CHUNK_BYTES)) + 1) * CHUNK_ARRAY_BYTES;
      checkArenaRange(av, n, this.mmapLow - metaBytes, 'into the mappings the kernel placed below its mmap base');
      this.os.reserve(av, n);
      this.hint += n;
      for (let a = 0; a < n / HEAP_ARENA_BYTES; a++) {
        this.mmapAnywhere(HEAP_ARENA_META_BYTES, false);
        this.commit(HEAP_ARENA_META_BYTES, true);
      }
      if (av === this.arenaEnd) {
        this.arenaEnd = av + n;
      } else {
        const size = this.arenaEnd - this.arenaBase;
        if (size !== 0) this.growInto(this.arenaBase, size);
        this.arenaBase = av;
        this.arenaEnd = av + n;
      }
      nBase = Math.ceil((this.arenaBase + ask) / phys) * phys;
    }
    const v = this.arenaBase;
    this.arenaBase = nBase;
    if (this.onGrow !== undefined) this.onGrow(nBase - v);
    this.growInto(v, nBase - v);
  }

  /** sysMap the range (Reserved -> Prepared), count it released, give it to pageAlloc. */
  private growInto(v: number, size: number): void {
    this.os.map(v, size);
    this.releasedBytes += size;
    this.heapPages += size / PAGE_BYTES;
    this.pages.grow(v + OFFSET, size);
    this.freeRuns += this.runsGained(v + OFFSET, size);
    const pending = this.pendingChunkTouch;
    if (pending !== null) this.touchChunkData(pending[0], pending[1]);
    this.pendingChunkTouch = null;
  }

  private cacheOf(p: number): PageCache {
    let c = p < DENSE_P_LIMIT ? this.caches[p] : this.sparseCaches.get(p);
    if (c === undefined) {
      c = new PageCache();
      this.cacheList.push(c);
      if (p < DENSE_P_LIMIT) this.caches[p] = c;
      else this.sparseCaches.set(p, c);
    }
    return c;
  }

  /** Every P's page cache that exists, dense ones first. */
  private forEachCache(fn: (c: PageCache) => void): void {
    for (let p = 0; p < DENSE_P_LIMIT; p++) {
      const c = this.caches[p];
      if (c !== undefined) fn(c);
    }
    this.sparseCaches.forEach(fn);
  }

  alloc(npages: number, p: number): number {
    let base = 0;
    let scav = 0;
    if (p >= 0 && npages < PAGE_CACHE_PAGES / 4) {
      const c = this.cacheOf(p);
      if (c.empty()) allocToCache(this.pages, c);
      this.ownWork++;
      base = c.alloc(npages);
      scav = c.lastScav;
    }
    if (base === 0) {
      base = this.pages.alloc(npages);
      if (base === 0) {
        this.grow(npages);
        base = this.pages.alloc(npages);
        if (base === 0) throw new Error('bitmap: grew heap, but no adequate free space found');
      }
      scav = this.pages.lastScav;
    }
    this.releasedBytes -= scav;
    this.lastScavengedPages = scav / PAGE_BYTES;
    // allocSpan: sysUsed the whole span when any of it was scavenged.
    if (scav !== 0) this.sysUsed(base - OFFSET, npages * PAGE_BYTES);
    this.livePages += npages;
    this.freeRuns -= this.runsGained(base, npages * PAGE_BYTES);
    return base - OFFSET;
  }

  free(base: number, npages: number): void {
    const o = base + OFFSET;
    this.freedAt.stamp(chunkIndex(o), chunkIndex(o + npages * PAGE_BYTES - 1) + 1, this.clock.now);
    this.pages.free(o, npages, false);
    this.livePages -= npages;
    this.freeRuns += this.runsGained(o, npages * PAGE_BYTES);
  }

  /**
   * How many free runs [o, o+bytes) adds by turning free, its neighbours unchanged (the
   * negation when it turns in use): a run starts at o unless the page before is free, and
   * the run that began right after it, if any, now continues it.
   */
  private runsGained(o: number, bytes: number): number {
    return (this.isFree(o - PAGE_BYTES) ? 0 : 1) - (this.isFree(o + bytes) ? 1 : 0);
  }

  /** Whether the page at offset address o is free memory: free in the bitmap or held in a page cache. */
  private isFree(o: number): boolean {
    const caches = this.cacheList;
    for (let i = 0; i < caches.length; i++) {
      const c = caches[i];
      const d = o - c.base;
      if (d < 0 || d >= PAGE_CACHE_PAGES * PAGE_BYTES) continue;
      // Two caches may hold different pages of one block: look on when this one lacks the page.
      const k = d / PAGE_BYTES;
      if (((k < 32 ? c.cacheLo >>> k : c.cacheHi >>> (k - 32)) & 1) !== 0) return true;
    }
    return this.pages.pageFree(o);
  }

  release(nbytes: number): number {
    const r = scavenge(this.pages, nbytes < 0 ? Infinity : nbytes);
    this.releasedBytes += r;
    return r;
  }

  releaseIdle(cutoff: number): number {
    // The bitmap has no spans and so no unused-since times: it keeps one per 4 MiB chunk,
    // the last time a page in it was freed, and releases all of a chunk's free pages
    // once that time is older than the cutoff. Coarser than Go 1.11's per-span stamp
    // (one recent free keeps a whole chunk), and a cross-era what-if in any case.
    // Chunks expire in address order: each chunk's scavenge leaves the others and the
    // summaries as they were, so the order changes no figure.
    let released = 0;
    this.ownWork += this.freedAt.expire(cutoff, (ci) => {
      released += scavengeChunk(this.pages, ci);
    });
    this.releasedBytes += released;
    return released;
  }

  /** Flushes P's page cache back to the page allocator (procresize destroying a P). */
  flushCache(p: number): void {
    const c = p < DENSE_P_LIMIT ? this.caches[p] : this.sparseCaches.get(p);
    if (c !== undefined) c.flush(this.pages);
  }

  freeStats(): FreeStats {
    // Pages held in P caches are free memory: they count as free, where they are.
    const cached = new Map<number, number>();
    this.forEachCache((c) => {
      if (c.empty()) return;
      // Two P's caches may hold different pages of one 64-page block.
      cached.set(c.base, (cached.get(c.base) ?? 0) | c.cacheLo);
      cached.set(c.base + 32 * PAGE_BYTES, (cached.get(c.base + 32 * PAGE_BYTES) ?? 0) | c.cacheHi);
    });
    return { freePages: this.heapPages - this.livePages, freeRuns: this.freeRuns, largestFreeRunPages: largestFreeRun(this.pages, cached) };
  }

  forEachCachedPage(fn: (base: number) => void): void {
    this.forEachCache((c) => {
      for (let i = 0; i < PAGE_CACHE_PAGES; i++) {
        const free = i < 32 ? (c.cacheLo >>> i) & 1 : (c.cacheHi >>> (i - 32)) & 1;
        if (free !== 0) fn(c.base - OFFSET + i * PAGE_BYTES);
      }
    });
  }

  shape(): Record<string, number> {
    let cachedPages = 0;
    let pageCaches = 0;
    this.forEachCache((c) => {
      pageCaches++;
      cachedPages += popcount32(c.cacheLo) + popcount32(c.cacheHi);
    });
    return {
      chunks: this.heapPages / PALLOC_CHUNK_PAGES,
      pageCaches,
      cachedFreePages: cachedPages,
      chunkArrays: this.chunkArrays,
    };
  }
}

export const bitmapBackend: BackendInfo = {
  name: 'bitmap',
  aliases: ['go1.19', 'go1.14', 'pagealloc'],
  goVersion: 'go1.19',
  // The release its design shipped in (Go 1.14 replaced the treap with it); exact for Go 1.19.
  era: 1.14,
  reserveModes: ['arenas'],
  summary: 'Go 1.14+ page allocator as in Go 1.19: bitmap chunks, a radix tree of summaries, the scavenged bitmap and index, per-P page caches',
  create: (o) => new BitmapHeap(o),
};
