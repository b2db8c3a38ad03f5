// go1.19: the background scavenger with its CPU-paced controller, scavenging on heap
// growth, and the memory limit (go1.19.8 src/runtime/mgcscavenge.go, mgcpacer.go, mheap.go
// allocSpan; design 48409). The pacing itself (batches, sleeps, the PI controller) is
// go119-pacing.ts; this file runs it on trace time and computes the goals it works to.
//
// Heap goal (mgcpacer.go commit and heapGoal), after every gc row:
//   max(marked + marked * GOGC / 100, heapMinimum = 4 MiB * GOGC / 100, marked + 1 MiB
//   (sweepDistMinTrigger)), or with a memory limit the smaller memory-limit goal:
//   limit - (nonHeap + max(mappedReady - limit, 0)) - 1 MiB headroom, at least 1 MiB and
//   at least marked, where nonHeap = mappedReady - heapFree - heapAlloc (heapsim: the
//   mapped-ready metadata, as it knows spans and not objects). Before the first cycle the
//   goal is heapMinimum (gcinit's commit with nothing marked), which is what the first
//   cycle's lastHeapGoal reads, so the scavenger has a goal from the first cycle on.
// Retained goals (gcPaceScavenger, at every gc row and limit change):
// - gcPercentGoal = lastHeapInUse * (heapGoal / lastHeapGoal) + retainExtraPercent,
//   rounded up to a physical page; none when heapRetained is at the goal or within one
//   physical page of it, or before any cycle (lastHeapGoal == 0);
// - memoryLimitGoal: meant to be 95% of the limit, but Go 1.19 computes
//   limit * (100.0 - reduceExtraPercent) — 95 *times* the limit (mgcscavenge.go line 149
//   in go1.19.8; later releases divide by 100), so mappedReady is never above it and in
//   Go 1.19 only the allocation path holds the limit. Modelled as shipped.
// lastHeapInUse: the in-use heap at the gc row, plus a run of frees just before it (within
// SWEEP_BEFORE_ROW_NS, no allocation between): the cycle's sweep, which Go's mark
// termination precedes but a recorded row may follow (docs/policies.md).
// Background scavenger (bgscavenge): parked until woken WAKE_AFTER_GC_ROW_NS after a gc
// row (Go: at the end of the sweep, through sysmon; measured), or that long after the last
// free of the run of frees that follows the row with no allocation before it and under
// SWEEP_FREE_GAP_NS apart (that cycle's sweep, in a trace written at mark termination, as
// `heapsim record`'s are). sysmon only looks at its wake-up flag while some P runs: when
// the program's last allocation or free came within one sysmon poll (SYSMON_MAX_POLL_NS)
// before the wake-up was due and nothing follows for longer than a poll, every P is idle,
// sysmon sleeps until the next timer, and the wake-up waits for the program's next
// allocation (the program's own timer firing). A cycle's start wakes it too, directly
// (gcStart's sweep termination, finishsweep_m, mgcsweep.go 266): the allocation that takes
// heapLive (the marked heap of the last gc row plus every span allocated since) to the
// heap trigger starts the cycle (mallocgc), the trigger being Go's upper bound, 61/64 of
// the way from the marked heap to the goal (the runway that can lower it, the cons/mark
// ratio times the scan work, is not in a trace); a gc row that comes with no start seen
// (runtime.GC, or small-object spans the trace does not show) starts its cycle at the row,
// under the goal before it. Measured with bench/scavenger-trace.ts (the runtime's own
// decisions beside the model's): 16 of the 32 batches of the test/fixtures/scavenger
// recordings were started so, 14 of them matched within 3 ms now, 7 before. Then it runs
// batches of scavengeQuantum (64 KiB) calls into the backend, each at trace time batch start +
// work so far, each call's work its modelled cost (one madvise per sysUnused call, the
// page allocator's calls: a whole 2 MiB huge page is one call), until the batch has
// worked 1 ms, a call came back short, or shouldStop (heapRetained <= gcPercentGoal and
// mappedReady <= memoryLimitGoal); then it sleeps as the pacer says, or parks when the
// batch released nothing. A sleep lasts as a Go timer does on an idle Linux machine
// (timerSleepNs: epoll_wait in whole milliseconds, each wait late by a measured 147 us);
// the controller sees the sleep as it lasted. A wake-up during a sleep ends the sleep (the scavenger counts
// as parked while it sleeps). A batch whose next call falls after the next trace event
// resumes there, so allocations interleave with it as they would; a call due exactly at an
// event's time runs after that event (the woken goroutine runs after the one that woke it).
// Allocation path (allocSpan): bytesToScavenge is the larger of
// - with a limit: scav + mappedReady - limit, when positive — the `limit` trigger;
// - after a heap growth, with a gcPercentGoal: min(growth, retained + growth - goal) when
//   retained + growth > goal — the `growth` trigger;
// and mheap.pages.scavenge(bytesToScavenge) runs inline, inside the allocation.
// debug.FreeOSMemory: GC, then mheap_.pages.scavenge(^uintptr(0)): everything.
//
// Not modelled: the GC CPU limiter (it suspends limit scavenging while the GC is over its
// CPU limit), the stacks and globals in the heap goal and its minimum-runway adjustment
// (the trace has neither), the memory limit's effect on when the GC runs (the trace's gc
// rows say when it ran), the trigger's runway (a start is modelled at the latest trigger),
// small-object spans reused from the mcentral lists in heapLive (the trace shows only
// spans from the page heap), and stack and other manual spans counted in it (the
// recorder's rows do not say a span's kind; Go's heapLive leaves them out), sweeps of varying length and sysmon's phase and backoff (the
// wake-up delay is one measured constant; the runtime's logs give, from the sweep's end,
// median 5.95 ms on spike and fragmenter, 0.12 ms on freeos, where world restarts keep
// resetting sysmon's backoff to 20 us polls), the rss samples of recorders before
// 2026-11-24 holding the scavenger after a batch (a wake-up then found it running; the
// recorder now takes only mincore there), a CPU shared with other
// processes (timers and scheduling late by tens of ms, sysmon not seeing the program
// idle), timers
// fired sooner by a busy P than by epoll_wait or later by a P busy with a goroutine,
// non-heap memory in mappedReady beyond the allocator's own metadata, and a program idle
// without a timer (sysmon's deep sleep is taken to end at the program's next allocation;
// its 60 s cap, forcegcperiod / 2, is not modelled).

