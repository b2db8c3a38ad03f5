// Packed summaries: Go 1.19's pallocSum (mpagealloc.go).
//
// A summary describes a region by three counts of free pages: at its start, the
// longest run anywhere, and at its end. Go packs them into one uint64: start in bits
// 0-20, max in 21-41, end in 42-62, and bit 63 alone when max is 2^21 (a root-level
// region wholly free, whose counts do not fit in 21 bits). heapsim keeps exactly that
// word as two 32-bit halves: lo = bits 0-31, hi = bits 32-63 (see bits64.ts).
//
// The radix tree has five levels; level l splits the 48-bit (offset) address space
// into regions of 2^levelShift[l] bytes (16 GiB at the root down to one 4 MiB chunk at
// the leaves), each level an implicit array of summaries, 2^3 children per parent
// (2^14 root entries). Levels are stored sparsely, in pages of 4096 summaries made on
// first write: a summary never written is 0, "no free pages", as in Go's zeroed memory.

export const LOG_MAX_PACKED = 21;
export const MAX_PACKED = 1 << LOG_MAX_PACKED;
const MASK21 = MAX_PACKED - 1;
export const SUMMARY_LEVELS = 5;
export const LEVEL_BITS = [14, 3, 3, 3, 3];
export const LEVEL_SHIFT = [34, 31, 28, 25, 22];
export const LEVEL_LOG_PAGES = [21, 18, 15, 12, 9];

export let packedHi = 0;

/** packPallocSum; the high half is left in packedHi. */
export function pack(start: number, max: number, end: number): number {
  if (max === MAX_PACKED) {
    packedHi = 0x80000000;
    return 0;
  }
  start &= MASK21;
  max &= MASK21;
  end &= MASK21;
  packedHi = ((max >>> 11) | (end << 10)) >>> 0;
  return (start | ((max & 0x7ff) << 21)) >>> 0;
}

export function sumStart(lo: number, hi: number): number {
  return hi & 0x80000000 ? MAX_PACKED : lo & MASK21;
}

export function sumMax(lo: number, hi: number): number {
  return hi & 0x80000000 ? MAX_PACKED : (lo >>> 21) | ((hi & 0x3ff) << 11);
}

export function sumEnd(lo: number, hi: number): number {
  return hi & 0x80000000 ? MAX_PACKED : (hi >>> 10) & MASK21;
}

const PAGE_ENTRIES = 4096;

export class SummaryLevel {
  private readonly pages: (Uint32Array | undefined)[] = [];
  /** Entries written at least once (their 4096-entry pages exist). */
  pagesMade = 0;

  lo(i: number): number {
    const p = this.pages[i >>> 12];
    return p === undefined ? 0 : p[(i & (PAGE_ENTRIES - 1)) << 1];
  }

  hi(i: number): number {
    const p = this.pages[i >>> 12];
    return p === undefined ? 0 : p[((i & (PAGE_ENTRIES - 1)) << 1) | 1];
  }

  set(i: number, lo: number, hi: number): void {
    let p = this.pages[i >>> 12];
    if (p === undefined) {
      if (lo === 0 && hi === 0) return;
      p = new Uint32Array(2 * PAGE_ENTRIES);
      this.pages[i >>> 12] = p;
      this.pagesMade++;
    }
    const k = (i & (PAGE_ENTRIES - 1)) << 1;
    p[k] = lo;
    p[k | 1] = hi;
  }
}

/**
 * mergeSummaries over the 2^3 children [first, first+8) of a level, each covering
 * 2^logMaxPagesPerSum pages; the packed result is returned as (lo, packedHi).
 */
export function mergeChildren(level: SummaryLevel, first: number, count: number, logMaxPagesPerSum: number): number {
  const full = 2 ** logMaxPagesPerSum;
  let lo = level.lo(first);
  let hi = level.hi(first);
  let start = sumStart(lo, hi);
  let max = sumMax(lo, hi);
  let end = sumEnd(lo, hi);
  for (let i = 1; i < count; i++) {
    lo = level.lo(first + i);
    hi = level.hi(first + i);
    const si = sumStart(lo, hi);
    const mi = sumMax(lo, hi);
    const ei = sumEnd(lo, hi);
    if (start === i * full) start += si;
    if (end + si > max) max = end + si;
    if (mi > max) max = mi;
    if (ei === full) end += full;
    else end = ei;
  }
  return pack(start, max, end);
}
