// The span-based page heap of Go 1.8 to 1.12 (mheap.go), shared by the span-list and
// treap backends. Only the set that holds large free spans differs between them
// (LargeSpanSet): Go 1.8 kept a linked list searched best-fit, Go 1.9 a treap.
//
// What it models, from go1.8 src/runtime/mheap.go:
// - Free spans shorter than `smallLimitPages` (_MaxMHeapList: 1 MiB of pages, 128 at
//   8 KiB) sit in free lists indexed by length; a free span is inserted at the front of
//   its list. allocSpanLocked takes the first span of the first non-empty list of
//   length >= n, else asks the large set, else grows the heap and asks the large set
//   again.
// - A span longer than asked is trimmed: the tail goes back to the heap as a new free
//   span that inherits the original's unused-since time. Released pages are counted,
//   not placed (npreleased): the allocation is taken to reuse released pages first, and
//   the tail keeps the rest. Go 1.8-1.11 zeroed the tail's count instead (sysUsed on the
//   whole span), although the OS kept those pages released; heapsim keeps the runtime's
//   count equal to the OS's, because a policy that releases by that count (go1.12's
//   scavenging on reuse) would otherwise release the same pages again and again (9.6 TiB
//   "released" from a 1 GiB heap, issue 13).
// - Freeing coalesces with both neighbours when they are free (boundary lookups stand in
//   for h.spans[p-1] and h.spans[p+npages]); released-page counts add up.
// - Growth (mheap.grow): round the request up to 64 KiB, at least 1 MiB, map it at the
//   end of one contiguous arena based at 0xc000000000, and free it as a span so it
//   coalesces with a free span at the old end. Go 1.8-1.10 could not grow the arena past
//   _MaxMem (512 GiB on linux/amd64): a growth beyond it is the runtime's "out of memory"
//   (HeapOutOfMemoryError), with `upfront` and `pretend` alike. With `arenas` (Go 1.11+)
//   the limit is the top of the 48-bit address space.
// - Page sizes: Go's page was always 8 KiB; other sizes scale the byte-defined constants.
//   With pages of 1 MiB or more there are no small lists (every span is "large"), which is
//   what the 1 MiB bound means at that size.
// - Release of N bytes: whole free spans, largest first (highest address among equals,
//   the order of Go 1.12's scavengeLargest walking its treap from the end), each rounded
//   in to physical pages as mspan.scavenge / scavengeTreapNode do, until N is reached.
//
// Growth calls HeapOptions.onGrow after mapping and before the new span is freed in;
// a release from inside it only marks free spans released (see PageHeap.alloc).
//
// Invariants: no two free spans are adjacent; every free span is in exactly one list or
// in the large set, and indexed by its first and last page; freePages and releasedPages
// are the sums of the free spans' npages and npreleased.

import { STILL_CLOCK, type FreeStats, type HeapClock, type HeapOptions, type PageHeap } from './types.js';
import type { OsMemory } from '../os/sim-os.js';
import { ADDRESS_SPACE_END } from '../os/sim-os.js';
import { ARENA_BASE, HEAP_ARENA_BYTES, HUGE_PAGE_BYTES, checkArenaRange } from './platform.js';
/** _HeapAllocChunk: the smallest growth, 1 MiB. */
const MIN_GROW_BYTES = 1 << 20;
/** Growth is a multiple of 64 KiB "to reduce the number of mappings". */
const GROW_ALIGN_BYTES = 64 << 10;
/** _MaxMHeapList covers spans below 1 MiB. */
const SMALL_LIMIT_BYTES = 1 << 20;
/** Go 1.8 on linux/amd64: _MaxMem, the arena reserved up front, and its metadata. */
const UPFRONT_ARENA_BYTES = 512 * 2 ** 30;
const UPFRONT_BITMAP_BYTES = UPFRONT_ARENA_BYTES / 16;
const UPFRONT_SPANS_BYTES = (UPFRONT_ARENA_BYTES / 8192) * 8;

/** Span.where of a span in the large set. */
const LARGE = -1;

