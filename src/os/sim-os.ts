// The simulated operating system: the one owner of memory truth.
//
// It knows nothing of allocators. Backends reserve address space, map (commit) it,
// release pages with madvise and unmap; the replay engine touches what the program
// writes. From those calls alone it derives RSS, VSIZE, committed bytes, page faults and
// re-faults, the way a Linux kernel would:
//
// - A 48-bit virtual address space. `reserve` is mmap(PROT_NONE): address space, no
//   memory. `map` makes a range accessible (mmap, or mprotect of a reservation); its
//   pages are not resident until written. A reserve or map that would end past the top
//   of the address space fails with AddressSpaceExhaustedError, as mmap fails ENOMEM.
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
// - RLIMIT_AS (`ulimitVBytes`) bounds VSIZE, reservations included: a reserve or map
//   that would pass it fails with AddressSpaceLimitError. That reservations count is
//   what broke Go in 2011 (the golang-dev mail "mmap fiasco": the runtime reserved its
//   whole arena up front, and users running under `ulimit -v` could not start).
// - Both refusals are SimulatedOomError: the simulated program ran out of memory, an
//   outcome to report. A misaligned or negative range is a backend bug (RangeError).
//
// Residency is one state per physical page — absent, released (absent, and resident
// since it was last mapped: faulting it again is a re-fault), resident, or lazily freed
// (resident, MADV_FREE'd, not written since) — kept as runs of equal state in a RunMap
// (run-map.ts); THP advice is one state per 2 MiB huge page in another. Every operation
// edits runs, never pages, so simulator time and memory follow the number of calls and
// how fragmented residency is, not the bytes simulated: writing 16 TiB costs what
// writing 4 KiB costs. docs/os-model.md gives the figures.

import { DEFAULTS, type MadviseMode, type ThpMode } from '../options.js';
import { MAPPED, RESERVED, RegionMap, UNMAPPED } from './regions.js';
import { RunMap } from './run-map.js';

/** Top of a 48-bit user address space. */
export const ADDRESS_SPACE_END = 2 ** 48;

