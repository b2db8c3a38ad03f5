// The gap between RSS and the live heap, explained physical page by physical page: why
// RSS is above the live heap ("why is my RSS so far above my live heap?", Go issues
// 16930, 30904, 39779).
//
// A PageTracker follows the live spans (every alloc and free the engine applied) as two
// bits per runtime page (page-bits.ts): in a live span now, ever in one. A breakdown walks the
// simulated OS's resident runs and gives each resident byte exactly one cause, so the
// parts add up to RSS exactly, by construction:
// - metadata: resident memory outside every 64 MiB block that ever held a live span
//   (the allocator's bitmaps and summaries; backends map them apart from the arenas);
// - lazyFree: pages released with MADV_FREE that the kernel has not reclaimed;
// - inUse: pages of live spans;
// - pageCache: free pages a P's page cache holds (Go 1.19), out of the page allocator's reach;
// - physRounding: free runtime pages that share a physical page with a live span (only
//   when the physical page is larger than the runtime page: 64 KiB pages on arm64);
// - hugePage: free pages no span ever used, resident because a write elsewhere in their
//   2 MiB transparent huge page faulted all of it in;
// - freeSmall / freeMedium / freeLarge: free pages the runtime has not released, by the
//   size of the hole (the maximal run of pages outside live spans) they sit in: under
//   64 KiB, under 1 MiB, and 1 MiB or more (the heap's open top counts as large).
// Known simplification: a freed page that was released and later faulted back whole by
// a huge page fault counts as free (not yet released), not as hugePage.
//
// Invariants: tracker updates set and clear bits, allocation-free once a 64 MiB block's
// bitmaps exist; a breakdown allocates (it is taken a bounded number of times per
// replay, never per event).

import { PageBits } from './page-bits.js';
import type { SimOS } from '../os/sim-os.js';
import type { PageHeap } from '../heap/types.js';

/** Go's heap arena on 64-bit Linux: a block that never held a live span holds no heap. */
export const BLOCK_BYTES = 64 * 1024 * 1024;
/** Hole size classes: holes below 8 Go pages fit only small spans; 1 MiB and above is "large". */
const SMALL_HOLE_BYTES = 64 * 1024;
const LARGE_HOLE_BYTES = 1024 * 1024;

export interface GapBreakdown {
  /** Trace time of the moment described. */
  timeNs: number;
  /** RSS at that moment: the sum of every part below. */
  rssBytes: number;
  inUseBytes: number;
  freeSmallBytes: number;
  freeMediumBytes: number;
  freeLargeBytes: number;
  pageCacheBytes: number;
  physRoundingBytes: number;
  hugePageBytes: number;
  lazyFreeBytes: number;
  metadataBytes: number;
}

export type GapPart = Exclude<keyof GapBreakdown, 'timeNs' | 'rssBytes'>;

/** The parts, in the order a stacked bar draws them (live heap first), with their labels. */
export const GAP_PARTS: readonly { key: GapPart; label: string }[] = [
  { key: 'inUseBytes', label: 'in use (live spans)' },
  { key: 'freeSmallBytes', label: 'free, not released: holes < 64 KiB' },
  { key: 'freeMediumBytes', label: 'free, not released: holes 64 KiB-1 MiB' },
  { key: 'freeLargeBytes', label: 'free, not released: holes >= 1 MiB' },
  { key: 'pageCacheBytes', label: 'held in per-P page caches' },
  { key: 'physRoundingBytes', label: 'physical-page rounding' },
  { key: 'hugePageBytes', label: 'huge pages kept whole' },
  { key: 'lazyFreeBytes', label: 'lazily freed (MADV_FREE)' },
  { key: 'metadataBytes', label: 'allocator metadata' },
];

export function emptyBreakdown(timeNs: number, rssBytes: number): GapBreakdown {
  return {
    timeNs,
    rssBytes,
    inUseBytes: 0,
    freeSmallBytes: 0,
    freeMediumBytes: 0,
    freeLargeBytes: 0,
    pageCacheBytes: 0,
    physRoundingBytes: 0,
    hugePageBytes: 0,
    lazyFreeBytes: 0,
    metadataBytes: 0,
  };
}

