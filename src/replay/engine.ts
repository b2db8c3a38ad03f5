// The replay engine: trace events -> policy -> backend -> OS layer, measured.
//
// Invariants:
// - One pass, in trace order; per event no allocation and no string work (the emit
//   sink, when asked for, is the one exception and is off by default).
// - The backend only sees alloc/free/release; the engine touches what the program
//   writes (default touch model: every page of a span is written when it is
//   allocated) and owns the in-use figure, from the spans the trace says are live.
// - A simulated out-of-memory (the OS refused address space) stops the replay at that
//   event; the result says where, and everything measured up to it is reported.
// - A Replayer is fed batches synchronously, so `compare` can feed one parsed trace to
//   several replayers without reading it again.

import { AddressSpaceLimitError, SimOS, type ThpMode } from '../os/sim-os.js';
import { defaultBackend, findBackend } from '../heap/registry.js';
import type { BackendInfo, PageHeap, ReserveMode } from '../heap/types.js';
import { UsageError } from '../errors.js';
import { createPolicy, TRIGGERS, type PolicyContext, type ReleasePolicy, type Trigger } from '../policy/index.js';
import { Histogram } from '../metrics/histogram.js';
import { modelledNs } from '../metrics/cost-model.js';
import { EventBatch, NOT_GIVEN, OP_ALLOC, OP_FREE, OP_GC, OP_LIMIT, OP_NAMES, OP_SCAVENGE, type ReadStats, type TraceMeta } from '../trace/events.js';
import type { LatencyStats, ReplayResult } from './result.js';
import type { Timeline } from '../metrics/timeline.js';

export interface ReplayOptions {
  /** Backend name or alias (default: the newest era). */
  backend?: string | BackendInfo;
  policy?: string;
  /** Seed for backends with random choices. */
  seed?: number;
  physPageBytes?: number;
  ulimitVBytes?: number;
  /** Release with MADV_DONTNEED (default) or MADV_FREE. */
  madvise?: 'dontneed' | 'free';
  /** Transparent huge pages: never (default), madvise, always. */
  thp?: ThpMode;
  /** Address-space strategy (default: the backend's era). */
  reserve?: ReserveMode;
  /** Measure wall time around each backend call (default true). */
  timing?: boolean;
  /** Receives one row per op (--emit). */
  emit?: EmitSink;
  /** Keep every allocation's address, in trace order (compare's placementMatch). */
  recordAddrs?: boolean;
  /** Receives memory figures against trace time (--timeline). */
  timeline?: Timeline;
  /** GOGC for the heap goal (default: the trace's `gogc` metadata, else 100; negative: off). */
  gogc?: number;
  /** GOMAXPROCS: Go 1.19's scavenger may use 1% of this many CPUs (default: metadata, else 1). */
  gomaxprocs?: number;
  /** Memory limit at start, bytes (--memory-limit); `limit` rows change it. */
  memoryLimitBytes?: number;
}

export interface EmitSink {
  row(seq: number, time: number, op: string, id: string, pages: number, addr: number, scavPages: number, releasedBytes: number, work: number, ns: number): void;
}

export const DEFAULT_SEED = 1;

/** Per release trigger: bytes released, calls, modelled CPU time. */
class TriggerStats {
  bytes = 0;
  calls = 0;
  modelNs = 0;
}

class OpStats {
  readonly ns = new Histogram();
  readonly work = new Histogram();
  readonly model = new Histogram();

  add(ns: number, work: number, model: number): void {
    this.ns.add(ns);
    this.work.add(work);
    this.model.add(model);
  }

  result(): LatencyStats {
    return {
      count: this.ns.count,
      p50Ns: Math.round(this.ns.quantile(0.5)),
      p90Ns: Math.round(this.ns.quantile(0.9)),
      p99Ns: Math.round(this.ns.quantile(0.99)),
      maxNs: Math.round(this.ns.max),
      meanNs: Math.round(this.ns.mean),
      meanWork: this.work.mean,
      p99Work: this.work.quantile(0.99),
      maxWork: this.work.max,
      modelMeanNs: Math.round(this.model.mean),
      modelP99Ns: Math.round(this.model.quantile(0.99)),
      modelMaxNs: Math.round(this.model.max),
    };
  }
}

