// go1.13: the first background scavenger (go1.13 src/runtime/mgcscavenge.go, mheap.go).
//
// Pacing, at the end of every GC cycle (gcPaceScavenger):
//   retainedGoal = last_heap_inuse * (next_gc / last_next_gc), plus retainExtraPercent
//   (10%), rounded up to a physical page. Before the second cycle (last_next_gc == 0)
//   pacing is left off: the scavenger stays parked and mheap_.scavengeRetainedGoal keeps
//   its zero value — so every growth and every reuse of scavenged memory before then
//   scavenges (Go 1.14 set the goal to "none" there instead).
//   If heapRetained (heap_sys - heap_released) <= retainedGoal the scavenger is parked.
//   Otherwise it gets a line from (now, retained) falling at scavengeBytesPerNS =
//   totalWork / totalTime, where totalTime charges scavengePagePeriod = 10 us / 1% =
//   1 ms per physical page (huge pages: also 1 ms each; modelled only without THP, so
//   the rate is one physical page per millisecond: 4 MB/s with 4 KiB pages).
// Background loop (bgscavenge): while retained > retainedGoal, scavenge down to the
//   line (want = basis - rate * (now - timeBasis)) with mheap.scavengeLocked, which
//   takes the highest addresses first; park once at or below the goal, until the next
//   GC's pacing update wakes it.
// Synchronous (scavengeIfNeededLocked(size)): if retained + size > retainedGoal,
//   scavenge min(size, retained + size - retainedGoal) — in growAddSpan before new heap
//   memory is added, and in allocSpanLocked after taking a scavenged span (size = its
//   pages after trimming). This is Go 1.13's answer to issue 31678: inline work only
//   when over the goal.
// debug.FreeOSMemory: GC, then mheap_.scavengeAll(): everything. sysmon no longer
// scavenges.
//
// Simulated time: the background scavenger runs between events; advance(t) walks the
// gap in steps of at most BACKGROUND_STEP_NS so releases land near when they happened.

import { BackgroundScavenger, heapGoalBytes, retainedGoalBytes, type PolicyContext } from './types.js';

export const RETAIN_EXTRA_PERCENT = 10;
/** scavengePageLatency / scavengePercent: 10 us per page at 1% of one CPU. */
export const SCAVENGE_PAGE_PERIOD_NS = 10e3 / (1 / 100);
export class Go113Policy extends BackgroundScavenger {
  readonly name = 'go1.13';
  private nextGc = 0;
  private lastNextGc = 0;
  private lastHeapInUse = 0;
  /** mheap_.scavengeRetainedGoal: zero until the first pacing that sets it. */
  retainedGoal = 0;
  private basis = 0;
  private timeBasis = 0;
  /** mheap_.scavengeBytesPerNS; 0 disables the background scavenger. */
  bytesPerNs = 0;

  constructor(ctx: PolicyContext) {
    super(ctx);
  }

  override onGc(t: number, markedBytes: number): void {
    this.advance(t);
    this.lastNextGc = this.nextGc;
    this.nextGc = heapGoalBytes(markedBytes, this.ctx.gogc);
    this.lastHeapInUse = this.ctx.inUseBytes();
    this.pace(t);
  }

  /** gcPaceScavenger. */
  private pace(t: number): void {
    if (this.lastNextGc === 0 || !Number.isFinite(this.nextGc)) {
      this.bytesPerNs = 0;
      return;
    }
    const phys = this.ctx.physPageBytes;
    const goal = retainedGoalBytes(this.lastHeapInUse, this.nextGc, this.lastNextGc, RETAIN_EXTRA_PERCENT, phys);
    const retained = this.ctx.retainedBytes();
    this.retainedGoal = goal;
    if (retained <= goal) {
      this.bytesPerNs = 0;
      return;
    }
    const totalWork = retained - goal;
    const totalTimeNs = Math.floor(totalWork / phys) * SCAVENGE_PAGE_PERIOD_NS;
    this.basis = retained;
    this.timeBasis = t;
    this.bytesPerNs = totalTimeNs > 0 ? totalWork / totalTimeNs : phys / SCAVENGE_PAGE_PERIOD_NS;
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