import { PolicyBase, retainedGoalBytes, type PolicyContext } from './types.js';
import { SCAVENGE_QUANTUM_BYTES, ScavengerPacer } from './go119-pacing.js';

/**
 * Go's timer sleeps on an idle Linux machine: the M waits in epoll_wait, whose timeout is
 * whole milliseconds (netpoll_epoll.go: a delay under 1 ms waits 1 ms, else delay / 1 ms
 * truncated), and each wait returns late by the kernel's timer slack and the wake-up.
 * That lateness, measured on the recorded spike trace (21 sleeps the controller asked
 * under 0.95 ms for, one wait each: they lasted 1 ms + 105-333 us, median 147 us).
 */
export const EPOLL_WAIT_OVERSHOOT_NS = 147e3;
const EPOLL_WAIT_UNIT_NS = 1e6;

/** How long a timer sleep of `askedNs` lasts: epoll_wait in whole ms, rounds until it is due. */
export function timerSleepNs(askedNs: number): number {
  let slept = 0;
  while (slept < askedNs) {
    const left = askedNs - slept;
    slept += (left < EPOLL_WAIT_UNIT_NS ? 1 : Math.floor(left / EPOLL_WAIT_UNIT_NS)) * EPOLL_WAIT_UNIT_NS + EPOLL_WAIT_OVERSHOOT_NS;
  }
  return slept;
}

/**
 * From a gc row to the scavenger's wake-up: Go wakes it when the cycle's sweep is done
 * (mgcsweep.go 410 sets sysmonWake; sysmon, which sleeps up to 10 ms when the program is
 * idle, wakes it, proc.go 5252). Measured in the shared recordings as the time from a gc
 * row to the first release after it, over all six such wake-ups: 4.36, 4.36, 5.50, 5.74,
 * 8.17 and 8.40 ms; this is their median.
 */
export const WAKE_AFTER_GC_ROW_NS = 5.62e6;

/**
 * How long before a gc row the sweep's frees may start and still be its cycle's (onGc):
 * in the shared recordings the last allocation before a row's run of frees is at most 6.5
 * ms before it (spike trace, 26.12 s); 10 ms is longer than that and far shorter than any
 * gap between cycles in which a previous cycle's sweep could have freed those spans.
 */
export const SWEEP_BEFORE_ROW_NS = 10e6;

