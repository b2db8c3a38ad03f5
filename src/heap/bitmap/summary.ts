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
// (2^14 root entries). A level is stored densely over the window of indices written so
// far; a summary never written is 0, "no free pages", as in Go's zeroed memory.

const LOG_MAX_PACKED = 21;
export const MAX_PACKED = 1 << LOG_MAX_PACKED;
const MASK21 = MAX_PACKED - 1;
export const SUMMARY_LEVELS = 5;
export const LEVEL_BITS = [14, 3, 3, 3, 3];
export const LEVEL_SHIFT = [34, 31, 28, 25, 22];
const LEVEL_LOG_PAGES = [21, 18, 15, 12, 9];
/** 2^LEVEL_SHIFT[l]: bytes of address space per summary at level l. */
export const LEVEL_SCALE = LEVEL_SHIFT.map((s) => 2 ** s);
/** 2^LEVEL_LOG_PAGES[l]: pages per summary at level l. */
export const LEVEL_PAGES = LEVEL_LOG_PAGES.map((s) => 2 ** s);

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

export function sumEnd(_lo: number, hi: number): number {
  return hi & 0x80000000 ? MAX_PACKED : (hi >>> 10) & MASK21;
}

/** Growth granule of a level's window, in entries. */
const WINDOW_ALIGN = 4096;

/**
 * One level of summaries, stored densely over the window of indices written so far
 * (Go's arena hints keep the heap contiguous, so the window is the heap's extent) and
 * read as 0 outside it. The window at least doubles when it widens, so growing a heap
 * chunk by chunk copies O(entries) in all, not O(entries^2), and holds at most about
 * twice the heap's extent (leaves: 8 bytes per 4 MiB chunk, 64 MiB for a 16 TiB heap).
 */
export class SummaryLevel {
  words = new Uint32Array(0);
  /** Index of the first entry in `words`. */
  first = 0;
  /** Entries in the window. */
  count = 0;
  /** High half of the last read(). */
  readHi = 0;

  /** The summary at i: returns the low half, leaves the high half in readHi. */
  read(i: number): number {
    const k = i - this.first;
    if (k < 0 || k >= this.count) {
      this.readHi = 0;
      return 0;
    }
    this.readHi = this.words[2 * k + 1];
    return this.words[2 * k];
  }

  set(i: number, lo: number, hi: number): void {
    let k = i - this.first;
    if (k < 0 || k >= this.count) {
      if (lo === 0 && hi === 0) return;
      this.widen(i);
      k = i - this.first;
    }
    this.words[2 * k] = lo;
    this.words[2 * k + 1] = hi;
  }

  /** set(i, lo, hi) for every i in [first, end). */
  fill(first: number, end: number, lo: number, hi: number): void {
    if (lo === 0 && hi === 0) {
      // Entries outside the window already read 0.
      first = Math.max(first, this.first);
      end = Math.min(end, this.first + this.count);
      if (end <= first) return;
    } else {
      this.set(first, lo, hi);
      this.set(end - 1, lo, hi);
    }
    for (let k = first - this.first; k < end - this.first; k++) {
      this.words[2 * k] = lo;
      this.words[2 * k + 1] = hi;
    }
  }

  private widen(i: number): void {
    let lo = Math.floor((this.count === 0 ? i : Math.min(i, this.first)) / WINDOW_ALIGN) * WINDOW_ALIGN;
    let hi = Math.ceil((this.count === 0 ? i + 1 : Math.max(i + 1, this.first + this.count)) / WINDOW_ALIGN) * WINDOW_ALIGN;
    // Double on the side that grows.
    if (this.count > 0 && i >= this.first) hi = Math.max(hi, this.first + 2 * this.count);
    if (this.count > 0 && i < this.first) lo = Math.max(0, Math.min(lo, this.first - this.count));
    const words = new Uint32Array(2 * (hi - lo));
    if (this.count > 0) words.set(this.words, 2 * (this.first - lo));
    this.words = words;
    this.first = lo;
    this.count = hi - lo;
  }
}

/**
 * mergeSummaries over the 2^3 children [first, first+8) of a level, each covering
 * `full` (2^logMaxPagesPerSum) pages; the packed result is returned as (lo, packedHi).
 */
export function mergeChildren(level: SummaryLevel, first: number, count: number, full: number): number {
  let start = 0;
  let max = 0;
  let end = 0;
  const words = level.words;
  const base = first - level.first;
  const inWindow = base >= 0 && base + count <= level.count;
  for (let i = 0; i < count; i++) {
    let lo: number;
    let hi: number;
    if (inWindow) {
      lo = words[2 * (base + i)];
      hi = words[2 * (base + i) + 1];
    } else {
      lo = level.read(first + i);
      hi = level.readHi;
    }
    let si: number;
    let mi: number;
    let ei: number;
    if (hi & 0x80000000) {
      si = mi = ei = MAX_PACKED;
    } else {
      si = lo & MASK21;
      mi = (lo >>> 21) | ((hi & 0x3ff) << 11);
      ei = (hi >>> 10) & MASK21;
    }
    if (i === 0) {
      start = si;
      max = mi;
      end = ei;
      continue;
    }
    if (start === i * full) start += si;
    if (end + si > max) max = end + si;
    if (mi > max) max = mi;
    if (ei === full) end += full;
    else end = ei;
  }
  return pack(start, max, end);
}
