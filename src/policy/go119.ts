// go1.19: the background scavenger with a CPU target, and the memory limit
// (go1.19.8 src/runtime/mgcscavenge.go, mheap.go allocSpan; design 48409).
//
// Goals, recomputed whenever pacing is (gcPaceScavenger, after every GC cycle and when
// the limit changes):
// - memoryLimitGoal: meant to be 95% of the limit, but Go 1.19 computes
//   limit * (100.0 - reduceExtraPercent) — 95 *times* the limit (mgcscavenge.go line
//   149 in go1.19.8; later releases divide by 100). mappedReady is never above that, so
//   in Go 1.19 the background scavenger never works for the memory limit: only the
//   allocation path below holds it, at 100% of the limit. Modelled as shipped;
//   none while mappedReady is at or below the goal;
// - gcPercentGoal = lastHeapInUse * (heapGoal / lastHeapGoal) + retainExtraPercent (10%),
//   rounded up to a physical page; none before the second cycle (lastHeapGoal == 0), or
//   when heapRetained is at the goal or within one physical page of it.
// Background scavenger (bgscavenge, scavengerState.run/sleep): woken when sweeping ends
// after a GC (modelled at the gc row); releases 64 KiB quanta (scavengeQuantum), highest
// addresses first, until shouldStop (heapRetained <= gcPercentGoal and mappedReady <=
// memoryLimitGoal), then parks until the next cycle. A PI controller sizes its sleeps so
// its CPU time is scavengePercent = 1% of GOMAXPROCS CPUs; this model gives it a budget
// of 1% x GOMAXPROCS of elapsed trace time, spent at the modelled cost of each quantum
// (a madvise each, see src/metrics/cost-model.ts); unspent budget carries over at most
// one 1 ms batch (minScavWorkTime).
// Allocation path (allocSpan, after taking the pages): bytesToScavenge is the larger of
// - with a limit: scav + mappedReady - limit, when positive (the pages about to be
//   faulted back in would cross it) — the `limit` trigger;
// - after a heap growth, with a gcPercentGoal: min(growth, retained + growth - goal) when
//   retained + growth > goal — the `growth` trigger;
// and mheap.pages.scavenge(bytesToScavenge) runs inline, inside the allocation.
// debug.FreeOSMemory: GC, then mheap_.pages.scavenge(^uintptr(0)): everything.
//
// Not modelled: the GC CPU limiter (it suspends limit scavenging while the GC is over
// its CPU limit), the memory limit's effect on the heap goal (the trace's gc rows say
// when the real GC ran), and non-heap memory in mappedReady beyond the allocator's own
// metadata.

import { BackgroundScavenger, heapGoalBytes, retainedGoalBytes, type PolicyContext } from './types.js';
import { RETAIN_EXTRA_PERCENT } from './go113.js';
import { COST } from '../metrics/cost-model.js';

export const REDUCE_EXTRA_PERCENT = 5;
export const SCAVENGE_QUANTUM_BYTES = 64 << 10;
export const SCAVENGE_PERCENT = 1;
/** minScavWorkTime: the scavenger works at least 1 ms per batch. */
export const MIN_SCAV_WORK_NS = 1e6;

export class Go119Policy extends BackgroundScavenger {
  readonly name = 'go1.19';
  private heapGoal = 0;
  private lastHeapGoal = 0;
  private lastHeapInUse = 0;
  memoryLimit = Infinity;
  gcPercentGoal = Infinity;
  memoryLimitGoal = Infinity;
  private budgetNs = 0;

  constructor(ctx: PolicyContext, memoryLimitBytes = Infinity) {
    super(ctx);
    this.memoryLimit = memoryLimitBytes;
  }