/**
 * sysmon's longest sleep between polls while some P runs (proc.go sysmon: 20 us, doubling
 * after 1 ms of idle polls, capped at 10 ms). When the program has done nothing for longer
 * than this (no span allocated or freed), every P is idle: sysmon sleeps until the next
 * timer (timeSleepUntil) before it looks at sysmonWake, so the sweep's wake-up waits for
 * the program's next allocation.
 */
export const SYSMON_MAX_POLL_NS = 10e6;

/**
 * The longest gap between two frees of one sweep run: the sweeps that follow a recorded
 * row free their spans microseconds apart (spike: 193 spans in 0.1-0.4 ms; fragmenter: 300
 * in 0.1-0.2 ms). A free 9-15 ms later is not the sweep's: in those recordings it is the
 * woken scavenger freeing its old stack as it grows a new one, just before its first release.
 */
export const SWEEP_FREE_GAP_NS = 1e6;

export const REDUCE_EXTRA_PERCENT = 5;
/**
 * The heap trigger's bounds (mgcpacer.go trigger, 1158): at least 45/64 (minTriggerRatioNum
 * / triggerRatioDen) and at most 61/64 of the way from the marked heap to the goal.
 */
export const TRIGGER_RATIO_DEN = 64;
export const MIN_TRIGGER_RATIO_NUM = 45;
export const MAX_TRIGGER_RATIO_NUM = 61;
/** defaultHeapMinimum: the smallest heap goal at GOGC=100 (scaled by GOGC/100). */
export const DEFAULT_HEAP_MINIMUM_BYTES = 4 << 20;
/** sweepMinHeapDistance: the goal leaves the sweeper at least this much runway. */
export const SWEEP_MIN_HEAP_DISTANCE_BYTES = 1 << 20;
/** memoryLimitHeapGoalHeadroom: the memory-limit heap goal stays this far under its target. */
export const MEMORY_LIMIT_HEADROOM_BYTES = 1 << 20;

type ScavengerState = 'parked' | 'running' | 'sleeping';

export class Go119Policy extends PolicyBase {
  readonly name = 'go1.19';
  memoryLimit = Infinity;
  gcPercentGoal = Infinity;
  memoryLimitGoal = Infinity;
  /** The heap goal in force (gcinit: heapMinimum) and the one before it. */
  heapGoal: number;
  private lastHeapGoal = 0;
  private lastHeapInUse = 0;
  /** The in-use heap after the last allocation (or gc row, if later), and its time (see onGc). */
  private inUseBeforeFrees = 0;
  private inUseBeforeFreesNs = -Infinity;
  private marked = 0;
  readonly pacer: ScavengerPacer;
  state: ScavengerState = 'parked';
  // The batch running: when it started, its work so far, its bytes, its last call's bytes.
  private batchStartNs = 0;
  private batchWorkedNs = 0;
  private batchBytes = 0;
  private lastCallBytes = 0;
  // The sleep: when it began and when its timer fires.
  private sleepStartNs = 0;
  private wakeNs = 0;
  /** When a wake-up asked for at a gc row reaches the scavenger (Infinity: none pending). */
  private pendingWakeNs = Infinity;
  /** A wake-up sysmon holds while it sleeps through an idle program: delivered at its next activity. */
  private heldWake = false;
  /** Whether frees seen now still belong to the last gc row's sweep, and whether it has freed yet. */
  private sweepOpen = false;
  private sweepFreed = false;
  /** The last allocation or free (program activity), the previous event's time, the in-use heap then. */
  private lastActivityNs = -Infinity;
  private prevEventNs = -Infinity;
  private inUseSeen = 0;
  /** The GOGC heap goal of the last commit (gcPercentHeapGoal), before the memory limit's. */
  private gcPercentHeapGoal: number;
  /** gcController.heapLive as the trace shows it: the last gc row's marked heap plus every span allocated since. */
  private heapLiveBytes = 0;
  /** Whether the next cycle has started (its gcStart woke the scavenger): false until heapLive crosses the trigger. */
  private cycleStarted = false;
  /** heapTrigger() without a memory limit, which only a gc row or a limit row changes; NaN: not computed yet. */
  private triggerNoLimit = NaN;

  constructor(ctx: PolicyContext, memoryLimitBytes = Infinity) {
    super(ctx);
    this.memoryLimit = memoryLimitBytes;
    this.pacer = new ScavengerPacer(ctx.scavengerCpuPercent);
    this.gcPercentHeapGoal = this.heapMinimum();
    this.heapGoal = this.currentHeapGoal(this.gcPercentHeapGoal);
  }

