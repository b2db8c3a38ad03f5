// treap-go1.12: Go 1.12.0's page heap (go1.12 src/runtime/mheap.go, mgclarge.go).
//
// Go 1.12 dropped Go 1.9's length-indexed lists: every free span is in one of two
// treaps ordered by (npages, base) — mheap.free for spans whose pages are resident
// (unscavenged), mheap.scav for spans released to the OS (scavenged). The search is
// Go 1.9's shipped one (src/heap/treap: not quite best fit, Go issue 31616). What is
// modelled, and where Go does it:
//
// - allocSpanLocked / pickFreeSpan: find in both treaps, take the smaller result (the
//   unscavenged one on a tie); else grow and pick again. heap_released loses the whole
//   span's released bytes; a longer span is trimmed at the top, and the tail, when the
//   span was scavenged and the tail still covers a whole physical page, stays scavenged
//   and heap_released counts its physical-page bounds again. The tail is freed (and
//   coalesced) before the allocated part is sysUsed; the allocation reports all its
//   pages as scavenged when the span was (lastScavengedPages), which is when Go 1.12.0
//   called scavengeLargest(npages * pageSize) "to make up for" the RSS — that call is the
//   go1.12 policy's `reuse` trigger, made through release() once alloc returns.
// - grow: sysAlloc rounds the request up to whole 64 MiB heap arenas, reserved and
//   mapped contiguously from 0xc000000000. mheap.grow calls scavengeLargest(size)
//   (HeapOptions.onGrow, the policy's `growth` trigger) and then frees the new memory as
//   one span that is *not* scavenged: Go 1.12 counts fresh arenas as retained
//   (heap_sys - heap_released) although the OS has not faulted them in.
// - coalesce: a neighbour merges only when its scavenged state equals the span's. When
//   either was scavenged the merged span is scavenged again as a whole (heap_released
//   loses what both counted, then mspan.scavenge madvises the whole span and counts its
//   physical bounds), so the OS sees those pages released a second time. Neighbours of
//   different state are not merged; Go's realign moves their boundary to a physical page
//   boundary, which is a no-op here: with 8 KiB runtime pages over 4 KiB physical pages
//   every boundary already is one, and with larger physical pages Go 1.12's guard
//   (pageSize <= physPageSize) returns before realigning.
// - scavengeLargest(N) (release): walk mheap.free from the largest span down; scavenge
//   each whole span (its physical-page bounds), move it to mheap.scav after coalescing,
//   until N bytes; stop at the first span that covers no whole physical page. Spans are
//   never split: a 1-page request can release a 64 MiB span.
// - scavengeAll(now, limit) (releaseIdle, and FreeOSMemory as release(-1)): every span
//   of mheap.free unused for longer than the limit, smallest first.
// - mspan.scavenge releases [start, end) rounded in to physical pages; mspan.released
//   is those bounds when the span is scavenged, 0 otherwise.
//
// Scavenged state: a span is scavenged exactly when npreleased > 0 (npreleased holds
// its physical-page bounds in runtime pages). Go sets `scavenged` only when those bounds
// are not empty, and a scavenged span only ever grows or is re-checked when trimmed, so
// the two agree.
//
// Invariants: every free span is in exactly one treap (free when npreleased is 0, scav
// otherwise) and indexed by its first and last page; no two adjacent free spans have the
// same state; releasedBytes (heap_released) is the sum of the free spans' released().
//
// Left out: Go 1.12.5's scavenge credit and the later removal of scavenging on the
// allocation path (Go issue 31678's backports), span metadata (heapArena) in the OS
// layer, and the reclaimer (sweeping is the trace's business).

import { STILL_CLOCK, type BackendInfo, type FreeStats, type HeapClock, type HeapOptions, type PageHeap } from '../types.js';
import { ADDRESS_SPACE_END, type OsMemory } from '../../os/sim-os.js';
import { ARENA_BASE, HEAP_ARENA_BYTES, HUGE_PAGE_BYTES, checkArenaRange } from '../platform.js';
import { Span } from '../span-heap.js';
import { SizeTreap, type SizeNode } from '../treap/index.js';