export class Span {
  prev: Span | null = null;
  next: Span | null = null;
  /** 1..smallLimit-1: in that free list; LARGE: in the large set; 0: not free. */
  where = 0;
  /** Pages the runtime counts as released (npreleased). */
  npreleased = 0;
  /** Trace time the span last became free (unusedsince). */
  unusedSince = 0;
  constructor(
    /** First page, counted from ARENA_BASE. */
    public page: number,
    public npages: number,
  ) {}
}

/** The set of free spans too large for the length-indexed lists. */
export interface LargeSpanSet {
  readonly count: number;
  /** Work units spent inside the set (nodes visited). */
  readonly work: number;
  insert(s: Span): void;
  remove(s: Span): void;
  /** Removes and returns the span this era's search picks for npages, or null. */
  take(npages: number): Span | null;
  forEach(fn: (s: Span) => void): void;
  /** Pages in the largest span of the set (0 when empty). */
  maxPages(): number;
  shape(): Record<string, number>;
}

export class SpanHeap implements PageHeap {
  readonly pageBytes: number;
  heapPages = 0;
  releasedPages = 0;
  freePages = 0;
  lastScavengedPages = 0;
  private ownWork = 0;

  private readonly os: OsMemory;
  private readonly clock: HeapClock;
  private readonly onGrow: ((grownBytes: number) => void) | undefined;
  private readonly small: (Span | null)[];
  /** Bit i set when small list i is non-empty: finds the first list >= n in a few words. */
  private readonly smallNonEmpty: Uint32Array;
  readonly smallLimitPages: number;
  private readonly byStart = new Map<number, Span>();
  private readonly byEnd = new Map<number, Span>();
  private smallCount = 0;
  private readonly reserve: string;
  /** With `arenas`: the end of the address space reserved so far. */
  private reservedEnd = ARENA_BASE;

  constructor(
    readonly name: string,
    options: HeapOptions,
    readonly large: LargeSpanSet,
    // At least 1: list 0 is never used, so 1 means no small lists.
    smallLimitPages = Math.max(1, Math.floor(SMALL_LIMIT_BYTES / options.pageBytes)),
  ) {
    this.os = options.os;
    this.clock = options.clock ?? STILL_CLOCK;
    this.onGrow = options.onGrow;
    this.pageBytes = options.pageBytes;
    this.smallLimitPages = smallLimitPages;
    this.small = new Array<Span | null>(smallLimitPages).fill(null);
    this.smallNonEmpty = new Uint32Array(Math.ceil(smallLimitPages / 32));
    this.reserve = options.reserve ?? 'pretend';
    if (this.reserve === 'upfront') {
      // mallocinit's one reservation: the span map, the heap bitmap and the arena.
      this.os.mmapAnywhere(UPFRONT_SPANS_BYTES, true);
      this.os.mmapAnywhere(UPFRONT_BITMAP_BYTES, true);
      this.os.reserve(ARENA_BASE, UPFRONT_ARENA_BYTES);
    }
  }

  /** The first non-empty small list of length >= n, or smallLimitPages if none. */
  private firstSmallList(n: number): number {
    const bits = this.smallNonEmpty;
    for (let w = n >>> 5; w < bits.length; w++) {
      let word = bits[w];
      if (w === n >>> 5) word &= ~((1 << (n & 31)) - 1) >>> 0;
      if (word !== 0) return Math.min(this.smallLimitPages, w * 32 + (31 - Math.clz32(word & -word)));
    }
    return this.smallLimitPages;
  }

  get work(): number {
    return this.ownWork + this.large.work;
  }

  addr(page: number): number {
    return ARENA_BASE + page * this.pageBytes;
  }

