// The replay engine: the event loop. Trace events, in trace order, go to the policy
// (when to release), the backend (which pages) and the OS (what is resident); meters
// (src/metrics) watch and measure. The engine itself keeps only what the simulation needs
// to run: the live spans' addresses, the in-use page count, the memory limit in force.
//
// Invariants:
// - One pass, in trace order; per event no allocation and no string work (the --emit
//   sink, when asked for, is the one exception and is off by default).
// - The backend only sees alloc/free/release; the engine touches what the program
//   writes (the touch model of src/os/touch.ts, run option `touch`) and owns the in-use
//   figure, from the spans the trace says are live.
// - Before an event at time t, the policy runs its timers and background work up to t;
//   each release it makes is dispatched to the meters with its own time and trigger.
// - A simulated out-of-memory (the OS refused address space) stops the replay at that
//   event; the result says where, and everything measured up to it is reported.
// - Wall time per op (timing on) is measured on a sample: every scavenge row, and allocs
//   and frees at random intervals averaging TIMING_INTERVAL ops (random so that no periodic
//   pattern in the trace aliases with it); with --emit every op, as each row carries it.
// - A Replayer is fed batches synchronously, so `compare` can feed one parsed trace to
//   several replayers without reading it again.

// The module's performance, not the global: the global is a getter that checks its receiver on every call.
import { performance } from 'node:perf_hooks';
import { SimulatedOomError, SimOS } from '../os/sim-os.js';
import { TouchModel } from '../os/touch.js';
import type { TouchFit } from './touch-fit.js';
import { defaultBackend, findBackend } from '../heap/registry.js';
import type { BackendInfo, PageHeap, ReserveMode } from '../heap/types.js';
import { createPolicy, type PolicyContext, type ReleasePolicy, type Trigger } from '../policy/index.js';
import { CostProbe } from '../metrics/cost-model.js';
import { METERS } from '../metrics/index.js';
import { mappedReadyBytes } from '../metrics/memory-meter.js';
import { dispatcher } from '../metrics/dispatch.js';
import type { EventRecord, Meter, ReleaseRecord, ReplayState } from '../metrics/meter.js';
import { newEventRecord } from '../metrics/meter.js';
import { AddressMeter } from '../metrics/address-meter.js';
import { EmitMeter, TimelineMeter, type EmitSink } from '../metrics/outputs.js';
import type { Timeline } from '../metrics/timeline.js';
import { OptionError, resolveRunOptions, type ResolvedRunOptions, type RunOptions } from '../options.js';
import { EventBatch, NOT_GIVEN, OP_ALLOC, OP_FREE, OP_LIMIT, OP_NAMES, OP_SCAVENGE, OP_GC, type ReadStats, type TraceMeta } from '../trace/events.js';
import type { ReplayResult } from './result.js';
import { InvariantChecker } from './invariants.js';
import { grownFor } from '../util/grow.js';

/**
 * Allocs and frees per timed one, on average. Two performance.now() calls and a histogram
 * update cost about as much as a bitmap allocation (~200 ns on the 2-core CI machine);
 * one op in 8 keeps that under 1/8 of it and still gives a million-op trace 125k samples.
 */
const TIMING_INTERVAL = 8;

export interface ReplayOptions extends Omit<RunOptions, 'backend'> {
  /** Backend name or alias, or the backend itself (default: the newest era). */
  backend?: string | BackendInfo;
  /** Receives one row per op (--emit). */
  emit?: EmitSink;
  /** Receives memory figures against trace time (--timeline). */
  timeline?: Timeline;
  /** Keep every allocation's address, in trace order (compare's placementMatch). */
  recordAddrs?: boolean;
  /** Further meters, run after the built-in ones. */
  meters?: ((state: ReplayState) => Meter)[];
  /** Under touch `fit`: the fit (fitTouch) whose share this run uses. */
  touchFit?: TouchFit;
}

export type { EmitSink };

export class Replayer implements ReplayState {
  readonly os: SimOS;
  readonly heap: PageHeap;
  readonly backend: BackendInfo;
  readonly policy: ReleasePolicy;
  readonly pageBytes: number;
  readonly options: ResolvedRunOptions;
  readonly reserve: ReserveMode;
  /** What the program writes into the spans it allocates. */
  private readonly writes: TouchModel;
  /** The large-span written share the touch model uses (fitted, under touch `fit`). */
  private readonly writtenPercent: number;
  private readonly touchFit: TouchFit | null;
  readonly touchAssumption: ReplayState['touchAssumption'];
  /** Trace time the heap reads (HeapOptions.clock); set before each event. */
  private readonly clock = { now: 0 };

  // ReplayState: what meters read.
  inUsePages = 0;
  limitBytes: number;
  seq = 0;

