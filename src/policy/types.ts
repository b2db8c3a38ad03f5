// The policy seam: when the runtime gives memory back, and how much.
//
// A policy is the runtime's release *rule* of one Go version: the periodic scavenger,
// the scavenging on growth and on the allocation path, the paced background scavenger,
// the memory limit. It never picks pages: it asks the engine, through PolicyContext, to
// release N bytes, and the backend answers in its era's page order. It sees what the
// runtime saw: its own statistics (heap_sys - heap_released, heap_inuse), the gc rows
// (marked heap -> heap goal), the limit rows, and trace time. It never sees the OS's
// RSS, as Go never did.
//
// Time: the engine calls advance(t) before every event at time t (and once at the end),
// so a policy runs its timers and background work up to t; it may release at any time
// in [previous event, t], and says when, so that time-weighted figures stay exact.

/** Why bytes were released: the figures are kept per trigger. */
export const TRIGGERS = ['trace', 'explicit', 'periodic', 'background', 'growth', 'reuse', 'limit'] as const;
export type Trigger = (typeof TRIGGERS)[number];

export const TRIGGER_DOC: Record<Trigger, string> = {
  trace: "the trace's own scavenge rows (policy trace)",
  explicit: 'debug.FreeOSMemory (an empty scavenge row)',
  periodic: "sysmon's periodic scavenge of spans idle for 5 minutes (Go 1.8-1.12)",
  background: 'the paced background scavenger (Go 1.13+)',
  growth: 'scavenging when the heap grows (Go 1.12+)',
  reuse: 'scavenging when an allocation reuses released memory (Go 1.12-1.13)',
  limit: 'the allocation path holding the memory limit (Go 1.19)',
};

export interface PolicyContext {
  /** Runtime page size (8192). */
  readonly pageBytes: number;
  readonly physPageBytes: number;
  /** GOGC; negative when off. */
  readonly gogc: number;
  readonly gomaxprocs: number;
  /** retainExtraPercent (Go 1.13-1.19: 10): the retained goal's headroom over the heap goal, in percent. */
  readonly retainExtraPercent: number;
  /** scavengePercent (Go 1.19: 1): the share of GOMAXPROCS CPUs the background scavenger aims to use. */
  readonly scavengerCpuPercent: number;
  /**
   * Free memory that is not released, counted in whole huge pages (Go 1.13's
   * mheap_.free.unscavHugePages); 0 from a backend that does not track it.
   */
  unscavengedHugePages(): number;
  /** heap_sys - heap_released: what the runtime believes it retains of the heap. */
  retainedBytes(): number;
  /** heap_inuse: bytes in in-use spans. */
  inUseBytes(): number;
  /**
   * mappedReady (Go 1.19): mapped memory not released — the retained heap plus the
   * allocator metadata Go counts as Ready. Compared against the memory limit.
   */
  mappedReadyBytes(): number;
  /**
   * Releases at least nbytes (negative: every free page) at trace time `time`, counted
   * under `trigger`, priced by the madvise calls the backend made. Returns the bytes released.
   */
  release(time: number, nbytes: number, trigger: Trigger): number;
  /** Releases the free spans unused since before `cutoff` (Go 1.8-1.12's sysmon rule). */
  releaseIdle(time: number, cutoff: number, trigger: Trigger): number;
  /** Modelled CPU time (ns) of the last release or releaseIdle call. */
  readonly lastReleaseNs: number;
}

export interface ReleasePolicy {
  readonly name: string;
  /** Runs timers and background work up to trace time t. */
  advance(t: number): void;
  /** A scavenge row: bytes, or -1 when empty (debug.FreeOSMemory). Returns bytes released. */
  onScavengeRow(t: number, bytes: number): number;
  /** A GC cycle ended with markedBytes of live heap. */
  onGc(t: number, markedBytes: number): void;
  /** The memory limit became limitBytes (Infinity: none). */
  onLimit(t: number, limitBytes: number): void;
  /** The backend is growing by grownBytes; the new memory is not yet free to allocate. */
  onGrow(t: number, grownBytes: number): void;
  /**
   * After an allocation of npages: scavengedBytes of it had been released (the
   * allocation faults them back in), and the heap grew by grownBytes to satisfy it.
   */
  afterAlloc(t: number, npages: number, scavengedBytes: number, grownBytes: number): void;
}

/** Defaults: react to nothing; FreeOSMemory releases everything. */
export abstract class PolicyBase implements ReleasePolicy {
  abstract readonly name: string;
  constructor(protected readonly ctx: PolicyContext) {}
  advance(_t: number): void {}
  onScavengeRow(t: number, bytes: number): number {
    return bytes < 0 ? this.ctx.release(t, -1, 'explicit') : 0;
  }
  onGc(_t: number, _markedBytes: number): void {}
  onLimit(_t: number, _limitBytes: number): void {}
  onGrow(_t: number, _grownBytes: number): void {}
  afterAlloc(_t: number, _npages: number, _scavengedBytes: number, _grownBytes: number): void {}
}

/** The heap goal after a cycle that marked `markedBytes`: marked * (1 + GOGC/100). */
export function heapGoalBytes(markedBytes: number, gogc: number): number {
  return gogc < 0 ? Infinity : markedBytes + Math.floor((markedBytes * gogc) / 100);
}

/**
 * The retained-memory goal Go 1.13-1.19 pace to: the heap in use at the last GC scaled by
 * how the heap goal moved (heapGoal / lastHeapGoal), plus retainExtraPercent, rounded up
 * to a physical page (gcPaceScavenger in both versions).
 */
export function retainedGoalBytes(lastHeapInUse: number, heapGoal: number, lastHeapGoal: number, retainExtraPercent: number, physPageBytes: number): number {
  let goal = Math.floor(lastHeapInUse * (heapGoal / lastHeapGoal));
  goal += Math.floor(goal / (100 / retainExtraPercent));
  return Math.ceil(goal / physPageBytes) * physPageBytes;
}

/** Longest stretch of trace time a background scavenger is advanced in one go. */
export const BACKGROUND_STEP_NS = 100e6;

/**
 * A scavenger goroutine (Go 1.13+): parked until woken, then working through trace time
 * in steps of at most BACKGROUND_STEP_NS until it parks itself again.
 */
export abstract class BackgroundScavenger extends PolicyBase {
  protected parked = true;
  private lastT = NaN;

  /** One stretch of work at trace time `at`, `dtNs` after the previous one. */
  protected abstract work(at: number, dtNs: number): void;

  override advance(t: number): void {
    if (this.parked || Number.isNaN(this.lastT) || t <= this.lastT) {
      this.lastT = Math.max(Number.isNaN(this.lastT) ? t : this.lastT, t);
      return;
    }
    for (let s = this.lastT + BACKGROUND_STEP_NS; s < t && !this.parked; s += BACKGROUND_STEP_NS) this.step(s);
    if (!this.parked) this.step(t);
    this.lastT = t;
  }

  private step(at: number): void {
    const dt = at - this.lastT;
    this.lastT = at;
    this.work(at, dt);
  }
}
