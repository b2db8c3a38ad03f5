// The simulated operating system: the one owner of memory truth.
//
// It knows nothing of allocators. Backends reserve address space, map (commit) it,
// release pages with madvise and unmap; the replay engine touches what the program
// writes. From those calls alone it derives RSS, VSIZE, committed bytes, page faults and
// re-faults, the way a Linux kernel would:
//
// - A 48-bit virtual address space. `reserve` is mmap(PROT_NONE): address space, no
//   memory. `map` makes a range accessible (mmap, or mprotect of a reservation); its
//   pages are not resident until written.
// - `touch` writes a range: every physical page it covers that is not resident faults
//   in (one page fault each). A fault on a page that was resident and then released is
//   also a re-fault: the cost of scavenging memory the program needed again.
// - `release` is madvise(MADV_DONTNEED): like the kernel it refuses a start address that
//   is not physical-page aligned (EINVAL, nothing released) and rounds the length up to
//   whole physical pages. A runtime that wants to release part of a physical page must
//   round in itself, as Go does; the OS never rounds silently in its favour.
// - With `madvise: 'free'` (MADV_FREE, what Go 1.12-1.15 used on Linux), a release only
//   marks resident pages lazily freed: they stay in RSS, and a write takes them back
//   without a fault, until the kernel reclaims them under memory pressure — which this
//   model never applies. RSS is reported with and without them (Go issue 36398).
// - RLIMIT_AS (`ulimitVBytes`) bounds VSIZE, reservations included (seed 004): a
//   reserve or map that would pass it fails with AddressSpaceLimitError.
//
// Residency is tracked in sparse blocks of BLOCK_PAGES physical pages, each a pair of
// bitmaps (resident; released-since-resident), created on first touch. Simulator memory
// therefore grows with memory touched, not with address space: a 1 TiB heap that was
// reserved but not written costs nothing, and fully written costs ~80 bytes per 4 MiB.

import { MAPPED, RESERVED, RegionMap, UNMAPPED } from './regions.js';


/** Physical pages per residency block: 32 words of 32 bits. */
const BLOCK_PAGES = 1024;
const BLOCK_WORDS = BLOCK_PAGES / 32;
/** Top of a 48-bit user address space. */
export const ADDRESS_SPACE_END = 2 ** 48;

export interface OsOptions {
  /** Physical (kernel) page size in bytes: 4096, 16384 or 65536. */
  physPageBytes?: number;
  /** RLIMIT_AS in bytes; Infinity for none. */
  ulimitVBytes?: number;
  /** What release does: MADV_DONTNEED (drop now) or MADV_FREE (drop lazily). */
  madvise?: 'dontneed' | 'free';
  /** Transparent huge pages (/sys/kernel/mm/transparent_hugepage/enabled); default never. */
  thp?: ThpMode;
}

/**
 * THP: `always` backs any suitable anonymous range with huge pages unless it was marked
 * MADV_NOHUGEPAGE; `madvise` only ranges marked MADV_HUGEPAGE; `never` none. `madvise` is
 * what Debian 12 (this project's CI machine) and recent Ubuntu report; RHEL is commonly
 * documented as `always`. The model: the first write into a 2 MiB-aligned range that is
 * wholly mapped, eligible and has no resident page maps all of it (one fault, 2 MiB of
 * RSS); releasing part of a huge page splits it (only the released pages leave RSS).
 * khugepaged's later collapsing of partly resident ranges is not modelled.
 */
export type ThpMode = 'never' | 'madvise' | 'always';
/** The x86-64 transparent huge page: 2 MiB (512 pages of 4 KiB). */
export const THP_BYTES = 2 << 20;
const ADVICE_HUGE = 1;
const ADVICE_NOHUGE = 2;