  private readonly meters: Meter[];
  private readonly advanceMeters: (time: number) => void;
  private readonly beforeEvent: (e: EventRecord) => void;
  private readonly afterEvent: (e: EventRecord) => void;
  private readonly afterRelease: (r: ReleaseRecord) => void;
  private readonly addressMeter: AddressMeter;
  private readonly rec: EventRecord = newEventRecord();
  private readonly rel: ReleaseRecord = { time: 0, trigger: 'trace', bytes: 0, addr: -1, modelNs: 0 };
  private readonly opCost: CostProbe;
  private readonly releaseCost: CostProbe;

  /** Base address of the live span in each id slot. */
  private slotBase = new Float64Array(1024);
  private stopped = false;
  private oom: ReplayResult['oom'] = null;
  private wallNs = 0;
  /** When the first batch was asked for (performance.now ms), NaN before; and when the last one was replayed. */
  private startedMs = NaN;
  private endedMs = NaN;
  private lastReleaseNs = 0;
  /** Ops until the next timed one (1: every op is timed), and the xorshift state drawing the gaps. */
  private readonly timingInterval: number;
  private untilTimed = 1;
  private timingRng = 0x9e3779b9;

  constructor(
    readonly meta: TraceMeta,
    options: ReplayOptions = {},
  ) {
    const b = options.backend;
    this.backend = typeof b === 'object' ? b : b !== undefined ? findBackend(b) : defaultBackend();
    this.pageBytes = meta.pageBytes;
    this.options = resolveRunOptions(options, meta);
    this.limitBytes = this.options.memoryLimitBytes;
    this.timingInterval = options.emit !== undefined ? 1 : TIMING_INTERVAL;
    this.reserve = options.reserve ?? this.backend.reserveModes[0];
    if (!this.backend.reserveModes.includes(this.reserve)) {
      throw new OptionError(
        'reserve',
        `backend ${this.backend.name} (${this.backend.goVersion}) models reservation modes ${this.backend.reserveModes.join(', ')}, not ${this.reserve}`,
      );
    }
    const o = this.options;
    this.os = new SimOS({ physPageBytes: o.physPageBytes, ulimitVBytes: o.ulimitVBytes, madvise: o.madvise, thp: o.thp });
    this.heap = this.createHeap();
    // A fit given to a run that does not fit is not its assumption: only touch `fit` uses and reports it.
    this.touchFit = o.touch === 'fit' ? (options.touchFit ?? null) : null;
    if (o.touch === 'fit' && this.touchFit === null) {
      throw new OptionError(
        'touch',
        'touch fit needs the trace loaded and fitted before the run (fitTouch, src/replay/touch-fit.ts; the replay functions do it)',
      );
    }
    this.writtenPercent = o.touch === 'fit' ? this.touchFit!.writtenPercent : o.writtenPercent;
    this.writes = new TouchModel(this.os, o.touch === 'all' ? 'all' : 'needzero', this.pageBytes, this.writtenPercent);
    this.touchAssumption = { writtenShare: o.touch === 'all' ? 1 : this.writtenPercent / 100, fitted: this.touchFit !== null };
    this.policy = createPolicy(options.policy ?? 'trace', this.policyContext(), {
      memoryLimitBytes: Number.isNaN(o.memoryLimitBytes) ? undefined : o.memoryLimitBytes,
    });
    const heap = this.heap;
    this.opCost = new CostProbe(heap, this.os);
    this.releaseCost = new CostProbe(heap, this.os);

    this.addressMeter = new AddressMeter(options.recordAddrs ?? false);
    this.meters = METERS.map((m) => (m.name === 'address' ? this.addressMeter : m.create(this, { recordAddrs: false })));
    if (options.timeline !== undefined) this.meters.push(new TimelineMeter(this, options.timeline));
    if (options.emit !== undefined) this.meters.push(new EmitMeter(this, options.emit));
    for (const make of options.meters ?? []) this.meters.push(make(this));
    if (options.check === true) this.meters.push(new InvariantChecker(this, this.writes.writesWholeSpans));
    this.advanceMeters = dispatcher(this.meters, 'advance');
    this.beforeEvent = dispatcher(this.meters, 'before');
    this.afterEvent = dispatcher(this.meters, 'event');
    this.afterRelease = dispatcher(this.meters, 'release');
  }

  /** The heap; a program that cannot even start (out of address space) gets an empty one. */
  private createHeap(): PageHeap {
    const { pageBytes, reserve, clock } = this;
    const seed = this.options.seed;
    // The policy is created after the heap; growth only happens once events run.
    const onGrow = (bytes: number): void => this.policy.onGrow(clock.now, bytes);
    try {
      return this.backend.create({ os: this.os, pageBytes, seed, reserve, clock, onGrow });
    } catch (err) {
      if (!(err instanceof SimulatedOomError)) throw err;
      this.oom = { seq: 0, time: 0, line: 0, op: 'start', message: err.message };
      this.stopped = true;
      return this.backend.create({ os: new SimOS({ physPageBytes: this.options.physPageBytes }), pageBytes, seed, reserve, clock, onGrow });
    }
  }