  override onGc(t: number, markedBytes: number): void {
    this.advance(t);
    this.lastHeapGoal = this.heapGoal;
    this.heapGoal = heapGoalBytes(markedBytes, this.ctx.gogc);
    this.lastHeapInUse = this.ctx.inUseBytes();
    this.pace();
    // Sweeping ends shortly after the cycle; sweepone then wakes the scavenger.
    if (this.parked) {
      this.parked = false;
      this.budgetNs = 0;
    }
  }

  override onLimit(t: number, limitBytes: number): void {
    this.advance(t);
    this.memoryLimit = limitBytes;
    this.pace();
  }

  /** gcPaceScavenger. */
  private pace(): void {
    const ctx = this.ctx;
    // As shipped in Go 1.19: no division by 100 (see the header).
    const limitGoal = Math.floor(this.memoryLimit * (100 - REDUCE_EXTRA_PERCENT));
    this.memoryLimitGoal = ctx.mappedReadyBytes() <= limitGoal ? Infinity : limitGoal;
    if (this.lastHeapGoal === 0 || !Number.isFinite(this.heapGoal) || !Number.isFinite(this.lastHeapGoal)) {
      this.gcPercentGoal = Infinity;
      return;
    }
    const phys = ctx.physPageBytes;
    const goal = retainedGoalBytes(this.lastHeapInUse, this.heapGoal, this.lastHeapGoal, RETAIN_EXTRA_PERCENT, phys);
    const retained = ctx.retainedBytes();
    this.gcPercentGoal = retained <= goal || retained - goal < phys ? Infinity : goal;
  }

  private shouldStop(): boolean {
    return this.ctx.retainedBytes() <= this.gcPercentGoal && this.ctx.mappedReadyBytes() <= this.memoryLimitGoal;
  }

  /** One stretch of background work, paid from the CPU budget accrued over dtNs. */
  protected work(at: number, dtNs: number): void {
    const ctx = this.ctx;
    // Unspent budget carries over at most one batch; the PI controller does not bank idle time.
    this.budgetNs = Math.min(this.budgetNs, MIN_SCAV_WORK_NS) + (dtNs * SCAVENGE_PERCENT * ctx.gomaxprocs) / 100;
    if (this.shouldStop()) {
      this.parked = true;
      return;
    }
    if (this.budgetNs <= 0) return;
    const need = Math.max(ctx.retainedBytes() - this.gcPercentGoal, ctx.mappedReadyBytes() - this.memoryLimitGoal);
    const perQuantumNs = COST.syscallNs + (SCAVENGE_QUANTUM_BYTES / 4096) * COST.releasePer4KiBNs;
    const quanta = Math.max(1, Math.ceil(this.budgetNs / perQuantumNs));
    const ask = Math.min(Math.ceil(need / SCAVENGE_QUANTUM_BYTES), quanta) * SCAVENGE_QUANTUM_BYTES;
    const released = ctx.release(at, ask, 'background', SCAVENGE_QUANTUM_BYTES);
    this.budgetNs -= ctx.lastReleaseNs;
    // run() stops a batch on a short quantum; with nothing released it parks.
    if (released === 0) this.parked = true;
  }

  override afterAlloc(t: number, _npages: number, scavengedBytes: number, grownBytes: number): void {
    const ctx = this.ctx;
    let bytes = 0;
    let trigger: 'limit' | 'growth' = 'limit';
    if (Number.isFinite(this.memoryLimit)) {
      // mappedReady before the allocation's scavenged pages are sysUsed, plus those pages.
      const over = ctx.mappedReadyBytes() - this.memoryLimit;
      if (over > 0) bytes = over;
    }
    if (Number.isFinite(this.gcPercentGoal) && grownBytes > 0) {
      const retained = ctx.retainedBytes() - scavengedBytes;
      if (retained + grownBytes > this.gcPercentGoal) {
        const todo = Math.min(grownBytes, retained + grownBytes - this.gcPercentGoal);
        if (todo > bytes) {
          bytes = todo;
          trigger = 'growth';
        }
      }
    }
    if (bytes > 0) ctx.release(t, bytes, trigger);
  }
}
