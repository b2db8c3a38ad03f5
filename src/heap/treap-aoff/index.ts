// treap-aoff: Go 1.13's page heap (go1.13 src/runtime/mheap.go and mgclarge.go).
//
// Go 1.13 dropped the length-indexed lists: every free span lives in one treap ordered
// by address (AddressTreap), and an allocation takes the lowest-addressed span that
// fits (address-ordered first fit). What is modelled, and where Go does it:
//
// - allocSpanLocked: find; else grow and find again. A longer span is trimmed at the
//   *bottom*: the allocation takes the low pages and the rest stays in the treap in
//   place (mutate). If the span was scavenged, the allocated part is used again
//   (sysUsed) and counted as scavenged pages reused; the rest stays scavenged if it
//   still covers a whole physical page.
// - grow: sysAlloc rounds the request up to whole 64 MiB heap arenas, reserved and
//   mapped contiguously from 0xc000000000; a range that would pass the top of the 48-bit
//   address space is the runtime's "out of memory" (HeapOutOfMemoryError: the hint
//   fails, and no other place could hold it). Fresh memory is a free span marked
//   scavenged (never touched, so not resident), then coalesced.
// - Each span is scavenged or not, as a whole (mspan.scavenged); its released bytes are
//   its physical-page-rounded extent when scavenged (mspan.released).
// - coalesce: neighbours merge only when their scavenged state is the same; otherwise,
//   when physical pages are larger than runtime pages, the boundary moves to a physical
//   page boundary towards the scavenged span (realign). Adjacent free spans therefore
//   exist, and a free run may be several spans.
// - scavengeLocked(N): walk the free spans that are not scavenged from the highest
//   address down, those holding a whole 2 MiB huge page first, then the rest; split off
//   just enough from the top of a span (scavengeSplit: aligned to the physical page
//   and, so as not to break one, to the huge page); release it; coalesce it with its
//   scavenged neighbours. An empty request (FreeOSMemory) releases everything.
//
// Growth calls HeapOptions.onGrow before the new span is added (growAddSpan); a release
// from inside it may split and merge free spans (see PageHeap.alloc).
//
// Left out: the scavenger's pacing and retained-memory goal (scavengeIfNeededLocked on
// allocation) are policy (src/policy), and the arena metadata (heapArena bitmaps and
// span arrays) is not charged to the OS layer.

import { STILL_CLOCK, type BackendInfo, type FreeStats, type HeapClock, type HeapOptions, type PageHeap } from '../types.js';
import { ADDRESS_SPACE_END, type OsMemory } from '../../os/sim-os.js';
import { ARENA_BASE, HEAP_ARENA_BYTES, HUGE_PAGE_BYTES, checkArenaRange } from '../platform.js';
import { AddressTreap, ITER_HUGE, ITER_SCAV, treapFilter, type AddrNode, type AddrSpan } from './address-treap.js';

class FreeSpan implements AddrSpan {
  scavenged = false;
  unusedSince = 0;
  node: AddrNode | null = null;
  constructor(
    public page: number,
    public npages: number,
  ) {}
}

class AddressOrderedHeap implements PageHeap {
  readonly name = 'treap-aoff';
  readonly pageBytes: number;
  heapPages = 0;
  lastScavengedPages = 0;
  freePages = 0;
  /** Sum of released() over free spans: the runtime's heap_released. */
  private releasedBytes = 0;
  private ownWork = 0;
  private readonly os: OsMemory;
  private readonly clock: HeapClock;
  private readonly onGrow: ((grownBytes: number) => void) | undefined;
  readonly treap: AddressTreap;
  private readonly byStart = new Map<number, AddrSpan>();
  private readonly byEnd = new Map<number, AddrSpan>();
  /**
   * The free spans whose next page begins another free span (of the other scavenged state:
   * equal ones coalesce). Free runs are the spans less these joins, and only a chain of
   * joined spans can be a run longer than its longest span: freeStats reads both from here
   * and the treap's root summary instead of walking every span.
   */
  private readonly joined = new Set<AddrSpan>();

  constructor(options: HeapOptions) {
    this.os = options.os;
    this.clock = options.clock ?? STILL_CLOCK;
    this.onGrow = options.onGrow;
    this.pageBytes = options.pageBytes;
    this.treap = new AddressTreap(options.seed, (s) => this.hugePages(s) > 0);
  }

  get work(): number {
    return this.ownWork + this.treap.work;
  }

  get releasedPages(): number {
    return this.releasedBytes / this.pageBytes;
  }

  private base(s: AddrSpan): number {
    return ARENA_BASE + s.page * this.pageBytes;
  }

  /** physPageBounds: the span rounded in to physical pages. */
  private physBounds(s: AddrSpan): [number, number] {
    const phys = this.os.physPageBytes;
    let start = this.base(s);
    let end = start + s.npages * this.pageBytes;
    if (phys > this.pageBytes) {
      start = Math.ceil(start / phys) * phys;
      end = Math.floor(end / phys) * phys;
    }
    return [start, end];
  }

  private released(s: AddrSpan): number {
    if (!s.scavenged) return 0;
    const [start, end] = this.physBounds(s);
    return end > start ? end - start : 0;
  }

