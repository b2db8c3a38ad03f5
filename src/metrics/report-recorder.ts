// The report recorder: what the HTML report (src/report/html.ts) draws for one run,
// recorded as a meter over a known span of trace time and bounded whatever the trace's
// length:
// - memory over time in MEMORY_BINS bins of trace time, each keeping the moment of the
//   highest RSS in it (with heap, in-use, retained, released and the limit at that
//   moment, and the event that caused it), so no spike is lost; GC marks, one per bin;
// - GAP_SNAPSHOTS snapshots, at the first event of each slice of trace time, of the gap
//   breakdown (gap.ts) and of the heap map (one column: address cells -> state);
// - released bytes per trigger, and the trace's own scavenge rows, in RELEASE_BINS bins;
// - the work and modelled-time distributions (CDF) of each op kind.
//
// Invariants: per event the hooks do index arithmetic and typed-array stores only; the
// snapshots allocate, at most GAP_SNAPSHOTS times per run.

import { OP_ALLOC, OP_FREE, OP_GC, OP_SCAVENGE } from '../trace/events.js';
import type { LoadedTrace } from '../replay/replay.js';
import { Histogram } from './histogram.js';
import { BLOCK_BYTES, CELL_EMPTY, PageTracker, type GapBreakdown } from './gap.js';
import type { EventRecord, Meter, ReleaseRecord, ReplayState } from './meter.js';

/** Bins of the memory chart: about one per horizontal pixel of a wide chart. */
const MEMORY_BINS = 2000;
/** Gap and heap-map snapshots: enough columns for a readable raster, each a full walk. */
const GAP_SNAPSHOTS = 150;
const RELEASE_BINS = 200;
/** Heap-map cells are this big before merging: 256 per 64 MiB block. */
const CELL_BYTES = 256 * 1024;
/** At most this many address rows in the heap map (rows are merged beyond it). */
const MAX_MAP_ROWS = 400;
const MEMORY_FIELDS = ['rssBytes', 'heapBytes', 'inUseBytes', 'retainedBytes', 'releasedBytes', 'limitBytes', 'op', 'line', 'pages'] as const;

export interface HeapMap {
  /** Trace time of each column. */
  timeNs: number[];
  /** Address rows per column; cells are row-major by column: cells[col * rows + row]. */
  rows: number;
  /** Bytes of address space one row stands for. */
  rowBytes: number;
  /** The lowest address of each row (rows that never held heap are left out). */
  rowAddr: number[];
  /** CELL_* codes, base64. */
  cells: string;
}

/** Everything the report draws for one run. */
export interface RunSeries {
  memory: { timeNs: number[] } & Record<(typeof MEMORY_FIELDS)[number], (number | null)[]>;
  gcs: { timeNs: number[]; liveBytes: number[] };
  gap: GapBreakdown[];
  heapMap: HeapMap;
  releases: { t0Ns: number; binNs: number; byTrigger: Record<string, number[]>; recorded: number[] | null };
  latency: Record<'alloc' | 'free' | 'scavenge', { count: number; work: [number, number][]; modelNs: [number, number][] }>;
}

/** First and last event times of a loaded trace. */
export function traceTimeRange(trace: LoadedTrace): { t0: number; t1: number } {
  const nonEmpty = trace.batches.filter((b) => b.length > 0);
  if (nonEmpty.length === 0) return { t0: 0, t1: 0 };
  const last = nonEmpty[nonEmpty.length - 1];
  return { t0: nonEmpty[0].time[0], t1: last.time[last.length - 1] };
}