/** A reserve or map that RLIMIT_AS refused: the simulated program is out of memory. */
export class AddressSpaceLimitError extends Error {
  constructor(
    readonly requestedBytes: number,
    readonly vsizeBytes: number,
    readonly limitBytes: number,
  ) {
    super(`address space limit (ulimit -v ${limitBytes} bytes) reached: VSIZE ${vsizeBytes} bytes + ${requestedBytes} requested`);
    this.name = 'AddressSpaceLimitError';
  }
}

/** The narrow interface backends see. Addresses and lengths are bytes. */
export interface OsMemory {
  readonly physPageBytes: number;
  readonly thp: ThpMode;
  reserve(base: number, bytes: number): void;
  map(base: number, bytes: number): void;
  /** mmap(NULL, ...): the kernel picks the address (top-down below the mmap base). */
  mmapAnywhere(bytes: number, reserveOnly: boolean): number;
  touch(base: number, bytes: number): number;
  release(base: number, bytes: number): number;
  unmap(base: number, bytes: number): void;
  /** madvise(MADV_HUGEPAGE) when huge, else MADV_NOHUGEPAGE, on [base, base+bytes). */
  adviseHuge(base: number, bytes: number, huge: boolean): void;
}

/** Where the simulated kernel starts placing mmap(NULL) mappings, going down. */
export const MMAP_BASE = 0x7f0000000000;

export interface OsStats {
  rssBytes: number;
  vsizeBytes: number;
  committedBytes: number;
  reservedBytes: number;
  mmapCalls: number;
  madviseCalls: number;
  madviseFailed: number;
  munmapCalls: number;
  releasedBytes: number;
  pageFaults: number;
  refaults: number;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Bits [lo, hi) of a 32-bit word, 0 <= lo < hi <= 32. */
function bitRange(lo: number, hi: number): number {
  const upper = hi === 32 ? 0xffffffff : (1 << hi) - 1;
  return (upper & ~((1 << lo) - 1)) >>> 0;
}

export class SimOS implements OsMemory {
  readonly physPageBytes: number;
  readonly ulimitVBytes: number;
  readonly madvise: 'dontneed' | 'free';

  /** Resident physical pages (the truth behind rssBytes), lazily freed ones included. */
  residentPages = 0;
  /** Resident pages released with MADV_FREE and not written since. */
  lazyFreePages = 0;
  mmapCalls = 0;
  madviseCalls = 0;
  madviseFailed = 0;
  munmapCalls = 0;
  releasedBytes = 0;
  pageFaults = 0;
  /** Faults that mapped a whole transparent huge page (counted in pageFaults too). */
  hugeFaults = 0;
  refaults = 0;
  vsizeBytes = 0;
  readonly thp: ThpMode;
  /** Per 2 MiB huge page: the last MADV_(NO)HUGEPAGE advice covering it. */
  private readonly hugeAdvice = new Map<number, number>();
  committedBytes = 0;

  private readonly regions = new RegionMap();
  /** block index -> [resident words | released words]. */
  private readonly blocks = new Map<number, Uint32Array>();
  private lastMapStart = 0;
  private lastMapEnd = 0;
  private mmapNext = MMAP_BASE;

  constructor(options: OsOptions = {}) {
    this.physPageBytes = options.physPageBytes ?? 4096;
    const p = this.physPageBytes;
    if (!Number.isInteger(p) || p < 4096 || (p & (p - 1)) !== 0) {
      throw new RangeError(`physical page size must be a power of two >= 4096, got ${p}`);
    }
    this.ulimitVBytes = options.ulimitVBytes ?? Infinity;
    this.madvise = options.madvise ?? 'dontneed';
    this.thp = options.thp ?? 'never';
    if (this.thp !== 'never' && p !== 4096) throw new RangeError(`transparent huge pages are modelled with 4 KiB pages only, not ${p}`);
  }