  private heapMinimum(): number {
    return this.ctx.gogc < 0 ? 0 : Math.floor((DEFAULT_HEAP_MINIMUM_BYTES * this.ctx.gogc) / 100);
  }

  /** heapGoal(): the GOGC goal, or the memory-limit goal when that is smaller. */
  private currentHeapGoal(gcPercentGoal: number): number {
    const limitGoal = this.memoryLimitHeapGoal();
    return limitGoal < gcPercentGoal ? limitGoal : Math.max(gcPercentGoal, this.marked + SWEEP_MIN_HEAP_DISTANCE_BYTES);
  }

  /** memoryLimitHeapGoal (Infinity without a limit). */
  private memoryLimitHeapGoal(): number {
    if (!Number.isFinite(this.memoryLimit)) return Infinity;
    const ctx = this.ctx;
    const mappedReady = ctx.mappedReadyBytes();
    const nonHeap = mappedReady - ctx.retainedBytes();
    const overage = Math.max(mappedReady - this.memoryLimit, 0);
    let limitGoal: number;
    if (nonHeap + overage >= this.memoryLimit) limitGoal = this.marked;
    else {
      const goal = this.memoryLimit - (nonHeap + overage);
      limitGoal = goal - MEMORY_LIMIT_HEADROOM_BYTES < MEMORY_LIMIT_HEADROOM_BYTES ? MEMORY_LIMIT_HEADROOM_BYTES : goal - MEMORY_LIMIT_HEADROOM_BYTES;
      limitGoal = Math.max(limitGoal, this.marked);
    }
    return limitGoal;
  }

  /**
   * gcControllerState.trigger, with no runway: the heap trigger the next cycle starts at,
   * from the goal in force now (the memory-limit goal moves with mappedReady, as Go
   * recomputes it at each test). Go's trigger is goal - runway clamped to [45/64, 61/64]
   * of the way from the marked heap to the goal (the upper bound goal - 4 MiB when that is
   * higher; the lower bound at least the sweep distance, marked + 1 MiB, outside the
   * memory-limit regime). The runway, the cons/mark ratio times the last cycle's scan work,
   * is not in a trace: taken as 0, the trigger is the upper bound, the latest a cycle can
   * start (test/fixtures/scavenger's spike logs: runways of 0-51 MiB, median 0.75 MiB).
   */
  private heapTrigger(): number {
    const limitGoal = this.memoryLimitHeapGoal();
    const limited = limitGoal < this.gcPercentHeapGoal;
    const goal = limited ? limitGoal : Math.max(this.gcPercentHeapGoal, this.marked + SWEEP_MIN_HEAP_DISTANCE_BYTES);
    const marked = this.marked;
    if (!Number.isFinite(goal)) return Infinity;
    if (marked >= goal) return goal;
    const step = Math.floor((goal - marked) / TRIGGER_RATIO_DEN);
    // The sweep distance applies after a cycle (commit with the sweep not done), not at gcinit.
    const sweepDist = limited || this.lastHeapGoal === 0 ? 0 : marked + SWEEP_MIN_HEAP_DISTANCE_BYTES;
    const minTrigger = Math.max(sweepDist, marked + step * MIN_TRIGGER_RATIO_NUM);
    let maxTrigger = marked + step * MAX_TRIGGER_RATIO_NUM;
    if (goal > DEFAULT_HEAP_MINIMUM_BYTES && goal - DEFAULT_HEAP_MINIMUM_BYTES > maxTrigger) maxTrigger = goal - DEFAULT_HEAP_MINIMUM_BYTES;
    return Math.max(maxTrigger, minTrigger);
  }

  /**
   * gcStart: sweep termination (finishsweep_m, mgcsweep.go 266) wakes the scavenger itself,
   * not through sysmon. `atRow`: the trace's gc row came with no start seen before it (a
   * runtime.GC, or a trigger the trace's spans did not reach): the cycle started before the
   * row, under the goal before it, which decides whether the woken scavenger works or
   * parks at once.
   */
  private gcStart(t: number, atRow: boolean): void {
    this.cycleStarted = true;
    // Running, or inside the batch whose last call ends after t: not parked, nothing to do.
    if (this.state === 'running' || (this.state === 'sleeping' && t < this.sleepStartNs)) return;
    // wake() takes the scavenger out of park: sysmon's flag is cleared with it.
    this.pendingWakeNs = Infinity;
    this.heldWake = false;
    if (atRow && this.shouldStop()) {
      if (this.state === 'sleeping') this.pacer.slept(t - this.sleepStartNs, this.ctx.gomaxprocs);
      this.state = 'parked';
      return;
    }
    this.wake(t);
  }

