// The modelled cost of an operation, in nanoseconds.
//
// Wall-clock time around a backend call measures JavaScript on this machine, not the
// Go runtime on a server. The model instead prices what the operation did, so eras can
// be compared without measurement noise, and so that work pushed onto the allocation
// path (page faults after eager scavenging, release syscalls) shows in its latency.
// The figures are round, documented orders of magnitude for x86-64 Linux (docs/metrics.md);
// the release figures are measured (bench/madvise-cost.c on the project's 2-core Linux
// 6.18 machine; the recorded Go 1.19.8 traces' own release rows agree; docs/policies.md,
// "What a release costs"):
export const COST = {
  /** One list node, tree node or bitmap word visited: a dependent, mostly cached load. */
  workUnitNs: 3,
  /** Entering the kernel for mmap, munmap or madvise (madvise(DONTNEED) of 8 KiB resident: 2.5-2.9 us). */
  syscallNs: 1500,
  /**
   * madvise(DONTNEED) per resident 4 KiB page it drops: page-table teardown, freeing the
   * page, the TLB shootdown's share. Measured: 2 MiB of 4 KiB pages 150-200 us, 64 KiB
   * 8.5 us; pages that are not resident cost nothing beyond the call (2 MiB: 0.5 us).
   */
  releasePer4KiBNs: 350,
  /**
   * madvise(DONTNEED) of a whole resident transparent huge page, beyond the call: one PMD
   * and one compound page to free, not 512 pages (measured 6-7 us per 2 MiB call in all).
   */
  releaseHugePageNs: 5000,
  /** A minor page fault: trap, page allocation and mapping. */
  pageFaultNs: 500,
  /** Zeroing a faulted page, per KiB (about 40 GB/s). */
  zeroPerKiBNs: 25,
} as const;

/** 4 KiB pages in a transparent huge page. */
const PAGES_4K_PER_HUGE = (2 << 20) / 4096;

/**
 * `releasedBytes`: resident bytes the releases dropped, of which `releasedHugePages` whole
 * transparent huge pages; `hugeFaults` of the `faults` mapped a whole 2 MiB huge page each.
 */
export function modelledNs(
  work: number,
  syscalls: number,
  releasedBytes: number,
  faults: number,
  physPageBytes: number,
  hugeFaults = 0,
  releasedHugePages = 0,
): number {
  return (
    work * COST.workUnitNs +
    syscalls * COST.syscallNs +
    (releasedBytes / 4096 - releasedHugePages * PAGES_4K_PER_HUGE) * COST.releasePer4KiBNs +
    releasedHugePages * COST.releaseHugePageNs +
    (faults - hugeFaults) * (COST.pageFaultNs + (physPageBytes / 1024) * COST.zeroPerKiBNs) +
    hugeFaults * (COST.pageFaultNs + ((2 << 20) / 1024) * COST.zeroPerKiBNs)
  );
}

/** The counters an operation's cost is priced from. */
interface Counted {
  readonly work: number;
}
interface OsCounted {
  readonly mmapCalls: number;
  readonly madviseCalls: number;
  readonly munmapCalls: number;
  readonly releasedResidentBytes: number;
  readonly releasedHugePages: number;
  readonly pageFaults: number;
  readonly hugeFaults: number;
  readonly physPageBytes: number;
}

/**
 * Prices one operation: begin() before it, then work() and modelNs() after it read what
 * it did from the backend's and the OS's counters. One probe is reused for every
 * operation (no allocation on the hot path).
 */
export class CostProbe {
  private work0 = 0;
  private sys0 = 0;
  private released0 = 0;
  private hugeReleased0 = 0;
  private faults0 = 0;
  private huge0 = 0;

  constructor(
    private readonly heap: Counted,
    private readonly os: OsCounted,
  ) {}

  begin(): void {
    const os = this.os;
    this.work0 = this.heap.work;
    this.sys0 = os.mmapCalls + os.madviseCalls + os.munmapCalls;
    this.released0 = os.releasedResidentBytes;
    this.hugeReleased0 = os.releasedHugePages;
    this.faults0 = os.pageFaults;
    this.huge0 = os.hugeFaults;
  }

  /** Work units since begin(). */
  work(): number {
    return this.heap.work - this.work0;
  }

  /**
   * Modelled ns since begin(). `withHuge`: price huge-page faults as 2 MiB zeroing (the
   * allocation path; releases never fault).
   */
  modelNs(withHuge = true): number {
    const os = this.os;
    const syscalls = os.mmapCalls + os.madviseCalls + os.munmapCalls - this.sys0;
    return modelledNs(
      this.work(),
      syscalls,
      os.releasedResidentBytes - this.released0,
      os.pageFaults - this.faults0,
      os.physPageBytes,
      withHuge ? os.hugeFaults - this.huge0 : 0,
      os.releasedHugePages - this.hugeReleased0,
    );
  }
}