export class Replayer {
  readonly os: SimOS;
  readonly heap: PageHeap;
  /** Trace time the heap reads (HeapOptions.clock); set before each event. */
  private readonly clock = { now: 0 };
  readonly backend: BackendInfo;
  readonly policy: ReleasePolicy;
  private readonly pageBytes: number;
  private readonly timing: boolean;
  private readonly seed: number;
  private readonly reserve: ReserveMode;
  private readonly emit: EmitSink | undefined;
  private readonly timeline: Timeline | undefined;

  private slotBase = new Float64Array(1024);
  private readonly recordAddrs: boolean;
  private allocAddrs = new Float64Array(0);
  private nallocAddrs = 0;
  private seq = 0;
  private stopped = false;
  private oom: ReplayResult['oom'] = null;
  private wallNs = 0;

  // Counts and peaks.
  private readonly opCounts = new Float64Array(5);
  private inUsePages = 0;
  private peakInUsePages = 0;
  private peakHeapPages = 0;
  private peakRssBytes = 0;
  private peakRssNoLazyBytes = 0;
  private peakVsizeBytes = 0;
  private releasedBytes = 0;
  private scavengedPagesReused = 0;
  private addrChecked = 0;
  private addrMatched = 0;
  private firstAddrMiss: ReplayResult['summary']['firstAddrMiss'] = null;
  private lastGcLiveBytes = NOT_GIVEN;
  private limitBytes = NOT_GIVEN;
  private aboveLimitNs = 0;
  private readonly byTrigger = new Map<Trigger, TriggerStats>(TRIGGERS.map((t) => [t, new TriggerStats()]));
  private lastReleaseNs = 0;
  private readonly gogc: number;
  private readonly gomaxprocs: number;
  private readonly initialLimit: number | null;

  // Time-weighted RSS.
  private firstTime = NOT_GIVEN;
  private lastTime = 0;
  private lastRss = 0;
  private rssArea = 0;
  private rssSamples = 0;
  private rssSampleSum = 0;

  // Free-space snapshot when the heap last reached its peak.
  private atPeak = { freePages: 0, freeRuns: 0, largestFreeRunPages: 0, inUsePages: 0 };
  private snapshotPending = false;

  private readonly lat = [new OpStats(), new OpStats(), new OpStats()];

  constructor(
    readonly meta: TraceMeta,
    options: ReplayOptions = {},
  ) {
    const b = options.backend;
    this.backend = typeof b === 'object' ? b : b !== undefined ? findBackend(b) : defaultBackend();
    this.pageBytes = meta.pageBytes;
    const metaProcs = Number(meta.metadata.gomaxprocs);
    this.gogc = options.gogc ?? meta.gogc;
    this.gomaxprocs = options.gomaxprocs ?? (Number.isInteger(metaProcs) && metaProcs > 0 ? metaProcs : 1);
    if (options.memoryLimitBytes !== undefined && Number.isFinite(options.memoryLimitBytes)) this.limitBytes = options.memoryLimitBytes;
    this.initialLimit = this.limitBytes === NOT_GIVEN ? null : this.limitBytes;
    if (options.thp !== undefined && options.thp !== 'never' && (options.physPageBytes ?? 4096) !== 4096) {
      throw new UsageError(`--thp ${options.thp} models 2 MiB huge pages over 4 KiB pages; drop --phys-page ${options.physPageBytes}`);
    }
    this.os = new SimOS({ physPageBytes: options.physPageBytes, ulimitVBytes: options.ulimitVBytes, madvise: options.madvise, thp: options.thp });
    this.seed = options.seed ?? DEFAULT_SEED;
    const reserve = options.reserve ?? this.backend.reserveModes[0];
    if (!this.backend.reserveModes.includes(reserve)) {
      throw new UsageError(`backend ${this.backend.name} (${this.backend.goVersion}) models --reserve ${this.backend.reserveModes.join('|')}, not ${reserve}`);
    }
    this.reserve = reserve;
    let heap: PageHeap;
    const clock = this.clock;
    // The policy is created below, after the heap; growth only happens once events run.
    const onGrow = (bytes: number): void => this.policy.onGrow(clock.now, bytes);
    try {
      heap = this.backend.create({ os: this.os, pageBytes: meta.pageBytes, seed: this.seed, reserve, clock, onGrow });
    } catch (err) {
      if (!(err instanceof AddressSpaceLimitError)) throw err;
      // The program could not even start: report it, with an empty heap for the figures.
      this.oom = { seq: 0, time: 0, line: 0, op: 'start', message: err.message };
      this.stopped = true;
      heap = this.backend.create({ os: new SimOS({ physPageBytes: options.physPageBytes }), pageBytes: meta.pageBytes, seed: this.seed, reserve, clock, onGrow });
      this.peakVsizeBytes = this.os.vsizeBytes;
    }
    this.heap = heap;
    this.policy = createPolicy(options.policy ?? 'trace', this.policyContext(), { memoryLimitBytes: options.memoryLimitBytes });
    this.timing = options.timing ?? true;
    this.emit = options.emit;
    this.timeline = options.timeline;
    this.recordAddrs = options.recordAddrs ?? false;
    if (this.recordAddrs) this.allocAddrs = new Float64Array(1024);
  }