  adviseHuge(base: number, bytes: number, huge: boolean): void {
    if (bytes <= 0) return;
    this.madviseCalls++;
    // The flag is per VMA; a huge page can only be used when all of it carries it, so
    // MADV_HUGEPAGE counts for the huge pages it covers whole, MADV_NOHUGEPAGE for every
    // huge page it touches.
    const first = huge ? Math.ceil(base / THP_BYTES) : Math.floor(base / THP_BYTES);
    const end = huge ? Math.floor((base + bytes) / THP_BYTES) : Math.ceil((base + bytes) / THP_BYTES);
    for (let h = first; h < end; h++) this.hugeAdvice.set(h, huge ? ADVICE_HUGE : ADVICE_NOHUGE);
  }

  /** Whether a fault in huge page h may map all of it (THP mode, advice, whole range mapped, none resident). */
  private hugeFaultable(h: number): boolean {
    const advice = this.hugeAdvice.get(h);
    if (this.thp === 'always' ? advice === ADVICE_NOHUGE : advice !== ADVICE_HUGE) return false;
    const start = h * THP_BYTES;
    return this.regions.covers(start, start + THP_BYTES, MAPPED) && this.residentBytesIn(start, THP_BYTES) === 0;
  }

  /** A huge page fault: every page of huge page h becomes resident at once. */
  private hugeFault(h: number): void {
    const start = h * THP_BYTES;
    const pages = THP_BYTES / this.physPageBytes;
    let refaults = 0;
    this.eachWord(start, THP_BYTES, true, (block, w, mask) => {
      const again = mask & block[BLOCK_WORDS + w];
      if (again !== 0) {
        refaults += popcount(again);
        block[BLOCK_WORDS + w] &= ~again;
      }
      block[w] |= mask;
    });
    this.residentPages += pages;
    this.pageFaults++;
    this.hugeFaults++;
    this.refaults += refaults > 0 ? 1 : 0;
  }

  get lazyFreeBytes(): number {
    return this.lazyFreePages * this.physPageBytes;
  }

  get rssBytes(): number {
    return this.residentPages * this.physPageBytes;
  }

  get reservedBytes(): number {
    return this.regions.bytesIn(RESERVED);
  }

  stats(): OsStats {
    return {
      rssBytes: this.rssBytes,
      vsizeBytes: this.vsizeBytes,
      committedBytes: this.committedBytes,
      reservedBytes: this.reservedBytes,
      mmapCalls: this.mmapCalls,
      madviseCalls: this.madviseCalls,
      madviseFailed: this.madviseFailed,
      munmapCalls: this.munmapCalls,
      releasedBytes: this.releasedBytes,
      pageFaults: this.pageFaults,
      refaults: this.refaults,
    };
  }

  private checkRange(base: number, bytes: number, what: string): void {
    if (!(bytes > 0) || base < 0 || base + bytes > ADDRESS_SPACE_END || base % this.physPageBytes !== 0) {
      throw new RangeError(`${what}(0x${base.toString(16)}, ${bytes}): not a page-aligned range in the 48-bit address space`);
    }
  }

  private growVsize(newBytes: number): void {
    if (this.vsizeBytes + newBytes > this.ulimitVBytes) {
      throw new AddressSpaceLimitError(newBytes, this.vsizeBytes, this.ulimitVBytes);
    }
  }

  private recount(): void {
    this.committedBytes = this.regions.bytesIn(MAPPED);
    this.vsizeBytes = this.committedBytes + this.regions.bytesIn(RESERVED);
    this.lastMapStart = this.lastMapEnd = 0;
  }

  /** mmap(PROT_NONE) of [base, base+bytes): address space only. */
  reserve(base: number, bytes: number): void {
    this.checkRange(base, bytes, 'reserve');
    if (this.regions.unmappedBytes(base, base + bytes) !== bytes) {
      throw new Error(`reserve(0x${base.toString(16)}, ${bytes}): range overlaps an existing mapping`);
    }
    this.growVsize(bytes);
    this.mmapCalls++;
    this.regions.set(base, base + bytes, RESERVED);
    this.recount();
  }