  override onGc(t: number, markedBytes: number): void {
    this.advance(t);
    if (!this.cycleStarted) this.gcStart(t, true);
    const gogc = this.ctx.gogc;
    // endCycle: the goal in force during the cycle; then commit with the new marked heap.
    this.lastHeapGoal = this.heapGoal;
    this.marked = markedBytes;
    this.gcPercentHeapGoal = gogc < 0 ? Infinity : Math.max(markedBytes + Math.floor((markedBytes * gogc) / 100), this.heapMinimum());
    this.heapGoal = this.currentHeapGoal(this.gcPercentHeapGoal);
    // resetLive: heapLive restarts from the marked heap; the next cycle has not started.
    this.heapLiveBytes = markedBytes;
    this.cycleStarted = false;
    this.triggerNoLimit = NaN;
    // lastHeapInUse is the in-use heap at mark termination, before the sweep frees a span.
    // Where a trace's gc row comes after the sweep's first frees (the shared recordings
    // do: docs/policies.md), a run of frees right before the row, with no allocation
    // between and starting within SWEEP_BEFORE_ROW_NS of it, is that sweep's: counted back.
    const inUse = this.ctx.inUseBytes();
    this.lastHeapInUse = t - this.inUseBeforeFreesNs <= SWEEP_BEFORE_ROW_NS ? Math.max(inUse, this.inUseBeforeFrees) : inUse;
    this.inUseBeforeFrees = inUse;
    this.inUseBeforeFreesNs = t;
    this.pace();
    // Go wakes the scavenger when the sweep is done, through sysmon: WAKE_AFTER_GC_ROW_NS
    // later. A wake-up still pending is this cycle's: the new cycle ended the old sweep.
    this.pendingWakeNs = t + WAKE_AFTER_GC_ROW_NS;
    this.heldWake = false;
    this.sweepOpen = true;
    this.sweepFreed = false;
  }

  override onLimit(t: number, limitBytes: number): void {
    this.advance(t);
    this.memoryLimit = limitBytes;
    this.triggerNoLimit = NaN;
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
    const goal = retainedGoalBytes(this.lastHeapInUse, this.heapGoal, this.lastHeapGoal, ctx.retainExtraPercent, phys);
    const retained = ctx.retainedBytes();
    this.gcPercentGoal = retained <= goal || retained - goal < phys ? Infinity : goal;
  }

  private shouldStop(): boolean {
    return this.ctx.retainedBytes() <= this.gcPercentGoal && this.ctx.mappedReadyBytes() <= this.memoryLimitGoal;
  }

  /** scavengerState.wake: a parked (or sleeping) scavenger runs a batch now. */
  private wake(t: number): void {
    // Running (or still inside the batch whose last call ends after t): Go's wake finds it
    // not parked and does nothing; the sleep that follows is not cut short.
    if (this.state === 'running' || (this.state === 'sleeping' && t < this.sleepStartNs)) return;
    if (this.state === 'sleeping') this.pacer.slept(t - this.sleepStartNs, this.ctx.gomaxprocs);
    this.startBatch(t);
  }

  private startBatch(t: number): void {
    this.state = 'running';
    this.batchStartNs = t;
    this.batchWorkedNs = 0;
    this.batchBytes = 0;
    this.lastCallBytes = SCAVENGE_QUANTUM_BYTES;
  }

  /**
   * The event before t (at prevEventNs) freed a span when the in-use heap dropped: program
   * activity. The first run of frees after a gc row, with no allocation between, is its
   * sweep's (a trace written at mark termination has the sweep after the row); any other
   * event after it ends the run.
   */
  private noteFrees(): void {
    const inUse = this.ctx.inUseBytes();
    if (inUse < this.inUseSeen) {
      this.activity(this.prevEventNs, true);
      this.sweepFreed = this.sweepOpen;
    } else if (this.sweepFreed) this.sweepOpen = this.sweepFreed = false;
    this.inUseSeen = inUse;
  }