  /** Every allocation's address in trace order (only with recordAddrs). */
  get allocationAddresses(): Float64Array {
    return this.addressMeter.addresses;
  }

  get done(): boolean {
    return this.stopped;
  }

  get events(): number {
    return this.seq;
  }

  /** Replays one batch. Returns false once the replay has stopped (out of memory). */
  step(batch: EventBatch): boolean {
    if (this.stopped) return false;
    const n = batch.length;
    let i = 0;
    try {
      for (; i < n; i++) this.event(batch, i);
    } catch (err) {
      if (!(err instanceof SimulatedOomError)) throw err;
      this.oom = { seq: this.seq, time: batch.time[i], line: batch.line[i], op: OP_NAMES[batch.op[i]], message: err.message };
      this.stopped = true;
      return false;
    }
    return true;
  }

  private advance(time: number): void {
    this.advanceMeters(time);
  }

  private event(b: EventBatch, i: number): void {
    const op = b.op[i];
    const time = b.time[i];
    // Meters start their clocks at the first event; then the policy's timers and
    // background scavenger run up to this event, releasing at their own times.
    if (this.seq === 0) this.advance(time);
    this.policy.advance(time);
    this.clock.now = time;
    this.seq++;
    this.advance(time);
    const e = this.fill(b, i);
    if (op <= OP_SCAVENGE) this.operate(e, b.slot[i]);
    else if (op === OP_GC) this.policy.onGc(time, e.bytes);
    else if (op === OP_LIMIT) {
      this.limitBytes = e.bytes > 0 ? e.bytes : NaN;
      this.policy.onLimit(time, e.bytes > 0 ? e.bytes : Infinity);
    }
    this.afterEvent(e);
  }

  /** The reused event record, filled from row i of the batch. */
  private fill(b: EventBatch, i: number): EventRecord {
    const e = this.rec;
    e.seq = this.seq;
    e.time = b.time[i];
    e.op = b.op[i];
    e.line = b.line[i];
    e.id = b.ids[i] ?? '';
    e.pages = b.pages[i];
    e.p = b.p[i];
    e.bytes = b.bytes[i];
    e.huge = b.huge[i];
    e.traceAddr = b.op[i] === OP_ALLOC || b.op[i] === OP_SCAVENGE ? b.addr[i] : NOT_GIVEN;
    e.addr = NOT_GIVEN;
    e.scavengedPages = 0;
    e.releasedBytes = 0;
    e.work = 0;
    e.timed = false;
    e.wallNs = 0;
    e.modelNs = 0;
    return e;
  }

  /** Runs an alloc, free or scavenge row through the policy and backend, priced. */
  private operate(e: EventRecord, slot: number): void {
    this.beforeEvent(e);
    const heap = this.heap;
    const timed = this.options.timing && (e.op === OP_SCAVENGE || this.timeThisOp());
    this.opCost.begin();
    const t0 = timed ? performance.now() : 0;
    if (e.op === OP_ALLOC) {
      const heap0 = heap.heapPages;
      e.addr = heap.alloc(e.pages, e.p);
      // Inline scavenging (Go 1.12-1.19) is part of the allocation and of its latency.
      this.policy.afterAlloc(e.time, e.pages, heap.lastScavengedPages * this.pageBytes, (heap.heapPages - heap0) * this.pageBytes);
    } else if (e.op === OP_FREE) {
      e.addr = this.slotBase[slot];
      heap.free(e.addr, e.pages, e.p);
    } else {
      e.releasedBytes = this.policy.onScavengeRow(e.time, e.bytes);
    }
    e.wallNs = timed ? Math.round((performance.now() - t0) * 1e6) : 0;
    e.timed = timed;
    if (e.op === OP_ALLOC) this.allocated(e, slot);
    else if (e.op === OP_FREE) this.inUsePages -= e.pages;
    e.work = this.opCost.work();
    e.modelNs = this.opCost.modelNs();
  }

  /** Whether to time this alloc or free: counts down to the next sample, then draws the gap after it (1 .. 2*interval-1). */
  private timeThisOp(): boolean {
    if (--this.untilTimed > 0) return false;
    let x = this.timingRng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.timingRng = x >>> 0;
    this.untilTimed = this.timingInterval === 1 ? 1 : 1 + (this.timingRng % (2 * this.timingInterval - 1));
    return true;
  }

