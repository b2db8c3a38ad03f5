// go1.13: the first background scavenger, as Go 1.13.0 shipped it (go1.13
// src/runtime/mgcscavenge.go, mheap.go, mgc.go gcSetTriggerRatio).
//
// Pacing (gcPaceScavenger, at the end of gcSetTriggerRatio: once in gcinit, then after
// every GC cycle):
//   retainedGoal = next_gc + next_gc / (100 / retainExtraPercent), rounded up to a
//   physical page. next_gc starts at heapminimum (4 MiB * GOGC/100) and becomes
//   marked * (1 + GOGC/100) after each cycle; with GOGC off there is no goal. (Go 1.13.0
//   compared this object-bytes goal with page-bytes retained; the 1.13.x backports and
//   Go 1.14 scale last_heap_inuse instead, Go issue 34048 — that is go1.19's goal here.)
//   If heapRetained (heap_sys - heap_released) <= retainedGoal the scavenger parks.
//   Otherwise the work, totalWork = retained - goal, is split into huge-page work — the
//   free unscavenged memory in whole huge pages (mheap_.free.unscavHugePages), at most
//   totalWork rounded down to huge pages — and regular work, the rest. Each huge page
//   and each regular physical page is charged the same scavengePagePeriod (10 us at 1% of
//   one CPU: 1 ms), so the line falls at scavengeBytesPerNS = totalWork / totalTime.
//   On linux/amd64 a huge page is 2 MiB (physHugePageSize is read from the kernel
//   whenever it has transparent huge pages, whatever their mode): when the excess is in
//   huge pages the scavenger returns it at 2 MiB per ms, 512 times the 4 KiB-page rate.
// Background loop (bgscavenge): while retained > retainedGoal, scavenge down to the line
//   (want = basis - rate * (now - timeBasis)) with mheap.scavengeLocked, which takes
//   spans holding huge pages first, highest addresses first; park at or below the goal
//   until the next pacing update wakes it.
// Synchronous (scavengeIfNeededLocked(size)): if retained + size > retainedGoal,
//   scavenge min(size, retained + size - retainedGoal) — when the heap grows, and in
//   allocSpanLocked after taking a scavenged span (size = its pages after trimming). This
//   was Go 1.13's answer to issue 31678: inline work only when over the goal.
// debug.FreeOSMemory: GC, then mheap_.scavengeAll(): everything. sysmon no longer
//   scavenges.
//
// Not modelled: the scavenger's sleeps (ttnext, the exponential retry back-off) — it
// works at each step of simulated time; the GC's heap-goal floor beyond heapminimum.
// A backend that does not count its free huge pages (PageHeap.unscavengedHugePages)
// paces as if there were none.
//
// Simulated time: the background scavenger runs between events; advance(t) walks the
// gap in steps of at most BACKGROUND_STEP_NS so releases land near when they happened.

import { BackgroundScavenger, heapGoalBytes, type PolicyContext } from './types.js';
import { HUGE_PAGE_BYTES } from '../heap/platform.js';

/**
 * scavengePageLatency and scavengeHugePageLatency: Go 1.13 assumes 10 us of work per page
 * and per huge page; divided by scavengePercent (1%: `--scavenger-cpu`) it is the time the
 * scavenger takes per page, 1 ms.
 */
const SCAVENGE_PAGE_LATENCY_NS = 10e3;
const SCAVENGE_HUGE_PAGE_LATENCY_NS = 10e3;
/** defaultHeapMinimum: next_gc before the first cycle at GOGC=100 (scaled by GOGC/100). */
export const DEFAULT_HEAP_MINIMUM_BYTES = 4 << 20;

/** The retained goal of Go 1.13.0: next_gc plus retainExtraPercent, rounded up to a physical page. */
export function go113RetainedGoalBytes(nextGcBytes: number, retainExtraPercent: number, physPageBytes: number): number {
  if (!Number.isFinite(nextGcBytes)) return Infinity;
  const goal = nextGcBytes + Math.floor(nextGcBytes / (100 / retainExtraPercent));
  return Math.ceil(goal / physPageBytes) * physPageBytes;
}