/** Span.where of a span in mheap.free (unscavenged) and in mheap.scav. */
const IN_FREE = 1;
const IN_SCAV = 2;

/** Go 1.12's mTreap: the shipped size-ordered treap, with Go's iteration (end, prev, start, next). */
class Go112Treap extends SizeTreap {
  constructor(seed: number) {
    super('shipped', seed);
  }

  /** Removes a node the caller found (removeNode / erase: no descent). */
  erase(t: SizeNode): void {
    this.work++;
    this.unlink(t);
  }

  /** The largest node (end). */
  last(): SizeNode | null {
    let t = this.root;
    if (t === null) return null;
    for (; t.right !== null; t = t.right) this.work++;
    return t;
  }

  /** The in-order predecessor of t (treapIter.prev). */
  prev(t: SizeNode): SizeNode | null {
    this.work++;
    if (t.left !== null) {
      let p = t.left;
      while (p.right !== null) p = p.right;
      return p;
    }
    let c = t;
    let p = t.parent;
    while (p !== null && p.left === c) {
      c = p;
      p = p.parent;
    }
    return p;
  }
}

class Go112Heap implements PageHeap {
  readonly name = 'treap-go1.12';
  readonly pageBytes: number;
  heapPages = 0;
  lastScavengedPages = 0;
  freePages = 0;
  /** heap_released: bytes of free spans the runtime counts as released. */
  private releasedBytes = 0;
  private ownWork = 0;
  private readonly os: OsMemory;
  private readonly clock: HeapClock;
  private readonly onGrow: ((grownBytes: number) => void) | undefined;
  /** mheap.free and mheap.scav. */
  readonly freeTreap: Go112Treap;
  readonly scavTreap: Go112Treap;
  private readonly byStart = new Map<number, Span>();
  private readonly byEnd = new Map<number, Span>();

  constructor(options: HeapOptions) {
    this.os = options.os;
    this.clock = options.clock ?? STILL_CLOCK;
    this.onGrow = options.onGrow;
    this.pageBytes = options.pageBytes;
    this.freeTreap = new Go112Treap(options.seed);
    this.scavTreap = new Go112Treap(options.seed + 1);
  }

  get work(): number {
    return this.ownWork + this.freeTreap.work + this.scavTreap.work;
  }

  get releasedPages(): number {
    return this.releasedBytes / this.pageBytes;
  }

  /** mspan.physPageBounds: the span rounded in to physical pages, as bytes. */
  private physBounds(page: number, npages: number): [number, number] {
    const phys = this.os.physPageBytes;
    const base = ARENA_BASE + page * this.pageBytes;
    let start = base;
    let end = base + npages * this.pageBytes;
    if (phys > this.pageBytes) {
      start = Math.ceil(start / phys) * phys;
      end = Math.floor(end / phys) * phys;
    }
    return [start, end];
  }

  /** mspan.released. */
  private released(s: Span): number {
    return s.npreleased * this.pageBytes;
  }

  /** Inserts a free span into the treap its state selects, and indexes it. */
  private insert(s: Span): void {
    s.where = s.npreleased > 0 ? IN_SCAV : IN_FREE;
    if (s.where === IN_SCAV) this.scavTreap.insert(s);
    else this.freeTreap.insert(s);
    this.byStart.set(s.page, s);
    this.byEnd.set(s.page + s.npages - 1, s);
    this.freePages += s.npages;
  }

  /** Takes a free span out of the indexes (its node is removed by the caller). */
  private unindex(s: Span): void {
    this.byStart.delete(s.page);
    this.byEnd.delete(s.page + s.npages - 1);
    this.freePages -= s.npages;
    s.where = 0;
  }