export class ReportRecorder implements Meter {
  private readonly tracker: PageTracker;
  private readonly mem = new Float64Array(MEMORY_BINS * (MEMORY_FIELDS.length + 1)).fill(-1);
  private readonly gcTime = new Float64Array(MEMORY_BINS).fill(-1);
  private readonly gcLive = new Float64Array(MEMORY_BINS);
  private readonly releases = new Map<string, Float64Array>();
  private readonly recorded = new Float64Array(RELEASE_BINS);
  private hasRecorded = false;
  private readonly gaps: GapBreakdown[] = [];
  private readonly columns: { timeNs: number; blocks: number[]; cells: Uint8Array }[] = [];
  private lastSnapBin = -1;
  private readonly work = [new Histogram(), new Histogram(), new Histogram()];
  private readonly model = [new Histogram(), new Histogram(), new Histogram()];
  private readonly span: number;
  /** Heap-map cell size: CELL_BYTES, or one page when pages are larger. */
  private readonly cellBytes: number;

  constructor(
    private readonly state: ReplayState,
    private readonly t0: number,
    t1: number,
  ) {
    this.tracker = new PageTracker(state.pageBytes);
    this.cellBytes = Math.max(CELL_BYTES, state.pageBytes);
    this.span = Math.max(1, t1 - t0);
  }

  private bin(time: number, bins: number): number {
    return Math.min(bins - 1, Math.max(0, Math.floor(((time - this.t0) / this.span) * bins)));
  }

  event(e: EventRecord): void {
    if (e.op === OP_ALLOC) this.tracker.alloc(e.addr, e.pages);
    else if (e.op === OP_FREE) this.tracker.free(e.addr, e.pages);
    if (e.op <= OP_SCAVENGE) {
      this.work[e.op].add(e.work);
      this.model[e.op].add(e.modelNs);
    }
    if (e.op === OP_SCAVENGE && e.bytes > 0) {
      this.recorded[this.bin(e.time, RELEASE_BINS)] += e.bytes;
      this.hasRecorded = true;
    }
    if (e.op === OP_GC) {
      const g = this.bin(e.time, MEMORY_BINS);
      this.gcTime[g] = e.time;
      this.gcLive[g] = e.bytes;
    }
    this.sampleMemory(e);
    const s = this.bin(e.time, GAP_SNAPSHOTS);
    if (s !== this.lastSnapBin) this.snapshot(e.time, s);
  }

  release(r: ReleaseRecord): void {
    let bins = this.releases.get(r.trigger);
    if (bins === undefined) this.releases.set(r.trigger, (bins = new Float64Array(RELEASE_BINS)));
    bins[this.bin(r.time, RELEASE_BINS)] += r.bytes;
  }

  private sampleMemory(e: EventRecord): void {
    const { os, heap, pageBytes: pb, limitBytes } = this.state;
    const rss = os.rssBytes;
    const stride = MEMORY_FIELDS.length + 1;
    const o = this.bin(e.time, MEMORY_BINS) * stride;
    const m = this.mem;
    if (m[o] >= 0 && rss < m[o + 1]) return;
    m[o] = e.time;
    m[o + 1] = rss;
    m[o + 2] = heap.heapPages * pb;
    m[o + 3] = this.state.inUsePages * pb;
    m[o + 4] = (heap.heapPages - heap.releasedPages) * pb;
    m[o + 5] = heap.releasedPages * pb;
    m[o + 6] = Number.isNaN(limitBytes) ? -1 : limitBytes;
    m[o + 7] = e.op;
    m[o + 8] = e.line;
    m[o + 9] = e.pages;
  }

  private snapshot(time: number, bin: number): void {
    this.lastSnapBin = bin;
    const { os, heap } = this.state;
    this.gaps.push(this.tracker.breakdown(os, heap, time));
    const blocks = this.tracker.heapBlocks();
    this.columns.push({ timeNs: time, blocks, cells: this.tracker.heapMapColumn(os, blocks, this.cellBytes) });
  }

  contribute(): void {}

