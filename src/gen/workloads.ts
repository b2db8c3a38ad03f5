// Workload generators for `heapsim gen`: deterministic streams of trace rows (format
// v1) that provoke the problems the seeds describe. Each generator is a state machine
// that emits one row per call, so output streams in constant memory; the same seed
// gives the same bytes.
//
// Sizes are in 8 KiB pages; times in nanoseconds of trace time.
//
// Time axis: a workload allocates at a steady rate in bytes per second, as a real service
// does (Go services allocate tens to hundreds of MiB/s). An allocation row advances the
// clock by its bytes at that rate, times a uniform jitter in [0.5, 1.5); a row that
// allocates nothing (free, gc) advances it by FREE_GAP_NS. So the trace lasts as long as
// the program it models would take to allocate its bytes, and time-based policies (idle
// ages, pacing) see realistic durations. Each workload's rate is in WORKLOADS and
// docs/workloads.md.

import { UsageError } from '../errors.js';
export { mulberry32 } from '../util/rng.js';

export type Rng = () => number;

export interface Workload {
  readonly name: string;
  readonly summary: string;
  /** Where the behaviour comes from (seed document or Go issue). */
  readonly reproduces: string;
  /** A row source; `events` is the requested length (large-heap sizes its population by it). */
  make(rand: Rng, events: number): RowSource;
  /** Steady allocation rate, bytes per second of trace time. */
  readonly allocBytesPerSec: number;
}

/** Emits rows; `time` is the row's time, which never decreases. */
export interface RowSource {
  next(): string;
}

const PAGE = 8192;
const MIB = 1 << 20;
const NS_PER_SEC = 1e9;
/** Trace time a row that allocates nothing takes: about a sweeper's cost of one span. */
const FREE_GAP_NS = 1000;

/** Live spans by id, with O(1) removal of a random one or of a given id. */
class LiveSet {
  ids: number[] = [];
  pages: number[] = [];
  private readonly slot = new Map<number, number>();
  totalPages = 0;

  add(id: number, pages: number): void {
    this.slot.set(id, this.ids.length);
    this.ids.push(id);
    this.pages.push(pages);
    this.totalPages += pages;
  }

  /** Removes the k-th span; returns its id. */
  take(k: number): number {
    const id = this.ids[k];
    this.totalPages -= this.pages[k];
    const last = this.ids.length - 1;
    this.ids[k] = this.ids[last];
    this.pages[k] = this.pages[last];
    this.slot.set(this.ids[k], k);
    this.slot.delete(id);
    this.ids.pop();
    this.pages.pop();
    return id;
  }

  /** Removes the span with this id (which must be live). */
  takeId(id: number): void {
    this.take(this.slot.get(id) as number);
  }

  get size(): number {
    return this.ids.length;
  }
}

/** A small span as the Go runtime's size classes produce them: mostly 1 page. */
function smallPages(rand: Rng): number {
  const r = rand();
  if (r < 0.62) return 1;
  if (r < 0.8) return 2;
  if (r < 0.9) return 3 + Math.floor(rand() * 6);
  if (r < 0.98) return 9 + Math.floor(rand() * 40);
  return 49 + Math.floor(rand() * 79);
}

/** Common base: rows with a clock, ids, P numbers and periodic gc rows. */
abstract class Base implements RowSource {
  protected time = 0;
  protected nextId = 0;
  protected readonly live = new LiveSet();
  protected queue: string[] = [];

  constructor(
    protected readonly rand: Rng,
    protected readonly allocBytesPerSec: number,
    protected readonly nprocs = 2,
  ) {}

  /** Advances the clock for a row that allocates `bytes` (0: a free or gc row) at `rate`. */
  protected tick(bytes: number, rate = this.allocBytesPerSec): void {
    const ns = bytes > 0 ? (bytes / rate) * NS_PER_SEC : FREE_GAP_NS;
    this.time += Math.max(1, Math.round(ns * (0.5 + this.rand())));
  }

  protected p(): number {
    return Math.floor(this.rand() * this.nprocs);
  }

  protected alloc(pages: number, p: number = this.p(), rate = this.allocBytesPerSec): string {
    this.tick(pages * PAGE, rate);
    const id = this.nextId++;
    this.live.add(id, pages);
    return `${this.time},alloc,s${id},${pages},,${p < 0 ? '' : p}`;
  }

  /** One step of churn around a live-heap target: allocate below it, free above it. */
  protected churn(targetPages: number, pages: () => number): string {
    const below = this.live.totalPages < targetPages * (0.9 + 0.2 * this.rand());
    return below || this.live.size === 0 ? this.alloc(pages()) : this.freeRandom();
  }

  protected freeRandom(p: number = this.p()): string {
    this.tick(0);
    const id = this.live.take(Math.floor(this.rand() * this.live.size));
    return `${this.time},free,s${id},,,${p < 0 ? '' : p}`;
  }

  /** Heap goal in pages: GOGC=100 doubles the marked heap; 4 MiB at least. */
  private goalPages = (4 * MIB) / PAGE;
  private sinceGc = 0;