/** The sum of a breakdown's parts (equals its rssBytes). */
export function gapSum(b: GapBreakdown): number {
  return GAP_PARTS.reduce((sum, p) => sum + b[p.key], 0);
}

/** Heap-map cell codes: nothing there, in use, free and resident, released (or lazily freed). */
export const CELL_EMPTY = 0;
export const CELL_IN_USE = 1;
export const CELL_FREE = 2;
export const CELL_RELEASED = 3;

export class PageTracker {
  /** Pages of live spans. */
  private readonly inUse: PageBits;
  /** Pages ever in a live span. */
  private readonly used: PageBits;
  /** Pages ever set: [minPage, maxPage). */
  private minPage = Infinity;
  private maxPage = -Infinity;

  /** The 64 MiB blocks that ever held a live span, and the block of the last allocation (most allocations land in it). */
  private readonly blocks = new Set<number>();
  private lastBlock = -1;

  constructor(private readonly pageBytes: number) {
    // A bitmap block covers 64 MiB, or 32 pages of the largest page sizes (16 MiB).
    const pagesPerBits = Math.max(32, BLOCK_BYTES / pageBytes);
    this.inUse = new PageBits(pagesPerBits);
    this.used = new PageBits(pagesPerBits);
  }

  alloc(addr: number, pages: number): void {
    const p = Math.floor(addr / this.pageBytes);
    this.inUse.setRange(p, p + pages, true);
    this.used.setRange(p, p + pages, true);
    if (p < this.minPage) this.minPage = p;
    if (p + pages > this.maxPage) this.maxPage = p + pages;
    const first = Math.floor(addr / BLOCK_BYTES);
    if (first === this.lastBlock && addr + pages * this.pageBytes <= (first + 1) * BLOCK_BYTES) return;
    this.lastBlock = first;
    for (let b = first; b * BLOCK_BYTES < addr + pages * this.pageBytes; b++) this.blocks.add(b);
  }

  free(addr: number, pages: number): void {
    const p = Math.floor(addr / this.pageBytes);
    this.inUse.setRange(p, p + pages, false);
  }

  /** The 64 MiB blocks that ever held a live span, ascending (block index = address / BLOCK_BYTES). */
  heapBlocks(): number[] {
    return [...this.blocks].sort((a, b) => a - b);
  }

  /** RSS now, each resident byte given its cause. */
  breakdown(os: SimOS, heap: PageHeap, timeNs: number): GapBreakdown {
    const out = emptyBreakdown(timeNs, os.rssBytes);
    const cached: number[] = [];
    heap.forEachCachedPage?.((base) => cached.push(base));
    cached.sort((a, b) => a - b);
    os.forEachResident((base, bytes, lazy) => {
      for (let s = base, end = base + bytes; s < end;) {
        const block = Math.floor(s / BLOCK_BYTES);
        const e = Math.min(end, (block + 1) * BLOCK_BYTES);
        if (!this.blocks.has(block)) out.metadataBytes += e - s;
        else if (lazy) out.lazyFreeBytes += e - s;
        else this.classifyHeap(s, e, os.physPageBytes, cached, out);
        s = e;
      }
    });
    return out;
  }

  /** Resident, not lazily freed heap bytes [s, e): in use, or free for some reason. */
  private classifyHeap(s: number, e: number, physBytes: number, cached: number[], out: GapBreakdown): void {
    const pb = this.pageBytes;
    const last = Math.ceil(e / pb);
    for (let x = s; x < e;) {
      const p = Math.floor(x / pb);
      const busy = this.inUse.get(p);
      const y = Math.min(e, this.inUse.nextChange(p, busy, last) * pb);
      if (busy) out.inUseBytes += y - x;
      else this.classifyFree(x, y, physBytes, cached, out);
      x = y;
    }
  }

