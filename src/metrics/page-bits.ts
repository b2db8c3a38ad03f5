// A sparse set of runtime pages: one bit per page, in one bitmap per 64 MiB block of
// address space, created when a page of the block is first set. The gap meter keeps the
// live spans' pages in one (and the pages ever in a live span in another): setting or
// clearing a span touches the words it covers, O(1) for the usual span of a few pages,
// with no allocation once its block exists.
//
// Page p (an address / page size) lives in block floor(p / pagesPerBlock), word
// (p % pagesPerBlock) >> 5, bit p & 31. A block with no bitmap reads as all clear; a
// block set whole shares one read-only all-ones bitmap (`full`), copied on its first
// partial change, so a span of terabytes costs a map entry per block, not its bits.

import { ctz32, popcount32 } from '../heap/bitmap/bits64.js';

export class PageBits {
  private readonly blocks = new Map<number, Uint32Array>();
  private lastBlock = -1;
  private lastWords: Uint32Array | undefined;
  private readonly wordsPerBlock: number;
  /** Every block set whole: never written (writable() copies it first). */
  private readonly full: Uint32Array;

  /** pagesPerBlock is a multiple of 32 (64 MiB over a power-of-two page size of at most 2 MiB). */
  constructor(readonly pagesPerBlock: number) {
    this.wordsPerBlock = pagesPerBlock >>> 5;
    this.full = new Uint32Array(this.wordsPerBlock).fill(0xffffffff);
  }

  /** The block's words to change, created when `create`, a private copy when it was full. */
  private writable(block: number, create: boolean): Uint32Array | undefined {
    const w = this.words(block, create);
    if (w !== this.full) return w;
    const copy = this.full.slice();
    this.blocks.set(block, copy);
    this.lastWords = copy;
    return copy;
  }

  /** The block's words, created on demand when `create`. */
  private words(block: number, create: boolean): Uint32Array | undefined {
    if (block === this.lastBlock) return this.lastWords;
    let w = this.blocks.get(block);
    if (w === undefined) {
      if (!create) return undefined;
      w = new Uint32Array(this.wordsPerBlock);
      this.blocks.set(block, w);
    }
    this.lastBlock = block;
    this.lastWords = w;
    return w;
  }

  /** Sets (on) or clears pages [from, to). */
  setRange(from: number, to: number, on: boolean): void {
    const ppb = this.pagesPerBlock;
    for (let p = from; p < to;) {
      const block = Math.floor(p / ppb);
      const base = block * ppb;
      const end = Math.min(to, base + ppb);
      if (p === base && end === base + ppb) this.setBlock(block, on);
      else {
        const w = this.writable(block, on);
        if (w !== undefined) setBits(w, p - base, end - base, on);
      }
      p = end;
    }
  }

  /** A whole block set (the shared full bitmap) or cleared (no bitmap). */
  private setBlock(block: number, on: boolean): void {
    if (on) this.blocks.set(block, this.full);
    else this.blocks.delete(block);
    if (block === this.lastBlock) {
      this.lastBlock = -1;
      this.lastWords = undefined;
    }
  }

  get(p: number): boolean {
    const block = Math.floor(p / this.pagesPerBlock);
    const w = this.words(block, false);
    if (w === undefined) return false;
    const i = p - block * this.pagesPerBlock;
    return ((w[i >>> 5] >>> (i & 31)) & 1) === 1;
  }

  /** Set pages in [from, to). */
  count(from: number, to: number): number {
    let n = 0;
    const ppb = this.pagesPerBlock;
    for (let p = from; p < to;) {
      const block = Math.floor(p / ppb);
      const end = Math.min(to, (block + 1) * ppb);
      const w = this.words(block, false);
      if (w !== undefined) n += countBits(w, p - block * ppb, end - block * ppb);
      p = end;
    }
    return n;
  }

  /** The last set page in [low, from); low - 1 when there is none. */
  prevSet(from: number, low: number): number {
    const ppb = this.pagesPerBlock;
    for (let p = from; p > low;) {
      const block = Math.floor((p - 1) / ppb);
      const start = Math.max(low, block * ppb);
      const w = this.words(block, false);
      if (w !== undefined) {
        const found = lastSet(w, start - block * ppb, p - block * ppb);
        if (found >= 0) return block * ppb + found;
      }
      p = start;
    }
    return low - 1;
  }

  /** The first page in [from, limit) whose bit is not `bit`; limit when there is none. */
  nextChange(from: number, bit: boolean, limit: number): number {
    const ppb = this.pagesPerBlock;
    for (let p = from; p < limit;) {
      const block = Math.floor(p / ppb);
      const end = Math.min(limit, (block + 1) * ppb);
      const w = this.words(block, false);
      if (w === undefined) {
        if (bit) return p;
        p = end;
        continue;
      }
      const base = block * ppb;
      const found = firstOther(w, p - base, end - base, bit);
      if (found >= 0) return base + found;
      p = end;
    }
    return limit;
  }
}

function setBits(w: Uint32Array, from: number, to: number, on: boolean): void {
  for (let i = from; i < to;) {
    const word = i >>> 5;
    const lo = i & 31;
    const hi = Math.min(32, lo + (to - i));
    const mask = hi - lo === 32 ? 0xffffffff : ((1 << (hi - lo)) - 1) << lo;
    w[word] = on ? w[word] | mask : w[word] & ~mask;
    i += hi - lo;
  }
}

function countBits(w: Uint32Array, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to;) {
    const word = i >>> 5;
    const lo = i & 31;
    const hi = Math.min(32, lo + (to - i));
    const mask = hi - lo === 32 ? 0xffffffff : ((1 << (hi - lo)) - 1) << lo;
    n += popcount32((w[word] & mask) >>> 0);
    i += hi - lo;
  }
  return n;
}

/** The first index in [from, to) whose bit is not `bit`, or -1. */
function firstOther(w: Uint32Array, from: number, to: number, bit: boolean): number {
  for (let i = from; i < to;) {
    const word = i >>> 5;
    const lo = i & 31;
    const x = ((bit ? ~w[word] : w[word]) >>> lo) >>> 0;
    if (x !== 0) {
      const at = i + ctz32(x);
      return at < to ? at : -1;
    }
    i += 32 - lo;
  }
  return -1;
}

/** The last set index in [from, to), or -1. */
function lastSet(w: Uint32Array, from: number, to: number): number {
  for (let i = to; i > from;) {
    const word = (i - 1) >>> 5;
    const base = word * 32;
    const lo = Math.max(from, base) - base;
    const hi = i - base;
    const mask = (hi === 32 ? 0xffffffff : (1 << hi) - 1) & ~((1 << lo) - 1);
    const x = (w[word] & mask) >>> 0;
    if (x !== 0) return base + 31 - Math.clz32(x);
    i = base + lo;
  }
  return -1;
}