  /** pickFreeSpan: the smaller of the two treaps' finds, the unscavenged one on a tie. */
  private pick(npages: number): Span | null {
    const tf = this.freeTreap.find(npages);
    const ts = this.scavTreap.find(npages);
    let s: Span | null = null;
    if (tf !== null && (ts === null || tf.npages <= ts.npages)) {
      s = tf.span;
      this.freeTreap.erase(tf);
    } else if (ts !== null) {
      s = ts.span;
      this.scavTreap.erase(ts);
    }
    if (s !== null) this.unindex(s);
    return s;
  }

  alloc(npages: number): number {
    let s = this.pick(npages);
    if (s === null) {
      this.grow(npages);
      s = this.pick(npages);
      if (s === null) throw new Error('treap-go1.12: grew heap, but no adequate free span found');
    }
    const wasScavenged = s.npreleased > 0;
    this.releasedBytes -= this.released(s);
    s.npreleased = 0;
    if (s.npages > npages) {
      // Trim the top off; it stays scavenged when it still covers a physical page.
      const tail = new Span(s.page + npages, s.npages - npages);
      tail.unusedSince = s.unusedSince;
      s.npages = npages;
      const [start, end] = this.physBounds(tail.page, tail.npages);
      if (wasScavenged && start < end) {
        tail.npreleased = (end - start) / this.pageBytes;
        this.releasedBytes += end - start;
      }
      // s is not free (mSpanManual in Go), so the tail cannot coalesce with it.
      this.freeSpan(tail);
    }
    this.lastScavengedPages = wasScavenged ? npages : 0;
    return ARENA_BASE + s.page * this.pageBytes;
  }

  free(base: number, npages: number): void {
    const s = new Span((base - ARENA_BASE) / this.pageBytes, npages);
    s.unusedSince = this.clock.now;
    this.freeSpan(s);
  }

  /** freeSpanLocked: coalesce, then insert into the treap of the span's state. */
  private freeSpan(s: Span): void {
    this.coalesce(s);
    this.insert(s);
  }

  private grow(npages: number): void {
    const bytes = Math.ceil((npages * this.pageBytes) / HEAP_ARENA_BYTES) * HEAP_ARENA_BYTES;
    const base = ARENA_BASE + this.heapPages * this.pageBytes;
    checkArenaRange(base, bytes, ADDRESS_SPACE_END, 'past the end of the 48-bit address space');
    this.os.reserve(base, bytes);
    this.os.map(base, bytes);
    // mheap.grow: scavengeLargest(size) before the new span is freed in.
    if (this.onGrow !== undefined) this.onGrow(bytes);
    const s = new Span(this.heapPages, bytes / this.pageBytes);
    s.unusedSince = this.clock.now;
    this.heapPages += s.npages;
    this.freeSpan(s);
  }

  /** Takes a free neighbour out of its treap and the indexes. */
  private removeFree(other: Span): void {
    if (other.where === IN_SCAV) this.scavTreap.remove(other);
    else this.freeTreap.remove(other);
    this.unindex(other);
  }

  /** mheap.coalesce: merge same-state neighbours; re-scavenge the result if either was scavenged. */
  private coalesce(s: Span): void {
    this.ownWork += 2; // the two neighbour lookups (spanOf(base-1), spanOf(end))
    const scavenged = s.npreleased > 0;
    let prescavenged = this.released(s);
    let merged = false;
    const before = this.byEnd.get(s.page - 1);
    if (before !== undefined && before.npreleased > 0 === scavenged) {
      this.removeFree(before);
      prescavenged += this.released(before);
      s.page = before.page;
      s.npages += before.npages;
      merged = true;
    }
    const after = this.byStart.get(s.page + s.npages);
    if (after !== undefined && after.npreleased > 0 === scavenged) {
      this.removeFree(after);
      prescavenged += this.released(after);
      s.npages += after.npages;
      merged = true;
    }
    if (merged && scavenged) {
      this.releasedBytes -= prescavenged;
      s.npreleased = 0;
      this.scavenge(s);
    }
  }