  /**
   * An allocation or a free at t. A sweep free (in the first run of frees after the gc
   * row, no allocation between) moves the wake-up after it: sysmon is asked when the sweep
   * is done (a recorder's rss sample can keep the program quiet for up to 33 ms between the
   * row and the sweep). Only an allocation delivers sysmon's held wake-up otherwise: that is the
   * program resuming; a lone free after an idle stretch is the runtime's (in the recordings,
   * the woken scavenger's own old stack, freed as it grows one: it would leak the real
   * wake-up's time into the model).
   */
  private activity(t: number, free: boolean): void {
    if (free) {
      if (this.sweepFreed && t - this.lastActivityNs > SWEEP_FREE_GAP_NS) this.sweepOpen = this.sweepFreed = false;
      this.lastActivityNs = t;
      if (!this.sweepOpen) return;
      this.pendingWakeNs = t + WAKE_AFTER_GC_ROW_NS;
      this.heldWake = false;
      return;
    }
    this.lastActivityNs = t;
    this.sweepOpen = false;
    if (this.heldWake) {
      this.heldWake = false;
      this.pendingWakeNs = t;
    }
  }

  /** Runs the scavenger's batches and sleeps up to trace time t. */
  override advance(t: number): void {
    this.noteFrees();
    this.prevEventNs = t;
    for (;;) {
      // sysmon delivers the wake-up at its poll, unless the program had just gone idle (its
      // last allocation or free within one poll before the wake-up, nothing after it for
      // longer than a poll up to t): then it sleeps until the program's next allocation. A
      // trace that shows no activity near the wake-up says nothing about idleness: delivered.
      const w = this.pendingWakeNs;
      const a = this.lastActivityNs;
      if (w <= t && t - a > SYSMON_MAX_POLL_NS && w > a && w - a <= SYSMON_MAX_POLL_NS) {
        this.pendingWakeNs = Infinity;
        this.heldWake = true;
      }
      // A pending wake-up comes first when it is due before the sleep's timer (or while parked).
      const woken = this.pendingWakeNs <= t && (this.state === 'parked' || (this.state === 'sleeping' && this.pendingWakeNs < this.wakeNs));
      if (woken) {
        const at = this.pendingWakeNs;
        this.pendingWakeNs = Infinity;
        this.wake(at);
      } else if (this.state === 'sleeping') {
        if (this.wakeNs > t) return;
        if (this.pendingWakeNs <= this.wakeNs) this.pendingWakeNs = Infinity;
        this.pacer.slept(this.wakeNs - this.sleepStartNs, this.ctx.gomaxprocs);
        this.startBatch(this.wakeNs);
      }
      if (this.state === 'parked') return;
      if (!this.runBatch(t)) return;
    }
  }

  /** scavengerState.run up to trace time t: false if its next call falls at or after t. */
  private runBatch(t: number): boolean {
    const ctx = this.ctx;
    while (ScavengerPacer.continues(this.batchWorkedNs, this.lastCallBytes) && !this.shouldStop()) {
      const at = this.batchStartNs + this.batchWorkedNs;
      // A goroutine made runnable at t runs after the events at t: calls at t wait for the next one.
      if (at >= t) return false;
      const r = ctx.release(at, SCAVENGE_QUANTUM_BYTES, 'background');
      this.batchWorkedNs += ScavengerPacer.callWorkNs(r, Math.round(ctx.lastReleaseNs), ctx.physPageBytes);
      this.batchBytes += r;
      this.lastCallBytes = r;
    }
    if (this.batchBytes === 0) {
      this.state = 'parked';
      return true;
    }
    this.state = 'sleeping';
    this.sleepStartNs = this.batchStartNs + this.batchWorkedNs;
    this.wakeNs = this.sleepStartNs + timerSleepNs(this.pacer.sleepNs(this.batchWorkedNs));
    return true;
  }

  override afterAlloc(t: number, npages: number, scavengedBytes: number, grownBytes: number): void {
    const ctx = this.ctx;
    this.inUseBeforeFrees = ctx.inUseBytes();
    this.inUseBeforeFreesNs = t;
    this.inUseSeen = this.inUseBeforeFrees;
    this.activity(t, false);
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
    // mallocgc after the span: heapLive grew by it; crossing the trigger starts a cycle.
    this.heapLiveBytes += npages * ctx.pageBytes;
    if (!this.cycleStarted && this.heapLiveBytes >= this.currentTrigger()) this.gcStart(t, false);
  }

  /** The trigger now: recomputed per allocation under a limit (its goal moves with mappedReady), else kept from the last gc or limit row. */
  private currentTrigger(): number {
    if (Number.isFinite(this.memoryLimit)) return this.heapTrigger();
    if (Number.isNaN(this.triggerNoLimit)) this.triggerNoLimit = this.heapTrigger();
    return this.triggerNoLimit;
  }
}