  hugePages(s: AddrSpan): number {
    if (s.npages < HUGE_PAGE_BYTES / this.pageBytes) return 0;
    const start = Math.ceil(this.base(s) / HUGE_PAGE_BYTES) * HUGE_PAGE_BYTES;
    const end = Math.floor((this.base(s) + s.npages * this.pageBytes) / HUGE_PAGE_BYTES) * HUGE_PAGE_BYTES;
    return start < end ? (end - start) / HUGE_PAGE_BYTES : 0;
  }

  // Free-span bookkeeping: the treap plus first/last-page indexes (spanOf).
  private add(s: AddrSpan): void {
    const before = this.byEnd.get(s.page - 1);
    if (before !== undefined) this.joined.add(before);
    if (this.byStart.has(s.page + s.npages)) this.joined.add(s);
    this.treap.insert(s);
    this.byStart.set(s.page, s);
    this.byEnd.set(s.page + s.npages - 1, s);
    this.freePages += s.npages;
    this.releasedBytes += this.released(s);
  }

  /** Takes s out; `held` is its node when the caller has it (no descent), else null. */
  private drop(s: AddrSpan, held: AddrNode | null): void {
    if (held !== null) this.treap.erase(held);
    else this.treap.removeSpan(s);
    const before = this.byEnd.get(s.page - 1);
    if (before !== undefined) this.joined.delete(before);
    this.joined.delete(s);
    this.byStart.delete(s.page);
    this.byEnd.delete(s.page + s.npages - 1);
    this.freePages -= s.npages;
    this.releasedBytes -= this.released(s);
  }

  alloc(npages: number): number {
    let t = this.treap.find(npages);
    if (t === null) {
      this.grow(npages);
      t = this.treap.find(npages);
      if (t === null) throw new Error('treap-aoff: grew heap, but no adequate free span found');
    }
    const s = t.span;
    const wasScavenged = s.scavenged;
    let page: number;
    if (s.npages === npages) {
      this.drop(s, t);
      page = s.page;
    } else {
      // Trim off the low pages in place; the rest keeps its place in the treap.
      this.releasedBytes -= this.released(s);
      this.byStart.delete(s.page);
      const before = this.byEnd.get(s.page - 1);
      if (before !== undefined) this.joined.delete(before);
      page = s.page;
      s.page += npages;
      s.npages -= npages;
      this.byStart.set(s.page, s);
      this.freePages -= npages;
      if (s.scavenged && this.released(s) === 0) s.scavenged = false;
      this.releasedBytes += this.released(s);
      this.treap.mutated(t);
    }
    this.lastScavengedPages = wasScavenged ? npages : 0;
    return ARENA_BASE + page * this.pageBytes;
  }

  free(base: number, npages: number): void {
    const s = new FreeSpan((base - ARENA_BASE) / this.pageBytes, npages);
    s.unusedSince = this.clock.now;
    this.coalesce(s);
    this.add(s);
  }

  private grow(npages: number): void {
    const bytes = Math.ceil((npages * this.pageBytes) / HEAP_ARENA_BYTES) * HEAP_ARENA_BYTES;
    const base = ARENA_BASE + this.heapPages * this.pageBytes;
    checkArenaRange(base, bytes, ADDRESS_SPACE_END, 'past the end of the 48-bit address space');
    this.os.reserve(base, bytes);
    this.os.map(base, bytes);
    // growAddSpan: scavengeIfNeededLocked(size) runs before the new span is added.
    if (this.onGrow !== undefined) this.onGrow(bytes);
    const s = new FreeSpan(this.heapPages, bytes / this.pageBytes);
    s.scavenged = true;
    s.unusedSince = this.clock.now;
    this.heapPages += s.npages;
    this.coalesce(s);
    this.add(s);
  }

  /** Merges s (not in the treap) with free neighbours of the same scavenged state. */
  private coalesce(s: AddrSpan): void {
    this.ownWork += 2;
    const before = this.byEnd.get(s.page - 1);
    if (before !== undefined) {
      if (before.scavenged === s.scavenged) {
        this.drop(before, null);
        s.page = before.page;
        s.npages += before.npages;
      } else this.realign(before, s, before);
    }
    const after = this.byStart.get(s.page + s.npages);
    if (after !== undefined) {
      if (after.scavenged === s.scavenged) {
        this.drop(after, null);
        s.npages += after.npages;
      } else this.realign(s, after, after);
    }
  }

  /** Moves the a|b boundary to a physical page boundary, towards the scavenged one. */
  private realign(a: AddrSpan, b: AddrSpan, other: AddrSpan): void {
    const phys = this.os.physPageBytes;
    if (this.pageBytes >= phys) return;
    this.drop(other, null);
    const at = this.base(b);
    const boundary = a.scavenged ? Math.floor(at / phys) * phys : Math.ceil(at / phys) * phys;
    const boundaryPage = (boundary - ARENA_BASE) / this.pageBytes;
    const bEnd = b.page + b.npages;
    a.npages = boundaryPage - a.page;
    b.page = boundaryPage;
    b.npages = bEnd - boundaryPage;
    this.add(other);
  }

