// The touch model: which pages of a span the program (and its runtime) write when the
// span is allocated. A trace records spans, not stores, so this is an assumption, and
// the run option `touch` (src/options.ts) names which one a replay makes:
//
// - `all`: every page of a span is written when it is allocated. heapsim's first model;
//   kept so its error against recorded residency can be shown.
// - `needzero`: what Go 1.19's runtime writes, and no more for large spans:
//   - mheap.allocSpan asks allocNeedsZero whether the span reaches below its heap
//     arena's zeroedBase, the high-water mark of memory ever handed out in that 64 MiB
//     arena (memory above it is fresh from the kernel, hence zero). Such a span gets
//     needzero, and mallocgc clears it before use: a small-object span object by object
//     as they are allocated, a large object whole (at once, or in chunks for noscan
//     objects with delayed zeroing). Either way every page of it is written: the span is
//     touched whole.
//   - A span of fresh memory is not cleared by the runtime. A small-object span (at most
//     SMALL_SPAN_MAX_PAGES pages, the most any Go 1.19 size class uses) is written whole:
//     the program fills its objects one after another. A larger span of fresh memory is
//     left untouched: the pages the program writes into a large object are not in the
//     trace, and the kernel maps none it does not write (its pages stay out of RSS until
//     the span is freed and reused, when needzero writes them).
//   zeroedBase is kept per 64 MiB-aligned arena (HEAP_ARENA_BYTES) of the span's
//   address, for every backend: older runtimes tracked needzero per span instead (set on
//   free), which marks the same memory as reused.
//
// Invariants: zeroedBase only grows; a span is either written whole or not at all; no
// allocation per call (the arena table is a Map from arena index to offset, touched
// once per arena the span crosses).

import type { TouchMode } from '../options.js';
import { HEAP_ARENA_BYTES } from '../heap/platform.js';
import type { OsMemory } from './sim-os.js';

/**
 * The most runtime pages a Go 1.19 small-object span has (class_to_allocnpages,
 * sizeclasses.go: 10, for the 27264-byte class). Larger spans hold one large object
 * (or a stack); spans of 5 to 10 pages may be either, and are treated as small.
 */
export const SMALL_SPAN_MAX_PAGES = 10;

export class TouchModel {
  /** Arena index -> offset of its zeroedBase within the arena (bytes). */
  private readonly zeroedBase = new Map<number, number>();

  constructor(
    private readonly os: OsMemory,
    readonly mode: TouchMode,
    private readonly pageBytes: number,
  ) {}

  /** The program allocated the span [base, base + npages*pageBytes): write what the model says. */
  allocated(base: number, npages: number): void {
    const bytes = npages * this.pageBytes;
    if (this.mode === 'all') {
      this.os.touch(base, bytes);
      return;
    }
    // needsZero runs first: it must see every allocation to keep zeroedBase.
    if (this.needsZero(base, bytes) || npages <= SMALL_SPAN_MAX_PAGES) this.os.touch(base, bytes);
  }

  /** allocNeedsZero: whether [base, base+bytes) reaches below a zeroedBase; raises them past it. */
  needsZero(base: number, bytes: number): boolean {
    let needZero = false;
    let at = base;
    const end = base + bytes;
    while (at < end) {
      const arena = Math.floor(at / HEAP_ARENA_BYTES);
      const arenaStart = arena * HEAP_ARENA_BYTES;
      const offset = at - arenaStart;
      const limit = Math.min(end - arenaStart, HEAP_ARENA_BYTES);
      const zeroed = this.zeroedBase.get(arena) ?? 0;
      if (offset < zeroed) needZero = true;
      if (limit > zeroed) this.zeroedBase.set(arena, limit);
      at = arenaStart + limit;
    }
    return needZero;
  }
}