  /** Resident free bytes [x, y): pages outside live spans, bounded by live spans or the resident run. */
  private classifyFree(x: number, y: number, physBytes: number, cached: number[], out: GapBreakdown): void {
    const pb = this.pageBytes;
    let rest = y - x;
    const cache = Math.min(rest, countIn(cached, x, y) * pb);
    out.pageCacheBytes += cache;
    rest -= cache;
    if (physBytes > pb) {
      // A resident run starts and ends on physical pages: an unaligned edge is a physical
      // page shared with a live span beside it.
      const head = x % physBytes !== 0 && this.inUse.get(Math.floor(x / pb) - 1) ? Math.min(y, Math.ceil(x / physBytes) * physBytes) - x : 0;
      const tail = y % physBytes !== 0 && this.inUse.get(Math.floor(y / pb)) ? y - Math.max(x, Math.floor(y / physBytes) * physBytes) : 0;
      const rounding = Math.min(rest, head + tail);
      out.physRoundingBytes += rounding;
      rest -= rounding;
    }
    if (rest === 0) return;
    // Of the rest, pages no span ever used are resident only through a huge page fault.
    const p0 = Math.floor(x / pb);
    const p1 = Math.ceil(y / pb);
    const never = Math.min(rest, (p1 - p0 - this.used.count(p0, p1)) * pb);
    out.hugePageBytes += never;
    rest -= never;
    const hole = this.holeBytes(p0, p1);
    if (hole < SMALL_HOLE_BYTES) out.freeSmallBytes += rest;
    else if (hole < LARGE_HOLE_BYTES) out.freeMediumBytes += rest;
    else out.freeLargeBytes += rest;
  }

  /** Bytes of the maximal run of pages outside live spans holding [p0, p1); Infinity when it reaches past the heap. */
  private holeBytes(p0: number, p1: number): number {
    const below = this.inUse.prevSet(p0, this.minPage);
    const above = this.inUse.nextChange(p1, false, this.maxPage);
    if (below < this.minPage || above >= this.maxPage) return Infinity;
    return (above - below - 1) * this.pageBytes;
  }

  /**
   * One column of the heap map: for each cell of `cellBytes` in the given blocks (in
   * order), the state holding most of its bytes (CELL_*). Resident runs are walked once.
   */
  heapMapColumn(os: SimOS, blocks: readonly number[], cellBytes: number): Uint8Array {
    const perBlock = BLOCK_BYTES / cellBytes;
    const row = new Map(blocks.map((b, k) => [b, k * perBlock]));
    const resident = new Float64Array(blocks.length * perBlock);
    os.forEachResident((base, bytes, lazy) => {
      if (lazy) return;
      for (let s = base, end = base + bytes; s < end;) {
        const e = Math.min(end, (Math.floor(s / cellBytes) + 1) * cellBytes);
        const r = row.get(Math.floor(s / BLOCK_BYTES));
        if (r !== undefined) resident[r + Math.floor((s % BLOCK_BYTES) / cellBytes)] += e - s;
        s = e;
      }
    });
    const out = new Uint8Array(resident.length);
    // A cell holds at least one page (pages of up to 16 MiB: cellBytes is at least the page size).
    const pagesPerCell = cellBytes / this.pageBytes;
    blocks.forEach((b, k) => {
      for (let c = 0; c < perBlock; c++) {
        const first = (b * BLOCK_BYTES) / this.pageBytes + c * pagesPerCell;
        const inUse = this.inUse.count(first, first + pagesPerCell) * this.pageBytes;
        const used = this.used.count(first, first + pagesPerCell) * this.pageBytes;
        out[k * perBlock + c] = cellState(inUse, used - inUse, resident[k * perBlock + c]);
      }
    });
    return out;
  }
}

/** The dominant state of a heap-map cell from its in-use, freed and resident bytes. */
function cellState(inUse: number, freed: number, resident: number): number {
  const freeResident = Math.max(0, resident - inUse);
  const released = Math.max(0, inUse + freed - resident);
  if (inUse === 0 && freeResident === 0 && released === 0) return CELL_EMPTY;
  if (inUse >= freeResident && inUse >= released) return CELL_IN_USE;
  return freeResident >= released ? CELL_FREE : CELL_RELEASED;
}

/** How many sorted values fall in [from, to). */
function countIn(sorted: number[], from: number, to: number): number {
  return lowerBound(sorted, to) - lowerBound(sorted, from);
}

function lowerBound(sorted: number[], v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