  release(nbytes: number): number {
    const want = nbytes < 0 ? Infinity : nbytes;
    let released = 0;
    const mask = ITER_SCAV | ITER_HUGE;
    for (const match of [ITER_HUGE, 0]) {
      const f = treapFilter(mask, match);
      let t = this.treap.end(f);
      while (released < want && t !== null) {
        const s = t.span;
        const [start, end] = this.physBounds(s);
        if (start >= end) {
          t = this.treap.pred(t, f);
          continue;
        }
        const next = this.treap.pred(t, f);
        const nextSpan = next === null ? null : next.span;
        let victim = this.scavengeSplit(t, want - released);
        if (victim === null) {
          victim = s;
          this.drop(s, t);
        }
        released += this.scavenge(victim);
        this.coalesce(victim);
        this.add(victim);
        // realign may have re-inserted the predecessor's span: follow the span.
        t = nextSpan === null ? null : nextSpan.node;
      }
    }
    return released;
  }

  releaseIdle(cutoff: number): number {
    // The Go 1.11 rule on Go 1.13's spans (a cross-era what-if: Go 1.13 replaced it with
    // the background scavenger): release each unscavenged free span idle since before
    // cutoff, whole, and coalesce it with its scavenged neighbours.
    const idle: AddrSpan[] = [];
    this.treap.forEachNode((n) => {
      this.ownWork++;
      const s = n.span;
      if (!s.scavenged && s.unusedSince < cutoff) idle.push(s);
    });
    let released = 0;
    for (const s of idle) {
      // An earlier span's coalesce may have absorbed this one.
      if (this.byStart.get(s.page) !== s || s.scavenged) continue;
      const [start, end] = this.physBounds(s);
      if (start >= end) continue;
      this.drop(s, null);
      released += this.scavenge(s);
      this.coalesce(s);
      this.add(s);
    }
    return released;
  }

  /** Splits the top of t's span off as a new span of about `size` bytes, or null. */
  private scavengeSplit(t: AddrNode, size: number): AddrSpan | null {
    const s = t.span;
    const [start, end] = this.physBounds(s);
    if (end <= start || end - start <= size) return null;
    const align = Math.max(this.os.physPageBytes, this.pageBytes);
    let base = Math.floor((end - size) / align) * align;
    if (base <= start) return null;
    if (HUGE_PAGE_BYTES > this.pageBytes && Math.floor(base / HUGE_PAGE_BYTES) * HUGE_PAGE_BYTES >= start) {
      base = Math.floor(base / HUGE_PAGE_BYTES) * HUGE_PAGE_BYTES;
    }
    if (base === start) return null;
    const splitPage = (base - ARENA_BASE) / this.pageBytes;
    const top = new FreeSpan(splitPage, s.page + s.npages - splitPage);
    top.unusedSince = s.unusedSince;
    this.byEnd.delete(s.page + s.npages - 1);
    // s's next page is top's, not in the treap until the caller adds it.
    this.joined.delete(s);
    s.npages -= top.npages;
    this.byEnd.set(s.page + s.npages - 1, s);
    this.freePages -= top.npages;
    this.treap.mutated(t);
    return top;
  }

  /** mspan.scavenge: release the span's whole physical pages. */
  private scavenge(s: AddrSpan): number {
    const [start, end] = this.physBounds(s);
    if (end <= start) return 0;
    this.ownWork++;
    this.os.release(start, end - start);
    s.scavenged = true;
    return end - start;
  }

  /** mheap_.free.unscavHugePages: huge pages wholly inside free, unscavenged spans. */
  unscavengedHugePages(): number {
    let n = 0;
    this.treap.forEachNode((t) => {
      if (!t.span.scavenged) n += this.hugePages(t.span);
    });
    return n;
  }

  freeStats(): FreeStats {
    // Adjacent free spans of different scavenged state are one run of free pages.
    let largest = this.treap.root === null ? 0 : this.treap.root.maxPages;
    for (const head of this.joined) {
      if (this.byEnd.has(head.page - 1)) continue;
      let run = 0;
      let s: AddrSpan | undefined = head;
      for (; s !== undefined && this.joined.has(s); s = this.byStart.get(s.page + s.npages)) run += s.npages;
      if (s !== undefined) run += s.npages;
      if (run > largest) largest = run;
    }
    return { freePages: this.freePages, freeRuns: this.treap.count - this.joined.size, largestFreeRunPages: largest };
  }

  shape(): Record<string, number> {
    let scavenged = 0;
    this.treap.forEachNode((n) => {
      if (n.span.scavenged) scavenged++;
    });
    return { freeSpans: this.treap.count, scavengedFreeSpans: scavenged, ...this.treap.treapShape() };
  }
}

export const treapAoffBackend: BackendInfo = {
  name: 'treap-aoff',
  aliases: ['go1.13', 'aoff'],
  goVersion: 'go1.13',
  era: 1.13,
  reserveModes: ['arenas'],
  summary: 'Go 1.13 mheap: one address-ordered treap of all free spans, first fit in O(log n), scavenged state per span',
  create: (o) => new AddressOrderedHeap(o),
};