  alloc(npages: number): number {
    // Go walks the lists from n upwards; the work counted is the lists it looks at.
    let s: Span | null = null;
    if (npages < this.smallLimitPages) {
      const i = this.firstSmallList(npages);
      this.ownWork += Math.min(i + 1, this.smallLimitPages) - npages;
      if (i < this.smallLimitPages) s = this.small[i];
    }
    if (s !== null) {
      this.unlinkSmall(s);
    } else {
      s = this.large.take(npages);
      if (s === null) {
        this.grow(npages);
        s = this.large.take(npages);
        if (s === null) throw new Error(`${this.name}: no span of ${npages} pages after growing the heap`);
      }
    }
    this.unindex(s);
    const scavenged = s.npreleased;
    this.releasedPages -= scavenged;
    s.npreleased = 0;
    this.lastScavengedPages = Math.min(scavenged, npages);
    if (s.npages > npages) {
      const tail = new Span(s.page + npages, s.npages - npages);
      tail.unusedSince = s.unusedSince;
      // The released pages the allocation did not take stay released with the tail.
      tail.npreleased = scavenged - this.lastScavengedPages;
      s.npages = npages;
      this.freeSpan(tail);
    }
    return this.addr(s.page);
  }

  free(base: number, npages: number): void {
    const s = new Span((base - ARENA_BASE) / this.pageBytes, npages);
    s.unusedSince = this.clock.now;
    this.freeSpan(s);
  }

  /** freeSpanLocked: coalesce with free neighbours, then insert. */
  private freeSpan(s: Span): void {
    this.ownWork += 2; // the two neighbour lookups (h.spans[p-1], h.spans[p+npages])
    const before = this.byEnd.get(s.page - 1);
    if (before !== undefined) {
      this.removeFree(before);
      s.page = before.page;
      s.npages += before.npages;
      s.npreleased += before.npreleased;
    }
    const after = this.byStart.get(s.page + s.npages);
    if (after !== undefined) {
      this.removeFree(after);
      s.npages += after.npages;
      s.npreleased += after.npreleased;
    }
    this.insertFree(s);
  }

  private insertFree(s: Span): void {
    this.byStart.set(s.page, s);
    this.byEnd.set(s.page + s.npages - 1, s);
    this.freePages += s.npages;
    this.releasedPages += s.npreleased;
    if (s.npages < this.smallLimitPages) {
      const head = this.small[s.npages];
      s.prev = null;
      s.next = head;
      if (head !== null) head.prev = s;
      this.small[s.npages] = s;
      this.smallNonEmpty[s.npages >>> 5] |= 1 << (s.npages & 31);
      s.where = s.npages;
      this.ownWork++;
      this.smallCount++;
    } else {
      s.where = LARGE;
      this.large.insert(s);
    }
  }

  /** Takes a free span out of its list or set and out of the indexes. */
  private removeFree(s: Span): void {
    if (s.where === LARGE) this.large.remove(s);
    else this.unlinkSmall(s);
    this.unindex(s);
    this.releasedPages -= s.npreleased;
  }

  private unlinkSmall(s: Span): void {
    if (s.prev !== null) s.prev.next = s.next;
    else {
      this.small[s.where] = s.next;
      if (s.next === null) this.smallNonEmpty[s.where >>> 5] &= ~(1 << (s.where & 31));
    }
    if (s.next !== null) s.next.prev = s.prev;
    s.prev = s.next = null;
    this.smallCount--;
  }

  private unindex(s: Span): void {
    this.byStart.delete(s.page);
    this.byEnd.delete(s.page + s.npages - 1);
    this.freePages -= s.npages;
    s.where = 0;
  }

  private grow(npages: number): void {
    let bytes = Math.ceil((npages * this.pageBytes) / GROW_ALIGN_BYTES) * GROW_ALIGN_BYTES;
    if (bytes < MIN_GROW_BYTES) bytes = MIN_GROW_BYTES;
    const pages = Math.ceil(bytes / this.pageBytes);
    const at = this.addr(this.heapPages);
    if (this.reserve === 'arenas') checkArenaRange(at, pages * this.pageBytes, ADDRESS_SPACE_END, 'past the end of the 48-bit address space');
    else checkArenaRange(at, pages * this.pageBytes, ARENA_BASE + UPFRONT_ARENA_BYTES, 'past the 512 GiB arena of Go 1.8-1.10 (_MaxMem)');
    if (this.reserve === 'arenas') {
      while (this.reservedEnd < at + pages * this.pageBytes) {
        this.os.reserve(this.reservedEnd, HEAP_ARENA_BYTES);
        this.reservedEnd += HEAP_ARENA_BYTES;
      }
    }
    this.os.map(at, pages * this.pageBytes);
    // Go 1.12's mheap.grow scavenged (scavengeLargest) before freeing the new span in.
    if (this.onGrow !== undefined) this.onGrow(pages * this.pageBytes);
    const s = new Span(this.heapPages, pages);
    s.unusedSince = this.clock.now;
    this.heapPages += pages;
    this.freeSpan(s);
  }

