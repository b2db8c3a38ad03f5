// The modelled cost of an operation, in nanoseconds.
//
// Wall-clock time around a backend call measures JavaScript on this machine, not the
// Go runtime on a server. The model instead prices what the operation did, so eras can
// be compared without measurement noise, and so that work pushed onto the allocation
// path (page faults after eager scavenging, release syscalls) shows in its latency.
// The figures are round, documented orders of magnitude for x86-64 Linux (docs/metrics.md):
export const COST = {
  /** One list node, tree node or bitmap word visited: a dependent, mostly cached load. */
  workUnitNs: 3,
  /** Entering the kernel for mmap, munmap or madvise. */
  syscallNs: 1500,
  /** madvise(DONTNEED) per 4 KiB released: page-table teardown and TLB shootdown share. */
  releasePer4KiBNs: 40,
  /** A minor page fault: trap, page allocation and mapping. */
  pageFaultNs: 500,
  /** Zeroing a faulted page, per KiB (about 40 GB/s). */
  zeroPerKiBNs: 25,
} as const;

/** `hugeFaults` of the `faults` mapped a whole 2 MiB transparent huge page each. */
export function modelledNs(work: number, syscalls: number, releasedBytes: number, faults: number, physPageBytes: number, hugeFaults = 0): number {
  return (
    work * COST.workUnitNs +
    syscalls * COST.syscallNs +
    (releasedBytes / 4096) * COST.releasePer4KiBNs +
    (faults - hugeFaults) * (COST.pageFaultNs + (physPageBytes / 1024) * COST.zeroPerKiBNs) +
    hugeFaults * (COST.pageFaultNs + ((2 << 20) / 1024) * COST.zeroPerKiBNs)
  );
}