  /** Makes [base, base+bytes) accessible: mprotect of a reservation or a fresh mmap. */
  map(base: number, bytes: number): void {
    this.checkRange(base, bytes, 'map');
    this.growVsize(this.regions.unmappedBytes(base, base + bytes));
    this.mmapCalls++;
    this.regions.set(base, base + bytes, MAPPED);
    this.recount();
  }

  mmapAnywhere(bytes: number, reserveOnly: boolean): number {
    const len = Math.ceil(bytes / this.physPageBytes) * this.physPageBytes;
    const base = this.mmapNext - len;
    if (reserveOnly) this.reserve(base, len);
    else this.map(base, len);
    this.mmapNext = base;
    return base;
  }

  /** munmap: the range is gone, and so are its resident pages. */
  unmap(base: number, bytes: number): void {
    this.checkRange(base, bytes, 'unmap');
    this.munmapCalls++;
    this.dropPages(base, bytes, false);
    this.regions.set(base, base + bytes, UNMAPPED);
    this.recount();
  }

  /** The program writes [base, base+bytes). Returns the page faults it took. */
  touch(base: number, bytes: number): number {
    if (bytes <= 0) return 0;
    const end = base + bytes;
    if (base < this.lastMapStart || end > this.lastMapEnd) {
      if (!this.regions.covers(base, end, MAPPED)) {
        throw new Error(`touch(0x${base.toString(16)}, ${bytes}): segmentation fault: range is not mapped`);
      }
      for (const r of this.regions.list()) {
        if (r.start <= base && end <= r.end) {
          this.lastMapStart = r.start;
          this.lastMapEnd = r.end;
        }
      }
    }
    let hugeFaults = 0;
    if (this.thp !== 'never') {
      // A first write into an empty, eligible huge page maps all 2 MiB of it.
      for (let h = Math.floor(base / THP_BYTES); h * THP_BYTES < end; h++) {
        if (this.hugeFaultable(h)) {
          this.hugeFault(h);
          hugeFaults++;
        }
      }
    }
    const first = Math.floor(base / this.physPageBytes);
    const last = Math.floor((end - 1) / this.physPageBytes);
    let faults = 0;
    let refaults = 0;
    for (let page = first; page <= last; ) {
      const blockIndex = Math.floor(page / BLOCK_PAGES);
      let block = this.blocks.get(blockIndex);
      if (block === undefined) {
        block = new Uint32Array(3 * BLOCK_WORDS);
        this.blocks.set(blockIndex, block);
      }
      const blockBase = blockIndex * BLOCK_PAGES;
      const stop = Math.min(last + 1, blockBase + BLOCK_PAGES);
      for (let i = page - blockBase; i < stop - blockBase; ) {
        const w = i >>> 5;
        const lo = i & 31;
        const hi = Math.min(32, lo + (stop - blockBase - i));
        const mask = bitRange(lo, hi);
        const lazy = mask & block[2 * BLOCK_WORDS + w];
        if (lazy !== 0) {
          // Written before the kernel reclaimed it: the MADV_FREE is cancelled, no fault.
          this.lazyFreePages -= popcount(lazy);
          block[2 * BLOCK_WORDS + w] &= ~lazy;
        }
        const fresh = mask & ~block[w];
        if (fresh !== 0) {
          faults += popcount(fresh);
          const again = fresh & block[BLOCK_WORDS + w];
          if (again !== 0) {
            refaults += popcount(again);
            block[BLOCK_WORDS + w] &= ~again;
          }
          block[w] |= fresh;
        }
        i += hi - lo;
      }
      page = stop;
    }
    this.residentPages += faults;
    this.pageFaults += faults;
    this.refaults += refaults;
    return faults + hugeFaults;
  }