  protected gc(): string {
    this.tick(0);
    this.sinceGc = 0;
    this.goalPages = Math.max((4 * MIB) / PAGE, 2 * this.live.totalPages);
    return `${this.time},gc,,,${this.live.totalPages * PAGE},`;
  }

  /** A cycle ends when the heap reaches its goal, or after `period` events regardless. */
  protected gcDue(period: number): boolean {
    return ++this.sinceGc >= period || this.live.totalPages >= this.goalPages;
  }

  next(): string {
    if (this.queue.length === 0) this.refill();
    return this.queue.shift() as string;
  }

  /** Adds at least one row to the queue. */
  protected abstract refill(): void;
}

/** Small spans churning around a steady live heap. */
class Steady extends Base {
  private readonly targetPages = (64 * MIB) / PAGE;
  protected refill(): void {
    if (this.gcDue(5000)) {
      this.queue.push(this.gc());
      return;
    }
    this.queue.push(this.churn(this.targetPages, () => smallPages(this.rand)));
  }
}

/**
 * A steady 64 MiB heap whose live size jumps eightfold every two minutes of trace time
 * and falls back: a scavenger that waits five minutes never returns the spike's memory.
 */
class Spike extends Base {
  private readonly basePages = (64 * MIB) / PAGE;
  private readonly spikePages = (512 * MIB) / PAGE;
  private readonly periodNs = 120e9;
  /** The spike allocates faster than the steady churn: a batch job loading its data. */
  private readonly spikeBytesPerSec = 64 * MIB;
  private spikeIds: number[] = [];
  private phase: 'steady' | 'up' | 'down' = 'steady';
  private nextSpikeAt = 30e9;
  protected refill(): void {
    if (this.gcDue(4000)) {
      this.queue.push(this.gc());
      return;
    }
    if (this.phase === 'steady' && this.time >= this.nextSpikeAt) this.phase = 'up';
    if (this.phase === 'up') {
      const pages = 16 + Math.floor(this.rand() * 240);
      this.spikeIds.push(this.nextId);
      this.queue.push(this.alloc(pages, this.p(), this.spikeBytesPerSec));
      if (this.live.totalPages >= this.basePages + this.spikePages) this.phase = 'down';
      return;
    }
    if (this.phase === 'down') {
      // Free the spike's spans, one per event.
      const id = this.spikeIds.pop() as number;
      this.tick(0);
      this.live.takeId(id);
      this.queue.push(`${this.time},free,s${id},,,${this.p()}`);
      if (this.spikeIds.length === 0) {
        this.phase = 'steady';
        this.nextSpikeAt = this.time + this.periodNs;
      }
      return;
    }
    this.queue.push(this.churn(this.basePages, () => smallPages(this.rand)));
  }
}

/**
 * Long- and short-lived spans interleaved, then the short ones freed, so free memory is
 * many small holes; then large allocations that fit no hole.
 */
class Fragmenter extends Base {
  /** The round's rows, '@' standing for the time, with the pages each allocates (0 for a free). */
  private round: string[] = [];
  private roundPages: number[] = [];
  private longLived = new LiveSet();
  protected refill(): void {
    if (this.round.length === 0) this.plan();
    this.tick((this.roundPages.shift() as number) * PAGE);
    this.queue.push((this.round.shift() as string).replace('@', String(this.time)));
  }

  private push(row: string, pages: number): void {
    this.round.push(row);
    this.roundPages.push(pages);
  }

  private plan(): void {
    const short: number[] = [];
    const pairs = 200 + Math.floor(this.rand() * 200);
    for (let k = 0; k < pairs; k++) {
      const l = this.nextId++;
      const lp = 1 + Math.floor(this.rand() * 4);
      this.longLived.add(l, lp);
      this.push(`@,alloc,s${l},${lp},,${this.p()}`, lp);
      const s = this.nextId++;
      short.push(s);
      const sp = 4 + Math.floor(this.rand() * 60);
      this.push(`@,alloc,s${s},${sp},,${this.p()}`, sp);
    }
    for (const s of short) this.push(`@,free,s${s},,,${this.p()}`, 0);
    const big: number[] = [];
    for (let k = 0; k < 20; k++) {
      const b = this.nextId++;
      big.push(b);
      const bp = 128 + Math.floor(this.rand() * 1024);
      this.push(`@,alloc,s${b},${bp},,`, bp);
    }
    for (const b of big) this.push(`@,free,s${b},,,`, 0);
    // Age out some long-lived spans so the heap does not grow forever.
    const old = Math.floor(this.longLived.size / 3);
    for (let k = 0; k < old; k++) this.push(`@,free,s${this.longLived.take(Math.floor(this.rand() * this.longLived.size))},,,`, 0);
  }
}

/**
 * Tens of thousands to a million live large spans (>= 128 pages, about 1.8 MiB on
 * average): the 100 GB-1 TB heaps of Go commit “runtime: redo insert/remove of large spans” (Go 1.9) and Go issue 19393. A third of the events
 * build the population, the rest churn it.
 */