  /** Every allocation's address in trace order (only with recordAddrs). */
  get allocationAddresses(): Float64Array {
    return this.allocAddrs.subarray(0, this.nallocAddrs);
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
      if (!(err instanceof AddressSpaceLimitError)) throw err;
      this.oom = {
        seq: this.seq,
        time: batch.time[i],
        line: batch.line[i],
        op: OP_NAMES[batch.op[i]],
        message: err.message,
      };
      this.stopped = true;
      return false;
    }
    return true;
  }

  private event(b: EventBatch, i: number): void {
    const heap = this.heap;
    const os = this.os;
    const op = b.op[i];
    const time = b.time[i];
    if (this.firstTime === NOT_GIVEN) {
      this.firstTime = time;
      this.lastTime = time;
    }
    // The policy's timers and background scavenger run up to this event first.
    this.policy.advance(time);
    this.clock.now = time;
    this.seq++;
    this.opCounts[op]++;
    this.accrue(time);

    if (op === OP_ALLOC || op === OP_FREE || op === OP_SCAVENGE) {
      const work0 = heap.work;
      const sys0 = os.mmapCalls + os.madviseCalls + os.munmapCalls;
      const rel0 = os.releasedBytes;
      const faults0 = os.pageFaults;
      const huge0 = os.hugeFaults;
      const t0 = this.timing ? performance.now() : 0;
      let addr = NOT_GIVEN;
      let scav = 0;
      let released = 0;
      const pages = b.pages[i];
      if (op === OP_ALLOC) {
        const heap0 = heap.heapPages;
        addr = heap.alloc(pages, b.p[i]);
        // Inline scavenging (Go 1.12-1.19) is part of the allocation and of its latency.
        this.policy.afterAlloc(time, pages, heap.lastScavengedPages * this.pageBytes, (heap.heapPages - heap0) * this.pageBytes);
      } else if (op === OP_FREE) {
        if (this.snapshotPending) this.takeSnapshot();
        addr = this.slotBase[b.slot[i]];
        heap.free(addr, pages, b.p[i]);
      } else {
        released = this.policy.onScavengeRow(time, b.bytes[i]);
      }
      const ns = this.timing ? Math.round((performance.now() - t0) * 1e6) : 0;
      if (op === OP_ALLOC) {
        os.touch(addr, pages * this.pageBytes);
        scav = heap.lastScavengedPages;
        this.scavengedPagesReused += scav;
        this.inUsePages += pages;
        if (this.inUsePages > this.peakInUsePages) this.peakInUsePages = this.inUsePages;
        const slot = b.slot[i];
        if (slot >= this.slotBase.length) this.growSlots(slot);
        this.slotBase[slot] = addr;
        if (this.recordAddrs) {
          if (this.nallocAddrs === this.allocAddrs.length) {
            const grown = new Float64Array(this.allocAddrs.length * 2);
            grown.set(this.allocAddrs);
            this.allocAddrs = grown;
          }
          this.allocAddrs[this.nallocAddrs++] = addr;
        }
        const want = b.addr[i];
        if (want !== NOT_GIVEN) {
          this.addrChecked++;
          if (want === addr) this.addrMatched++;
          else if (this.firstAddrMiss === null) this.firstAddrMiss = { seq: this.seq, line: b.line[i], want, got: addr };
        }
      } else if (op === OP_FREE) {
        this.inUsePages -= pages;
      }
      const work = heap.work - work0;
      const model = modelledNs(work, os.mmapCalls + os.madviseCalls + os.munmapCalls - sys0, os.releasedBytes - rel0, os.pageFaults - faults0, os.physPageBytes, os.hugeFaults - huge0);
      this.lat[op].add(ns, work, model);
      if (this.emit !== undefined) {
        this.emit.row(this.seq, time, OP_NAMES[op], b.ids[i], op === OP_SCAVENGE ? NOT_GIVEN : pages, addr, scav, released, work, ns);
      }
    } else if (op === OP_GC) {
      this.lastGcLiveBytes = b.bytes[i];
      this.policy.onGc(time, b.bytes[i]);
    } else if (op === OP_LIMIT) {
      this.limitBytes = b.bytes[i] > 0 ? b.bytes[i] : NOT_GIVEN;
      this.policy.onLimit(time, b.bytes[i] > 0 ? b.bytes[i] : Infinity);
    }

    const rss = os.rssBytes;
    this.lastRss = rss;
    this.rssSamples++;
    this.rssSampleSum += rss;
    if (rss > this.peakRssBytes) this.peakRssBytes = rss;
    const noLazy = rss - os.lazyFreeBytes;
    if (noLazy > this.peakRssNoLazyBytes) this.peakRssNoLazyBytes = noLazy;
    if (os.vsizeBytes > this.peakVsizeBytes) this.peakVsizeBytes = os.vsizeBytes;
    if (this.timeline !== undefined) {
      const pb = this.pageBytes;
      this.timeline.sample(time, this.inUsePages * pb, heap.heapPages * pb, rss, heap.releasedPages * pb, os.vsizeBytes, this.limitBytes);
    }
    // The fragmentation snapshot is the most in-use moment while the heap is at its
    // peak. It is taken lazily: a rise in in-use only marks it pending, and it is
    // computed just before in-use falls (the next free) or at the end, so freeStats runs
    // once per local maximum rather than once per allocation. Growth makes any pending
    // snapshot of the smaller heap obsolete.
    if (heap.heapPages > this.peakHeapPages) {
      this.peakHeapPages = heap.heapPages;
      this.atPeak.inUsePages = -1;
      this.snapshotPending = true;
    } else if (heap.heapPages === this.peakHeapPages && this.inUsePages > this.atPeak.inUsePages) {
      this.snapshotPending = true;
    }
  }

  /** Accrues time-weighted figures (RSS area, time above the limit) up to `time`. */
  private accrue(time: number): void {
    const dt = time - this.lastTime;
    if (dt <= 0) return;
    this.rssArea += this.lastRss * dt;
    if (this.limitBytes !== NOT_GIVEN && this.lastRss > this.limitBytes) this.aboveLimitNs += dt;
    this.lastTime = time;
  }

  /** Go 1.19's mappedReady: the retained heap plus the metadata Go counts as Ready. */
  private mappedReadyBytes(): number {
    const h = this.heap;
    return (h.heapPages - h.releasedPages) * this.pageBytes + (h.metadataReadyBytes ?? 0);
  }

  /** What policies see and may do (src/policy/types.ts). */
  private policyContext(): PolicyContext {
    const self = this;
    const heap = () => this.heap;
    const pb = this.pageBytes;
    const counted = (time: number, trigger: Trigger, quantumBytes: number, run: () => number): number => {
      if (time > self.lastTime) self.accrue(time);
      const h = heap();
      const os = self.os;
      const work0 = h.work;
      const sys0 = os.mmapCalls + os.madviseCalls + os.munmapCalls;
      const rel0 = os.releasedBytes;
      const faults0 = os.pageFaults;
      const released = run();
      const syscalls = os.mmapCalls + os.madviseCalls + os.munmapCalls - sys0;
      // A scavenger working in quanta makes at least one madvise per quantum.
      const quantumCalls = quantumBytes > 0 ? Math.ceil(released / quantumBytes) : 0;
      const ns = modelledNs(h.work - work0, Math.max(syscalls, quantumCalls), os.releasedBytes - rel0, os.pageFaults - faults0, os.physPageBytes);
      const st = self.byTrigger.get(trigger) as TriggerStats;
      st.bytes += released;
      st.calls++;
      st.modelNs += ns;
      self.lastReleaseNs = ns;
      self.releasedBytes += released;
      const rss = os.rssBytes;
      self.lastRss = rss;
      if (self.timeline !== undefined && released > 0) {
        self.timeline.sample(time, self.inUsePages * pb, h.heapPages * pb, rss, h.releasedPages * pb, os.vsizeBytes, self.limitBytes);
      }
      return released;
    };
    return {
      pageBytes: pb,
      physPageBytes: this.os.physPageBytes,
      gogc: this.gogc,
      gomaxprocs: this.gomaxprocs,
      retainedBytes: () => (heap().heapPages - heap().releasedPages) * pb,
      inUseBytes: () => self.inUsePages * pb,
      mappedReadyBytes: () => self.mappedReadyBytes(),
      release: (time, nbytes, trigger, quantumBytes = 0) => counted(time, trigger, quantumBytes, () => heap().release(nbytes)),
      releaseIdle: (time, cutoff, trigger) => counted(time, trigger, 0, () => heap().releaseIdle(cutoff)),
      get lastReleaseNs() {
        return self.lastReleaseNs;
      },
    };
  }

  private takeSnapshot(): void {
    const fs = this.heap.freeStats();
    this.atPeak = { freePages: fs.freePages, freeRuns: fs.freeRuns, largestFreeRunPages: fs.largestFreeRunPages, inUsePages: this.inUsePages };
    this.snapshotPending = false;
  }

  private growSlots(slot: number): void {
    let size = this.slotBase.length;
    while (size <= slot) size *= 2;
    const grown = new Float64Array(size);
    grown.set(this.slotBase);
    this.slotBase = grown;
  }

  addWallNs(ns: number): void {
    this.wallNs += ns;
  }

  /** The result of everything replayed so far. */
  result(stats: ReadStats): ReplayResult {
    if (this.snapshotPending) this.takeSnapshot();
    const pb = this.pageBytes;
    const os = this.os;
    const heap = this.heap;
    const duration = this.firstTime === NOT_GIVEN ? 0 : this.lastTime - this.firstTime;
    const meanRss = duration > 0 ? this.rssArea / duration : this.rssSamples > 0 ? this.rssSampleSum / this.rssSamples : 0;
    const peakInUse = this.peakInUsePages * pb;
    const peakHeap = this.peakHeapPages * pb;
    const free = this.atPeak.freePages;
    const ratio = (num: number, den: number): number | null => (den > 0 ? num / den : null);
    let cpuNs = 0;
    const releases: ReplayResult['summary']['releases'] = {};
    for (const [t, st] of this.byTrigger) {
      cpuNs += st.modelNs;
      if (st.calls > 0) releases[t] = { bytes: st.bytes, calls: st.calls, modelNs: Math.round(st.modelNs) };
    }
    return {
      schema: 'heapsim.result/1',
      trace: {
        file: this.meta.file,
        metadata: this.meta.metadata,
        pageBytes: pb,
        events: stats.events,
        rows: stats.rows,
        skipped: stats.skipped,
        skippedByKind: stats.skippedByKind,
      },
      backend: this.backend.name,
      goVersion: this.backend.goVersion,
      policy: this.policy.name,
      options: { reserve: this.reserve, madvise: os.madvise, physPageBytes: os.physPageBytes, ulimitVBytes: Number.isFinite(os.ulimitVBytes) ? os.ulimitVBytes : null, seed: this.seed, timing: this.timing, thp: os.thp, gogc: this.gogc, gomaxprocs: this.gomaxprocs, memoryLimitBytes: this.initialLimit },
      outcome: this.oom === null ? 'ok' : 'oom',
      oom: this.oom,
      summary: {
        ops: this.seq,
        allocs: this.opCounts[OP_ALLOC],
        frees: this.opCounts[OP_FREE],
        scavenges: this.opCounts[OP_SCAVENGE],
        gcs: this.opCounts[OP_GC],
        limits: this.opCounts[OP_LIMIT],
        traceDurationNs: duration,
        peakInUseBytes: peakInUse,
        finalInUseBytes: this.inUsePages * pb,
        peakHeapBytes: peakHeap,
        finalHeapBytes: heap.heapPages * pb,
        peakRssBytes: this.peakRssBytes,
        finalRssBytes: os.rssBytes,
        lazyFreeBytes: os.lazyFreeBytes,
        peakRssExcludingLazyBytes: this.peakRssNoLazyBytes,
        finalRssExcludingLazyBytes: os.rssBytes - os.lazyFreeBytes,
        meanRssBytes: Math.round(meanRss),
        peakVsizeBytes: this.peakVsizeBytes,
        finalVsizeBytes: os.vsizeBytes,
        committedBytes: os.committedBytes,
        metadataReservedBytes: heap.metadataReservedBytes ?? 0,
        metadataCommittedBytes: heap.metadataCommittedBytes ?? 0,
        releasedBytes: this.releasedBytes,
        runtimeReleasedBytes: heap.releasedPages * pb,
        runtimeRetainedBytes: (heap.heapPages - heap.releasedPages) * pb,
        osReleasedBytes: os.releasedBytes,
        scavengedBytesReused: this.scavengedPagesReused * pb,
        mmapCalls: os.mmapCalls,
        madviseCalls: os.madviseCalls,
        munmapCalls: os.munmapCalls,
        pageFaults: os.pageFaults,
        hugePageFaults: os.hugeFaults,
        refaults: os.refaults,
        lastGcLiveBytes: this.lastGcLiveBytes === NOT_GIVEN ? null : this.lastGcLiveBytes,
        limitBytes: this.limitBytes === NOT_GIVEN ? null : this.limitBytes,
        mappedReadyBytes: this.mappedReadyBytes(),
        timeAboveLimitNs: this.aboveLimitNs,
        scavengerCpuNs: Math.round(cpuNs),
        scavengerCpuShare: duration > 0 ? cpuNs / duration : null,
        releases,
        addrMatch: this.addrChecked > 0 ? this.addrMatched / this.addrChecked : null,
        addrChecked: this.addrChecked,
        firstAddrMiss: this.firstAddrMiss,
      },
      fragmentation: {
        externalAtPeak: free > 0 ? 1 - this.atPeak.largestFreeRunPages / free : 0,
        heapOverhead: ratio(peakHeap - peakInUse, peakInUse),
        rssOverhead: ratio(this.peakRssBytes - peakInUse, peakInUse),
        largestFreeRunBytesAtPeak: this.atPeak.largestFreeRunPages * pb,
        freeBytesAtPeak: free * pb,
        freeRunsAtPeak: this.atPeak.freeRuns,
        inUseBytesAtPeak: this.atPeak.inUsePages * pb,
      },
      latency: { alloc: this.lat[OP_ALLOC].result(), free: this.lat[OP_FREE].result(), scavenge: this.lat[OP_SCAVENGE].result() },
      shape: heap.shape(),
      wall: { replayNs: Math.round(this.wallNs), eventsPerSecond: this.wallNs > 0 ? Math.round((this.seq * 1e9) / this.wallNs) : null },
    };
  }
}