  /**
   * madvise(MADV_DONTNEED). Returns the bytes the kernel dropped from the address range
   * (whole physical pages, whether resident or not); 0 for a misaligned start (EINVAL).
   */
  release(base: number, bytes: number): number {
    this.madviseCalls++;
    if (base % this.physPageBytes !== 0 || bytes <= 0 || !this.regions.covers(base, base + bytes, MAPPED)) {
      this.madviseFailed++;
      return 0;
    }
    const len = Math.ceil(bytes / this.physPageBytes) * this.physPageBytes;
    if (this.madvise === 'free') this.markLazy(base, len);
    else this.dropPages(base, len, true);
    this.releasedBytes += len;
    return len;
  }

  /** MADV_FREE: resident pages of the range become lazily freed (still resident). */
  private markLazy(base: number, bytes: number): void {
    this.eachWord(base, bytes, false, (block, w, mask) => {
      const newly = mask & block[w] & ~block[2 * BLOCK_WORDS + w];
      if (newly !== 0) {
        this.lazyFreePages += popcount(newly);
        block[2 * BLOCK_WORDS + w] |= newly;
      }
    });
  }

  /**
   * Calls fn for every residency word that [base, base+bytes) covers (in existing blocks,
   * or in all when `create`), with the mask of the range's bits in it; then frees blocks
   * left empty.
   */
  private eachWord(base: number, bytes: number, create: boolean, fn: (block: Uint32Array, w: number, mask: number) => void): void {
    const first = Math.floor(base / this.physPageBytes);
    const last = Math.floor((base + bytes - 1) / this.physPageBytes);
    for (let page = first; page <= last; ) {
      const blockIndex = Math.floor(page / BLOCK_PAGES);
      const blockBase = blockIndex * BLOCK_PAGES;
      const stop = Math.min(last + 1, blockBase + BLOCK_PAGES);
      let block = this.blocks.get(blockIndex);
      if (block === undefined && create) {
        block = new Uint32Array(3 * BLOCK_WORDS);
        this.blocks.set(blockIndex, block);
      }
      if (block !== undefined) {
        for (let i = page - blockBase; i < stop - blockBase; ) {
          const lo = i & 31;
          const hi = Math.min(32, lo + (stop - blockBase - i));
          fn(block, i >>> 5, bitRange(lo, hi));
          i += hi - lo;
        }
        let any = 0;
        for (let w = 0; w < 3 * BLOCK_WORDS; w++) any |= block[w];
        if (any === 0) this.blocks.delete(blockIndex);
      }
      page = stop;
    }
  }

  /** Clears residency of [base, base+bytes); marks dropped pages released if asked. */
  private dropPages(base: number, bytes: number, markReleased: boolean): void {
    let dropped = 0;
    this.eachWord(base, bytes, false, (block, w, mask) => {
      const gone = mask & block[w];
      if (gone !== 0) {
        dropped += popcount(gone);
        const lazy = gone & block[2 * BLOCK_WORDS + w];
        if (lazy !== 0) {
          this.lazyFreePages -= popcount(lazy);
          block[2 * BLOCK_WORDS + w] &= ~lazy;
        }
        block[w] &= ~gone;
      }
      // A released page is one dropped from residency; unmapping forgets the history.
      if (markReleased) block[BLOCK_WORDS + w] |= gone;
      else block[BLOCK_WORDS + w] &= ~mask;
    });
    this.residentPages -= dropped;
  }

  /** Resident bytes within [base, base+bytes) (tests and diagnostics). */
  residentBytesIn(base: number, bytes: number): number {
    const first = Math.floor(base / this.physPageBytes);
    const last = Math.floor((base + bytes - 1) / this.physPageBytes);
    let n = 0;
    for (let page = first; page <= last; page++) {
      const block = this.blocks.get(Math.floor(page / BLOCK_PAGES));
      if (block === undefined) continue;
      const i = page % BLOCK_PAGES;
      if ((block[i >>> 5] >>> (i & 31)) & 1) n++;
    }
    return n * this.physPageBytes;
  }

  /** Bytes the simulator itself holds for residency tracking (for the 1 TiB check). */
  get trackingBytes(): number {
    return this.blocks.size * (3 * BLOCK_WORDS * 4 + 64);
  }
}