class LargeHeap extends Base {
  private readonly target: number;
  constructor(rand: Rng, allocBytesPerSec: number, events: number) {
    super(rand, allocBytesPerSec);
    this.target = Math.max(1000, Math.min(1_000_000, Math.floor(events / 3)));
  }
  protected refill(): void {
    const pages = 128 + Math.floor(this.rand() ** 4 * 512);
    if (this.live.size < this.target || this.rand() < 0.5 || this.live.size === 0) this.queue.push(this.alloc(pages, -1));
    else this.queue.push(this.freeRandom(-1));
  }
}

/** Allocation bursts, each ended by a gc row, with the garbage freed in a batch right after, as Go's sweeper frees. */
class GcBatch extends Base {
  private burst: number[] = [];
  protected refill(): void {
    if (this.burst.length < 2000 + Math.floor(this.rand() * 2000)) {
      this.burst.push(this.nextId);
      this.queue.push(this.alloc(smallPages(this.rand)));
      return;
    }
    // Mark: most of the burst is garbage; sweep frees it in a batch.
    const garbage = this.burst.filter(() => this.rand() >= 0.15);
    this.burst = [];
    for (const id of garbage) this.live.takeId(id);
    this.queue.push(this.gc());
    for (const id of garbage) {
      this.tick(0);
      this.queue.push(`${this.time},free,s${id},,,${this.p()}`);
    }
    // Survivors of earlier cycles die too, so the live heap levels off.
    while (this.live.size > 6000) this.queue.push(this.freeRandom());
  }
}

/** Small spans allocated and freed from eight Ps: the per-P page caches at work. */
class MultiP extends Base {
  private readonly targetPages = (32 * MIB) / PAGE;
  constructor(rand: Rng, allocBytesPerSec: number) {
    super(rand, allocBytesPerSec, 8);
  }
  protected refill(): void {
    if (this.gcDue(5000)) {
      this.queue.push(this.gc());
      return;
    }
    this.queue.push(this.churn(this.targetPages, () => (this.rand() < 0.85 ? 1 + Math.floor(this.rand() * 4) : 5 + Math.floor(this.rand() * 11))));
  }
}

// Allocation rates (bytes/s of trace time). A web service allocates tens of MiB/s per
// core; a large in-memory store hundreds; the spike demo's steady phase is a quiet service
// (2 MiB/s), so its 10 minutes hold the five spikes it is about.
const STEADY_RATE = 64 * MIB;
const SPIKE_RATE = 2 * MIB;
const FRAGMENTER_RATE = 64 * MIB;
const LARGE_HEAP_RATE = 256 * MIB;
const GC_BATCH_RATE = 64 * MIB;
const MULTI_P_RATE = 128 * MIB;

export const WORKLOADS: Workload[] = [
  {
    name: 'steady',
    summary: 'small spans churning around a steady 64 MiB live heap; gc rows at the GOGC=100 goal',
    reproduces: 'the baseline every seed assumes',
    make: (r) => new Steady(r, STEADY_RATE),
    allocBytesPerSec: STEADY_RATE,
  },
  {
    name: 'spike',
    summary: 'a 64 MiB heap that grows to 576 MiB every 2 minutes of trace time and falls back',
    reproduces: "the heap spikes of the talk “Evolving the Go Memory Manager’s RAM and CPU Efficiency”: Go 1.11's 5-minute scavenger never returns them",
    make: (r) => new Spike(r, SPIKE_RATE),
    allocBytesPerSec: SPIKE_RATE,
  },
  {
    name: 'fragmenter',
    summary: 'long- and short-lived spans interleaved, the short ones freed into holes, then large allocations',
    reproduces: 'the talk “Evolving the Go Memory Manager’s RAM and CPU Efficiency”: a large allocation in a fragmented heap',
    make: (r) => new Fragmenter(r, FRAGMENTER_RATE),
    allocBytesPerSec: FRAGMENTER_RATE,
  },
  {
    name: 'large-heap',
    summary: 'up to a million live large spans (>= 128 pages) of random sizes',
    reproduces: 'Go commit “runtime: redo insert/remove of large spans” (Go 1.9) and Go issue 19393: O(n) large-span search on 100 GB-1 TB heaps',
    make: (r, events) => new LargeHeap(r, LARGE_HEAP_RATE, events),
    allocBytesPerSec: LARGE_HEAP_RATE,
  },
  {
    name: 'gc-batch',
    summary: 'allocation bursts, a gc row with the live bytes, then the garbage freed in a batch',
    reproduces: "Go's sweeper freeing spans in bursts after each cycle",
    make: (r) => new GcBatch(r, GC_BATCH_RATE),
    allocBytesPerSec: GC_BATCH_RATE,
  },
  {
    name: 'multi-p',
    summary: 'small spans from eight Ps',
    reproduces: 'the talk “Evolving the Go Memory Manager’s RAM and CPU Efficiency”: per-P page caches against heap lock contention',
    make: (r) => new MultiP(r, MULTI_P_RATE),
    allocBytesPerSec: MULTI_P_RATE,
  },
];

export function findWorkload(name: string): Workload {
  const w = WORKLOADS.find((x) => x.name === name);
  if (!w) throw new UsageError(`unknown workload "${name}" (known: ${WORKLOADS.map((x) => x.name).join(', ')})`);
  return w;
}
