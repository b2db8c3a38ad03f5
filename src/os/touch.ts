// The touch model: which pages of a span the program (and its runtime) write when the
// span is allocated. A trace records spans, not stores, so this is an assumption, and
// the run options `touch` and `writtenPercent` (src/options.ts) name which one a replay
// makes:
//
// - `needzero` (the default): what Go 1.19's runtime writes, and what the program is
//   assumed to write besides:
//   - mheap.allocSpan asks allocNeedsZero whether the span reaches below its heap
//     arena's zeroedBase, the high-water mark of memory ever handed out in that 64 MiB
//     arena (memory above it is fresh from the kernel, hence zero). Such a span gets
//     needzero, and mallocgc clears it before use: a small-object span object by object
//     as they are allocated, a large object whole (at once, or in chunks for noscan
//     objects with delayed zeroing). Either way every page of it is written: the span is
//     touched whole.
//   - A span of fresh memory is not cleared by the runtime, and the kernel maps none of
//     its pages until they are written: the program writes the first writtenPercent of
//     it (100 by default: a program writes the objects it makes), as it fills a
//     small-object span's objects one after another or a large object from its start.
//     Object contents are all a fresh span holds (the heap bitmap, mark bits and span
//     structures live in the arena's metadata), so what the program leaves unwritten
//     stays out of RSS until the span is freed and reused, when needzero writes it.
//     How much a program writes is not in the trace: the share is the model's one free
//     parameter, and `fit` (src/replay/touch-fit.ts) sets it from the recorded
//     residency of a trace with rss rows.
//   zeroedBase is kept per 64 MiB-aligned arena (HEAP_ARENA_BYTES) of the span's
//   address, for every backend: older runtimes tracked needzero per span instead (set on
//   free), which marks the same memory as reused.
// - `all`: every page of a span is written when it is allocated. heapsim's first model;
//   kept so its error against recorded residency can be shown. It makes resident exactly
//   what `needzero` at 100% does (every span written whole), without the arena table.
//
// Invariants: zeroedBase only grows; a span is written whole, or (fresh) from its base up
// to writtenPercent of its bytes rounded up to a heap page; no
// allocation per call (the arena table is a Map from arena index to offset, touched
// once per arena the span crosses).

import { DEFAULTS, type TouchMode } from '../options.js';
import { HEAP_ARENA_BYTES } from '../heap/platform.js';
import type { OsMemory } from './sim-os.js';

export class TouchModel {
  /** Arena index -> offset of its zeroedBase within the arena (bytes). */
  private readonly zeroedBase = new Map<number, number>();

  /** Every span is written whole (`all`, or a program that writes all it allocates): no arena table needed. */
  readonly writesWholeSpans: boolean;

  /**
   * @param mode `all`, or `needzero` (a fitted run passes `needzero` with its fitted share).
   * @param writtenPercent under `needzero`, the share of a fresh span the program writes.
   */
  constructor(
    private readonly os: OsMemory,
    readonly mode: Exclude<TouchMode, 'fit'>,
    private readonly pageBytes: number,
    readonly writtenPercent: number = DEFAULTS.writtenPercent,
  ) {
    this.writesWholeSpans = mode === 'all' || writtenPercent >= 100;
  }

  /** The program allocated the span [base, base + npages*pageBytes): write what the model says. */
  allocated(base: number, npages: number): void {
    const bytes = npages * this.pageBytes;
    if (this.writesWholeSpans) {
      this.os.touch(base, bytes);
      return;
    }
    // needsZero runs first: it must see every allocation to keep zeroedBase.
    if (this.needsZero(base, bytes)) {
      this.os.touch(base, bytes);
      return;
    }
    const written = Math.ceil((npages * this.writtenPercent) / 100) * this.pageBytes;
    if (written > 0) this.os.touch(base, written);
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