  /** After an allocation: the program writes its span (as the touch model says); the slot remembers where it is. */
  private allocated(e: EventRecord, slot: number): void {
    this.writes.allocated(e.addr, e.pages);
    e.scavengedPages = this.heap.lastScavengedPages;
    this.inUsePages += e.pages;
    if (slot >= this.slotBase.length) this.slotBase = grownFor(this.slotBase, slot);
    this.slotBase[slot] = e.addr;
  }

  /** A release a policy asked for: run it, price it, tell the meters. */
  private release(time: number, trigger: Trigger, run: () => number): number {
    this.advance(time);
    this.releaseCost.begin();
    this.os.lowestReleasedBase = Infinity;
    const released = run();
    const r = this.rel;
    r.time = time;
    r.trigger = trigger;
    r.bytes = released;
    r.addr = Number.isFinite(this.os.lowestReleasedBase) ? this.os.lowestReleasedBase : -1;
    r.modelNs = this.releaseCost.modelNs(false);
    this.lastReleaseNs = r.modelNs;
    this.afterRelease(r);
    return released;
  }

  /** What policies see and may do (src/policy/types.ts). */
  private policyContext(): PolicyContext {
    // The getter below runs with `this` bound to the context object, so it needs a name for the engine.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    const pb = this.pageBytes;
    return {
      pageBytes: pb,
      physPageBytes: this.os.physPageBytes,
      gogc: this.options.gogc,
      gomaxprocs: this.options.gomaxprocs,
      retainExtraPercent: this.options.retainExtraPercent,
      scavengerCpuPercent: this.options.scavengerCpuPercent,
      unscavengedHugePages: () => self.heap.unscavengedHugePages?.() ?? 0,
      retainedBytes: () => (self.heap.heapPages - self.heap.releasedPages) * pb,
      inUseBytes: () => self.inUsePages * pb,
      mappedReadyBytes: () => mappedReadyBytes(self),
      release: (time, nbytes, trigger) => self.release(time, trigger, () => self.heap.release(nbytes)),
      releaseIdle: (time, cutoff, trigger) => self.release(time, trigger, () => self.heap.releaseIdle(cutoff)),
      get lastReleaseNs() {
        return self.lastReleaseNs;
      },
    };
  }

  /** A batch is about to be asked for: the elapsed time starts with the first. */
  markStart(): void {
    if (Number.isNaN(this.startedMs)) this.startedMs = performance.now();
  }

  /** A batch took ns to replay, ending now (ms). */
  addWallNs(ns: number, nowMs: number): void {
    this.wallNs += ns;
    this.endedMs = nowMs;
  }

  private wall(): ReplayResult['wall'] {
    const elapsedNs = Number.isNaN(this.endedMs) ? 0 : (this.endedMs - this.startedMs) * 1e6;
    const rate = (ns: number) => (ns > 0 ? Math.round((this.seq * 1e9) / ns) : null);
    return { replayNs: Math.round(this.wallNs), elapsedNs: Math.round(elapsedNs), eventsPerSecond: rate(elapsedNs), replayEventsPerSecond: rate(this.wallNs) };
  }

  /** The result of everything replayed so far: the run's identity, then each meter's slice. */
  result(stats: ReadStats): ReplayResult {
    const o = this.options;
    const os = this.os;
    const r: ReplayResult = {
      schema: 'heapsim.result/1',
      trace: {
        file: this.meta.file,
        metadata: this.meta.metadata,
        pageBytes: this.pageBytes,
        events: stats.events,
        rows: stats.rows,
        skipped: stats.skipped,
        skippedByKind: stats.skippedByKind,
      },
      backend: this.backend.name,
      goVersion: this.backend.goVersion,
      policy: this.policy.name,
      options: {
        reserve: this.reserve,
        madvise: os.madvise,
        physPageBytes: os.physPageBytes,
        ulimitVBytes: Number.isFinite(os.ulimitVBytes) ? os.ulimitVBytes : null,
        seed: o.seed,
        timing: o.timing,
        thp: os.thp,
        touch: o.touch,
        writtenPercent: o.touch === 'all' ? null : this.writtenPercent,
        touchFit: this.touchFit,
        gogc: o.gogc,
        gomaxprocs: o.gomaxprocs,
        memoryLimitBytes: Number.isNaN(o.memoryLimitBytes) ? null : o.memoryLimitBytes,
        retainExtraPercent: o.retainExtraPercent,
        scavengerCpuPercent: o.scavengerCpuPercent,
      },
      outcome: this.oom === null ? 'ok' : 'oom',
      oom: this.oom,
      summary: {} as ReplayResult['summary'],
      fragmentation: {} as ReplayResult['fragmentation'],
      gap: { atPeak: null },
      latency: {} as ReplayResult['latency'],
      shape: this.heap.shape(),
      wall: this.wall(),
    };
    for (const m of this.meters) m.contribute(r);
    return r;
  }
}