  /** mspan.scavenge: madvise the span's physical pages; returns the bytes, 0 when none. */
  private scavenge(s: Span): number {
    const [start, end] = this.physBounds(s.page, s.npages);
    if (end <= start) return 0;
    this.ownWork++;
    this.os.release(start, end - start);
    this.releasedBytes += end - start;
    s.npreleased = (end - start) / this.pageBytes;
    return end - start;
  }

  /** Scavenges a span of mheap.free (node t), coalesces it and moves it to mheap.scav. */
  private scavengeNode(t: SizeNode): number {
    const s = t.span;
    const r = this.scavenge(s);
    if (r === 0) return 0;
    this.freeTreap.erase(t);
    this.unindex(s);
    this.coalesce(s);
    this.insert(s);
    return r;
  }

  release(nbytes: number): number {
    if (nbytes < 0) return this.releaseIdle(Infinity);
    // scavengeLargest: from the largest span down, until nbytes.
    let released = 0;
    for (let t = this.freeTreap.last(); released < nbytes && t !== null;) {
      const prev = this.freeTreap.prev(t);
      const r = this.scavengeNode(t);
      // The largest span left covers no physical page: nor does any smaller one.
      if (r === 0) break;
      released += r;
      t = prev;
    }
    return released;
  }

  releaseIdle(cutoff: number): number {
    // scavengeAll(now, limit): mheap.free in ascending order. Scavenging a span only
    // merges it with scavenged neighbours, so the spans collected here stay as they are.
    const idle: SizeNode[] = [];
    this.freeTreap.forEachNode((n) => {
      this.ownWork++;
      if (n.span.unusedSince < cutoff) idle.push(n);
    });
    let released = 0;
    for (const n of idle) released += this.scavengeNode(n);
    return released;
  }

  /** Free, unscavenged memory in whole huge pages (what Go 1.13 paces by; a what-if here). */
  unscavengedHugePages(): number {
    let n = 0;
    this.freeTreap.forEachNode((t) => {
      const [start, end] = this.physBounds(t.span.page, t.span.npages);
      const hs = Math.ceil(start / HUGE_PAGE_BYTES) * HUGE_PAGE_BYTES;
      const he = Math.floor(end / HUGE_PAGE_BYTES) * HUGE_PAGE_BYTES;
      if (he > hs) n += (he - hs) / HUGE_PAGE_BYTES;
    });
    return n;
  }

  freeStats(): FreeStats {
    // Adjacent free spans of different state are one run of free pages.
    const spans: Span[] = [];
    this.freeTreap.forEach((s) => spans.push(s));
    this.scavTreap.forEach((s) => spans.push(s));
    spans.sort((a, b) => a.page - b.page);
    let runs = 0;
    let largest = 0;
    let run = 0;
    let runEnd = -1;
    for (const s of spans) {
      if (s.page === runEnd) run += s.npages;
      else {
        runs++;
        run = s.npages;
      }
      runEnd = s.page + s.npages;
      if (run > largest) largest = run;
    }
    return { freePages: this.freePages, freeRuns: runs, largestFreeRunPages: largest };
  }

  shape(): Record<string, number> {
    const f = this.freeTreap.treapShape();
    const s = this.scavTreap.treapShape();
    return {
      freeSpans: this.freeTreap.count,
      scavengedFreeSpans: this.scavTreap.count,
      freeTreapMaxDepth: f.treapMaxDepth,
      scavTreapMaxDepth: s.treapMaxDepth,
    };
  }
}

export const treapGo112Backend: BackendInfo = {
  name: 'treap-go1.12',
  aliases: ['go1.12'],
  goVersion: 'go1.12',
  era: 1.12,
  reserveModes: ['arenas'],
  summary:
    'Go 1.12.0 mheap: free and scavenged (npages, address) treaps, 64 MiB arenas, split tails stay scavenged, scavengeLargest releases whole spans largest first',
  create: (o) => new Go112Heap(o),
};