  /** What the report draws (call once the replay is over). */
  series(): RunSeries {
    const latency = (op: number) => ({ count: this.work[op].count, work: this.work[op].cdf(), modelNs: this.model[op].cdf() });
    return {
      memory: this.memorySeries(),
      gcs: pairs(this.gcTime, this.gcLive, 'liveBytes'),
      gap: this.gaps,
      heapMap: this.heapMap(),
      releases: {
        t0Ns: this.t0,
        binNs: this.span / RELEASE_BINS,
        byTrigger: Object.fromEntries([...this.releases].map(([t, bins]) => [t, [...bins]])),
        recorded: this.hasRecorded ? [...this.recorded] : null,
      },
      latency: { alloc: latency(OP_ALLOC), free: latency(OP_FREE), scavenge: latency(OP_SCAVENGE) },
    };
  }

  private memorySeries(): RunSeries['memory'] {
    const stride = MEMORY_FIELDS.length + 1;
    const out = { timeNs: [] as number[], ...Object.fromEntries(MEMORY_FIELDS.map((f) => [f, [] as (number | null)[]])) } as RunSeries['memory'];
    for (let b = 0; b < MEMORY_BINS; b++) {
      const o = b * stride;
      if (this.mem[o] < 0) continue;
      out.timeNs.push(this.mem[o]);
      MEMORY_FIELDS.forEach((f, k) => out[f].push(f === 'limitBytes' && this.mem[o + 1 + k] < 0 ? null : this.mem[o + 1 + k]));
    }
    return out;
  }

  /** The columns on the final blocks' rows, empty rows left out, merged to at most MAX_MAP_ROWS. */
  private heapMap(): HeapMap {
    const blocks = this.tracker.heapBlocks();
    const perBlock = BLOCK_BYTES / this.cellBytes;
    const rowsAll = blocks.length * perBlock;
    const used = new Uint8Array(rowsAll);
    const full = this.columns.map((c) => {
      const col = new Uint8Array(rowsAll);
      c.blocks.forEach((b, k) => col.set(c.cells.subarray(k * perBlock, (k + 1) * perBlock), blocks.indexOf(b) * perBlock));
      col.forEach((v, r) => {
        if (v !== CELL_EMPTY) used[r] = 1;
      });
      return col;
    });
    const keep: number[] = [];
    used.forEach((u, r) => {
      if (u) keep.push(r);
    });
    const merge = Math.max(1, Math.ceil(keep.length / MAX_MAP_ROWS));
    const rows = Math.ceil(keep.length / merge);
    const cells = new Uint8Array(rows * full.length);
    full.forEach((col, c) => {
      for (let r = 0; r < rows; r++) cells[c * rows + r] = majority(keep.slice(r * merge, (r + 1) * merge).map((k) => col[k]));
    });
    const rowAddr = Array.from({ length: rows }, (_, r) => {
      const k = keep[r * merge];
      return blocks[Math.floor(k / perBlock)] * BLOCK_BYTES + (k % perBlock) * this.cellBytes;
    });
    return { timeNs: this.columns.map((c) => c.timeNs), rows, rowBytes: this.cellBytes * merge, rowAddr, cells: Buffer.from(cells).toString('base64') };
  }
}

/** The bins that saw a value (time >= 0), as parallel arrays. */
function pairs<K extends string>(time: Float64Array, values: Float64Array, key: K): { timeNs: number[] } & Record<K, number[]> {
  const t: number[] = [];
  const v: number[] = [];
  time.forEach((x, b) => {
    if (x < 0) return;
    t.push(x);
    v.push(values[b]);
  });
  return { timeNs: t, [key]: v } as { timeNs: number[] } & Record<K, number[]>;
}

/** The most frequent non-empty code (ties: the lower code, in use first); empty when all are. */
function majority(codes: number[]): number {
  const n = [0, 0, 0, 0];
  for (const c of codes) n[c]++;
  let best = CELL_EMPTY;
  for (let c = 1; c < n.length; c++) if (n[c] > n[best] || (best === CELL_EMPTY && n[c] > 0)) best = c;
  return best;
}