/** gcPaceScavenger's rate: totalWork over its time, huge pages and regular pages charged alike, at cpuPercent of one CPU. */
export function go113BytesPerNs(totalWork: number, freeHugePages: number, physPageBytes: number, cpuPercent = 1): number {
  const pagePeriodNs = SCAVENGE_PAGE_LATENCY_NS / (cpuPercent / 100);
  const hugePagePeriodNs = SCAVENGE_HUGE_PAGE_LATENCY_NS / (cpuPercent / 100);
  let hugeWork = freeHugePages * HUGE_PAGE_BYTES;
  if (hugeWork >= totalWork) hugeWork = Math.floor(totalWork / HUGE_PAGE_BYTES) * HUGE_PAGE_BYTES;
  const regularWork = totalWork - hugeWork;
  const hugeTimeNs = (hugeWork / HUGE_PAGE_BYTES) * hugePagePeriodNs;
  const regularTimeNs = Math.floor(regularWork / physPageBytes) * pagePeriodNs;
  const totalTimeNs = hugeTimeNs + regularTimeNs;
  return totalTimeNs > 0 ? totalWork / totalTimeNs : physPageBytes / pagePeriodNs;
}

export class Go113Policy extends BackgroundScavenger {
  readonly name = 'go1.13';
  /** mheap_.scavengeRetainedGoal, first set by gcinit's pacing. */
  retainedGoal: number;
  private basis = 0;
  private timeBasis = 0;
  /** mheap_.scavengeBytesPerNS; 0 disables the background scavenger. */
  bytesPerNs = 0;

  constructor(ctx: PolicyContext) {
    super(ctx);
    // gcinit: next_gc = heapminimum, and the pacing it triggers finds nothing retained yet.
    const heapMinimum = ctx.gogc < 0 ? Infinity : Math.floor((DEFAULT_HEAP_MINIMUM_BYTES * ctx.gogc) / 100);
    this.retainedGoal = go113RetainedGoalBytes(heapMinimum, ctx.retainExtraPercent, ctx.physPageBytes);
  }

  override onGc(t: number, markedBytes: number): void {
    this.advance(t);
    this.pace(t, heapGoalBytes(markedBytes, this.ctx.gogc));
  }

  /** gcPaceScavenger. */
  private pace(t: number, nextGcBytes: number): void {
    const ctx = this.ctx;
    const goal = go113RetainedGoalBytes(nextGcBytes, ctx.retainExtraPercent, ctx.physPageBytes);
    const retained = ctx.retainedBytes();
    this.retainedGoal = goal;
    if (retained <= goal) {
      this.bytesPerNs = 0;
      return;
    }
    this.basis = retained;
    this.timeBasis = t;
    this.bytesPerNs = go113BytesPerNs(retained - goal, ctx.unscavengedHugePages(), ctx.physPageBytes, ctx.scavengerCpuPercent);
    this.parked = false;
  }

  protected work(at: number): void {
    const retained = this.ctx.retainedBytes();
    if (this.bytesPerNs === 0 || retained <= this.retainedGoal) {
      this.parked = true;
      return;
    }
    const line = this.basis - this.bytesPerNs * (at - this.timeBasis);
    const want = Math.max(this.retainedGoal, line);
    if (retained > want) this.ctx.release(at, Math.ceil(retained - want), 'background');
  }

  /** scavengeIfNeededLocked. */
  private ifNeeded(t: number, size: number, trigger: 'growth' | 'reuse'): void {
    const r = this.ctx.retainedBytes();
    if (r + size > this.retainedGoal) this.ctx.release(t, Math.min(size, r + size - this.retainedGoal), trigger);
  }

  override onGrow(t: number, grownBytes: number): void {
    this.ifNeeded(t, grownBytes, 'growth');
  }

  override afterAlloc(t: number, npages: number, scavengedBytes: number): void {
    if (scavengedBytes > 0) this.ifNeeded(t, npages * this.ctx.pageBytes, 'reuse');
  }
}