export interface OsOptions {
  /** Physical (kernel) page size in bytes: 4096, 16384 or 65536. */
  physPageBytes?: number;
  /** RLIMIT_AS in bytes; Infinity for none. */
  ulimitVBytes?: number;
  /** What release does: MADV_DONTNEED (drop now) or MADV_FREE (drop lazily). */
  madvise?: MadviseMode;
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
 * The kernel faults a huge page only where the PMD is empty: no page table yet. So each
 * huge page carries a PMD state: empty, a page table (some 4 KiB page was faulted there,
 * or a huge page was split), or a huge mapping. A 4 KiB fault gives an empty PMD a page
 * table; a release or unmap covering a huge page whole empties its PMD (a huge mapping is
 * zapped whole; a page table is freed by CONFIG_PT_RECLAIM, Linux 6.14+, when a
 * MADV_DONTNEED of 2 MiB or more empties it, and by munmap); one covering part of a huge
 * mapping splits it into a page table. A huge page released only piecewise keeps its
 * table, and refills by 4 KiB pages. MADV_FREE of a whole huge page leaves it mapped.
 * khugepaged's later collapsing of partly resident ranges is not modelled
 * (docs/os-model.md: it scans 16 MiB per 10 s by default).
 */
export type { ThpMode };
/** The x86-64 transparent huge page: 2 MiB (512 pages of 4 KiB). */
export const THP_BYTES = 2 << 20;

// Huge page advice states (the advice RunMap); huge pages never advised are NO_ADVICE.
const NO_ADVICE = 0;
const ADVICE_HUGE = 1;
const ADVICE_NOHUGE = 2;
const TO_HUGE = Uint8Array.of(ADVICE_HUGE, ADVICE_HUGE, ADVICE_HUGE);
const TO_NOHUGE = Uint8Array.of(ADVICE_NOHUGE, ADVICE_NOHUGE, ADVICE_NOHUGE);

// PMD states (the pmd RunMap, kept only with THP on), per huge page.
/** No page table: a fault here may map a huge page. */
const PMD_EMPTY = 0;
/** A page table of 4 KiB entries. */
const PMD_TABLE = 1;
/** A huge page mapped whole. */
const PMD_HUGE = 2;
const PMD_FAULT_SMALL = Uint8Array.of(PMD_TABLE, PMD_TABLE, PMD_HUGE);
const PMD_FAULT_HUGE = Uint8Array.of(PMD_HUGE, PMD_HUGE, PMD_HUGE);
const PMD_ZAP = Uint8Array.of(PMD_EMPTY, PMD_EMPTY, PMD_EMPTY);
const PMD_SPLIT = Uint8Array.of(PMD_EMPTY, PMD_TABLE, PMD_TABLE);

// Page states (the residency RunMap). Only RESIDENT and LAZY count in RSS.
/** Not resident; never was, or munmap forgot it. */
const ABSENT = 0;
/** Not resident, released since it was last resident: its next fault is a re-fault. */
const RELEASED = 1;
const RESIDENT = 2;
/** Resident, released with MADV_FREE and not written since. */
const LAZY = 3;
const PAGE_STATES = 4;
// What each operation does to a page in each state, indexed by state.
const ON_TOUCH = Uint8Array.of(RESIDENT, RESIDENT, RESIDENT, RESIDENT);
const ON_DONTNEED = Uint8Array.of(ABSENT, RELEASED, RELEASED, RELEASED);
const ON_FREE = Uint8Array.of(ABSENT, RELEASED, LAZY, LAZY);
const ON_UNMAP = Uint8Array.of(ABSENT, ABSENT, ABSENT, ABSENT);

/** Storage per recorded run: a float64 start and a state byte. */
const BYTES_PER_RUN = 9;

/** The simulated program ran out of memory: an outcome to report, not a heapsim bug. */
export class SimulatedOomError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A reserve or map that RLIMIT_AS refused. */
export class AddressSpaceLimitError extends SimulatedOomError {
  constructor(
    readonly requestedBytes: number,
    readonly vsizeBytes: number,
    readonly limitBytes: number,
  ) {
    super(`address space limit (ulimit -v ${limitBytes} bytes) reached: VSIZE ${vsizeBytes} bytes + ${requestedBytes} bytes requested`);
  }
}

/** A reserve or map that does not fit below the top of the 48-bit address space. */
export class AddressSpaceExhaustedError extends SimulatedOomError {
  constructor(
    readonly base: number,
    readonly requestedBytes: number,
  ) {
    super(
      `address space exhausted: ${requestedBytes} bytes at 0x${base.toString(16)} pass the end of the 48-bit address space (0x${ADDRESS_SPACE_END.toString(16)})`,
    );
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
  /** Successful release() calls, and the range the last one dropped (the releaseMatch meter reads them). */
  releaseCalls = 0;
  lastReleaseBase = -1;
  lastReleaseBytes = 0;
  munmapCalls = 0;
  releasedBytes = 0;
  /** Bytes of resident pages successful releases dropped (what a release's page-table work is priced by). */
  releasedResidentBytes = 0;
  /** Of those, whole transparent huge pages (THP-eligible, wholly inside a release): one PMD each to free. */
  releasedHugePages = 0;
  /** The lowest address a successful release started at since the caller last set it (to Infinity). */
  lowestReleasedBase = Infinity;
  pageFaults = 0;
  /** Faults that mapped a whole transparent huge page (counted in pageFaults too). */
  hugeFaults = 0;
  refaults = 0;
  vsizeBytes = 0;
  readonly thp: ThpMode;
  committedBytes = 0;

  private readonly regions = new RegionMap();
  /** Physical page index -> page state. */
  private readonly pages = new RunMap(ABSENT);
  /** Huge page index -> the last MADV_(NO)HUGEPAGE advice covering it. */
  private readonly advice = new RunMap(NO_ADVICE);
  /** Huge page index -> its PMD state (maintained only with THP on). */
  private readonly pmds = new RunMap(PMD_EMPTY);
  /** Physical pages per huge page. */
  private readonly hugePages: number;
  /** Pages per state of the last paint or count (reused: the hot path allocates nothing). */
  private readonly counts = new Float64Array(PAGE_STATES);
  private lastMapStart = 0;
  private lastMapEnd = 0;
  private mmapNext = MMAP_BASE;

  constructor(options: OsOptions = {}) {
    this.physPageBytes = options.physPageBytes ?? DEFAULTS.physPageBytes;
    const p = this.physPageBytes;
    if (!Number.isInteger(p) || p < 4096 || (p & (p - 1)) !== 0) {
      throw new RangeError(`physical page size must be a power of two >= 4096, got ${p}`);
    }
    this.ulimitVBytes = options.ulimitVBytes ?? Infinity;
    this.madvise = options.madvise ?? DEFAULTS.madvise;
    this.thp = options.thp ?? DEFAULTS.thp;
    if (this.thp !== 'never' && p !== 4096) throw new RangeError(`transparent huge pages are modelled with 4 KiB pages only, not ${p}`);
    this.hugePages = THP_BYTES / p;
  }

  adviseHuge(base: number, bytes: number, huge: boolean): void {
    if (bytes <= 0) return;
    this.madviseCalls++;
    // The flag is per VMA; a huge page can only be used when all of it carries it, so
    // MADV_HUGEPAGE counts for the huge pages it covers whole, MADV_NOHUGEPAGE for every
    // huge page it touches.
    const first = huge ? Math.ceil(base / THP_BYTES) : Math.floor(base / THP_BYTES);
    const end = huge ? Math.floor((base + bytes) / THP_BYTES) : Math.ceil((base + bytes) / THP_BYTES);
    this.advice.paint(first, end, huge ? TO_HUGE : TO_NOHUGE, this.clearedCounts());
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

  private clearedCounts(): Float64Array {
    const c = this.counts;
    c[0] = c[1] = c[2] = c[3] = 0;
    return c;
  }

  /** A backend bug: a range that is empty, negative or not physical-page aligned. */
  private checkRange(base: number, bytes: number, what: string): void {
    if (!(bytes > 0) || base < 0 || base % this.physPageBytes !== 0) {
      throw new RangeError(`${what}(0x${base.toString(16)}, ${bytes}): not a page-aligned range`);
    }
  }

  /** A new mapping must end within the 48-bit address space (mmap's ENOMEM). */
  private checkFits(base: number, bytes: number): void {
    if (base + bytes > ADDRESS_SPACE_END) throw new AddressSpaceExhaustedError(base, bytes);
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
    this.checkFits(base, bytes);
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
    this.checkFits(base, bytes);
    this.growVsize(this.regions.unmappedBytes(base, base + bytes));
    this.mmapCalls++;
    this.regions.set(base, base + bytes, MAPPED);
    this.recount();
  }

  mmapAnywhere(bytes: number, reserveOnly: boolean): number {
    const len = Math.ceil(bytes / this.physPageBytes) * this.physPageBytes;
    // The kernel places mappings downwards from the mmap base; below address 0 there
    // is no room left.
    if (len > this.mmapNext) throw new AddressSpaceExhaustedError(this.mmapNext - len, len);
    const base = this.mmapNext - len;
    if (reserveOnly) this.reserve(base, len);
    else this.map(base, len);
    this.mmapNext = base;
    return base;
  }

  /** munmap: the range is gone, and so are its resident pages and their history. */
  unmap(base: number, bytes: number): void {
    this.checkRange(base, bytes, 'unmap');
    this.munmapCalls++;
    const c = this.clearedCounts();
    this.pages.paint(this.firstPage(base), this.endPage(base, bytes), ON_UNMAP, c);
    this.residentPages -= c[RESIDENT] + c[LAZY];
    this.lazyFreePages -= c[LAZY];
    if (this.thp !== 'never') this.pmdsReleased(base, bytes, true);
    this.regions.set(base, base + bytes, UNMAPPED);
    this.recount();
  }

  /** Index of the physical page holding byte `addr`. */
  private firstPage(addr: number): number {
    return Math.floor(addr / this.physPageBytes);
  }

  /** One past the index of the last physical page [base, base+bytes) covers. */
  private endPage(base: number, bytes: number): number {
    return Math.floor((base + bytes - 1) / this.physPageBytes) + 1;
  }

  /** The program writes [base, base+bytes). Returns the page faults it took. */
  touch(base: number, bytes: number): number {
    if (bytes <= 0) return 0;
    const end = base + bytes;
    if (base < this.lastMapStart || end > this.lastMapEnd) {
      if (!this.regions.covers(base, end, MAPPED)) {
        throw new Error(`touch(0x${base.toString(16)}, ${bytes}): segmentation fault: range is not mapped`);
      }
      const r = this.regions.regionAt(base);
      this.lastMapStart = r.start;
      this.lastMapEnd = r.end;
    }
    const first = this.firstPage(base);
    const stop = this.endPage(base, bytes);
    const pages = this.pages;
    // Already resident (the common case): no fault of any size.
    const i = pages.runAt(first);
    if (pages.stateOf(i) === RESIDENT && pages.endOf(i) >= stop) return 0;
    // A first write into an empty, eligible huge page maps all 2 MiB of it.
    const hugeFaults = this.thp === 'never' ? 0 : this.hugeFaultsIn(base, end);
    const c = this.clearedCounts();
    pages.paint(first, stop, ON_TOUCH, c);
    // Lazily freed pages written before the kernel reclaimed them: the MADV_FREE is
    // cancelled, no fault.
    this.lazyFreePages -= c[LAZY];
    const faults = c[ABSENT] + c[RELEASED];
    this.residentPages += faults;
    this.pageFaults += faults;
    this.refaults += c[RELEASED];
    // Small faults give the empty PMDs they hit a page table (the huge ones are mapped).
    if (faults > 0 && this.thp !== 'never') {
      this.pmds.paint(Math.floor(first / this.hugePages), Math.ceil(stop / this.hugePages), PMD_FAULT_SMALL, this.clearedCounts());
    }
    return faults + hugeFaults;
  }

  /**
   * Huge page faults of a write to [base, end): every huge page the range reaches that
   * is eligible (THP mode and advice), wholly mapped and has no resident page becomes
   * resident at once, one fault each. Walks advice runs, then mapped regions, then
   * residency runs; returns the number of huge faults.
   */
  private hugeFaultsIn(base: number, end: number): number {
    const stop = Math.ceil(end / THP_BYTES);
    const advice = this.advice;
    let faults = 0;
    for (let h = Math.floor(base / THP_BYTES); h < stop;) {
      const a = advice.runAt(h);
      const runEnd = Math.min(advice.endOf(a), stop);
      const state = advice.stateOf(a);
      if (this.thp === 'always' ? state !== ADVICE_NOHUGE : state === ADVICE_HUGE) faults += this.hugeFaultsMapped(h, runEnd);
      h = runEnd;
    }
    return faults;
  }

  /** Huge page faults in eligible huge pages [from, to): those wholly inside a mapped region. */
  private hugeFaultsMapped(from: number, to: number): number {
    const regions = this.regions.list();
    let faults = 0;
    for (let r = this.regions.indexEndingAfter(from * THP_BYTES); r < regions.length && regions[r].start < to * THP_BYTES; r++) {
      const region = regions[r];
      if (region.state !== MAPPED) continue;
      const h0 = Math.max(from, Math.ceil(region.start / THP_BYTES));
      const h1 = Math.min(to, Math.floor(region.end / THP_BYTES));
      if (h0 < h1) faults += this.hugeFaultsEmpty(h0, h1);
    }
    return faults;
  }

  /** Huge page faults in eligible, mapped huge pages [from, to): those whose PMD is empty. */
  private hugeFaultsEmpty(from: number, to: number): number {
    const pmds = this.pmds;
    const hp = this.hugePages;
    let faults = 0;
    for (let h = from; h < to;) {
      const i = pmds.runAt(h);
      const end = Math.min(pmds.endOf(i), to);
      if (pmds.stateOf(i) === PMD_EMPTY) {
        // An empty PMD maps no page: all of each huge page faults in.
        this.refaults += this.hugePagesReleased(h * hp, end * hp);
        const c = this.clearedCounts();
        this.pages.paint(h * hp, end * hp, ON_TOUCH, c);
        this.residentPages += c[ABSENT] + c[RELEASED];
        this.pageFaults += end - h;
        this.hugeFaults += end - h;
        faults += end - h;
        pmds.paint(h, end, PMD_FAULT_HUGE, this.clearedCounts());
      }
      h = end;
    }
    return faults;
  }

  /**
   * PMDs after a release or unmap of [base, base+bytes): huge mappings it covers in part
   * are split into page tables; the PMDs it covers whole are emptied when `zapWhole`
   * (MADV_DONTNEED, munmap), left as they are otherwise (MADV_FREE).
   */
  private pmdsReleased(base: number, bytes: number, zapWhole: boolean): void {
    const end = base + bytes;
    const whole0 = Math.ceil(base / THP_BYTES);
    const whole1 = Math.floor(end / THP_BYTES);
    const c = this.clearedCounts();
    if (zapWhole && whole0 < whole1) this.pmds.paint(whole0, whole1, PMD_ZAP, c);
    if (base % THP_BYTES !== 0) this.pmds.paint(Math.floor(base / THP_BYTES), Math.floor(base / THP_BYTES) + 1, PMD_SPLIT, c);
    if (end % THP_BYTES !== 0) this.pmds.paint(Math.floor(end / THP_BYTES), Math.floor(end / THP_BYTES) + 1, PMD_SPLIT, c);
  }

  /** Number of huge pages in pages [from, to) (huge-page aligned) with a released page. */
  private hugePagesReleased(from: number, to: number): number {
    const pages = this.pages;
    const hp = this.hugePages;
    let n = 0;
    let counted = -1;
    for (let i = pages.runAt(from); i < pages.runs && pages.startOf(i) < to; i++) {
      if (pages.stateOf(i) !== RELEASED) continue;
      let h0 = Math.floor(Math.max(pages.startOf(i), from) / hp);
      const h1 = Math.floor((Math.min(pages.endOf(i), to) - 1) / hp);
      if (h0 <= counted) h0 = counted + 1;
      if (h0 <= h1) {
        n += h1 - h0 + 1;
        counted = h1;
      }
    }
    return n;
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
    this.releaseCalls++;
    this.lastReleaseBase = base;
    this.lastReleaseBytes = len;
    const c = this.clearedCounts();
    if (this.madvise === 'free') {
      // MADV_FREE: resident pages become lazily freed (still resident).
      this.pages.paint(this.firstPage(base), this.endPage(base, len), ON_FREE, c);
      this.lazyFreePages += c[RESIDENT];
      this.countReleasedResident(base, len, c[RESIDENT]);
    } else {
      // A released page is one dropped from residency; pages not resident are left as
      // they were.
      this.pages.paint(this.firstPage(base), this.endPage(base, len), ON_DONTNEED, c);
      this.residentPages -= c[RESIDENT] + c[LAZY];
      this.lazyFreePages -= c[LAZY];
      this.countReleasedResident(base, len, c[RESIDENT] + c[LAZY]);
    }
    if (this.thp !== 'never') this.pmdsReleased(base, len, this.madvise === 'dontneed');
    this.releasedBytes += len;
    if (base < this.lowestReleasedBase) this.lowestReleasedBase = base;
    return len;
  }

  /**
   * Counts a release's resident pages and, of them, the transparent huge pages it freed
   * whole (still backed by a huge page, wholly inside the range); the huge pages it reaches
   * in part are split (their pages stay, as small pages).
   */
  private countReleasedResident(base: number, len: number, residentPages: number): void {
    this.releasedResidentBytes += residentPages * this.physPageBytes;
    if (this.thp === 'never') return;
    // Read before pmdsReleased zaps or splits them: the huge pages still mapped whole.
    const c = this.clearedCounts();
    const whole0 = Math.ceil(base / THP_BYTES);
    const whole1 = Math.floor((base + len) / THP_BYTES);
    if (whole0 < whole1) this.pmds.count(whole0, whole1, c);
    this.releasedHugePages += c[PMD_HUGE];
  }

  /** Resident bytes within [base, base+bytes) (tests and diagnostics). */
  residentBytesIn(base: number, bytes: number): number {
    const c = this.clearedCounts();
    this.pages.count(this.firstPage(base), this.endPage(base, bytes), c);
    return (c[RESIDENT] + c[LAZY]) * this.physPageBytes;
  }

  /**
   * Visits every maximal run of resident physical pages in address order, as
   * [base, base + bytes) and whether the run is lazily freed (MADV_FREE). For reports
   * (the gap meter), not the hot path.
   */
  forEachResident(fn: (base: number, bytes: number, lazy: boolean) => void): void {
    const pages = this.pages;
    const pb = this.physPageBytes;
    for (let i = 0; i < pages.runs; i++) {
      const s = pages.stateOf(i);
      if (s === RESIDENT || s === LAZY) fn(pages.startOf(i) * pb, (pages.endOf(i) - pages.startOf(i)) * pb, s === LAZY);
    }
  }

  /** Bytes the recorded runs take (what residency tracking grew by, for the scaling checks). */
  get trackingBytes(): number {
    return (this.pages.runs - 1 + this.advice.runs - 1 + this.pmds.runs - 1) * BYTES_PER_RUN;
  }
}