  forEachFree(fn: (s: Span) => void): void {
    for (let i = 1; i < this.smallLimitPages; i++) {
      for (let s = this.small[i]; s !== null; s = s.next) fn(s);
    }
    this.large.forEach(fn);
  }

  release(nbytes: number): number {
    // Largest first, highest address among equals: the large set sorted, then the
    // small lists from the longest down, each sorted by address. Stops once enough.
    let released = 0;
    const done = () => nbytes >= 0 && released >= nbytes;
    const order = (a: Span, b: Span) => b.npages - a.npages || b.page - a.page;
    const pass = (spans: Span[]) => {
      spans.sort(order);
      for (let k = 0; k < spans.length && !done(); k++) {
        this.ownWork++;
        released += this.releaseSpan(spans[k]);
      }
    };
    const large: Span[] = [];
    this.large.forEach((s) => {
      if (s.npreleased < s.npages) large.push(s);
    });
    pass(large);
    for (let i = this.smallLimitPages - 1; i > 0 && !done(); i--) {
      if (this.small[i] === null) continue;
      const list: Span[] = [];
      for (let s = this.small[i]; s !== null; s = s.next) if (s.npreleased < s.npages) list.push(s);
      pass(list);
    }
    return released;
  }

  releaseIdle(cutoff: number): number {
    // mheap.scavenge(k, now, limit): every free span with now-unusedsince > limit that is
    // not wholly released (scavengelist per small list, then the large spans).
    let released = 0;
    this.forEachFree((s) => {
      this.ownWork++;
      if (s.unusedSince < cutoff && s.npreleased < s.npages) released += this.releaseSpan(s);
    });
    return released;
  }

  /** Releases a free span's pages, rounded in to physical pages; returns new bytes. */
  releaseSpan(s: Span): number {
    const phys = this.os.physPageBytes;
    const base = this.addr(s.page);
    const start = Math.ceil(base / phys) * phys;
    const end = Math.floor((base + s.npages * this.pageBytes) / phys) * phys;
    if (end <= start) return 0;
    const newly = end - start - s.npreleased * this.pageBytes;
    if (newly <= 0) return 0;
    this.os.release(start, end - start);
    const npreleased = (end - start) / this.pageBytes;
    this.releasedPages += npreleased - s.npreleased;
    s.npreleased = npreleased;
    return newly;
  }

  /** Huge pages wholly inside free spans with no released page (Go 1.13's pacing input, a what-if here). */
  unscavengedHugePages(): number {
    let n = 0;
    this.forEachFree((s) => {
      if (s.npreleased > 0) return;
      const start = Math.ceil(this.addr(s.page) / HUGE_PAGE_BYTES) * HUGE_PAGE_BYTES;
      const end = Math.floor(this.addr(s.page + s.npages) / HUGE_PAGE_BYTES) * HUGE_PAGE_BYTES;
      if (end > start) n += (end - start) / HUGE_PAGE_BYTES;
    });
    return n;
  }

  freeStats(): FreeStats {
    // Free spans are maximal runs (neighbours always coalesce), so runs = spans.
    let largest = this.large.maxPages();
    for (let i = this.smallLimitPages - 1; largest === 0 && i > 0; i--) {
      if (this.small[i] !== null) largest = i;
    }
    return { freePages: this.freePages, freeRuns: this.smallCount + this.large.count, largestFreeRunPages: largest };
  }

  shape(): Record<string, number> {
    return { smallFreeSpans: this.smallCount, largeFreeSpans: this.large.count, ...this.large.shape() };
  }
}
