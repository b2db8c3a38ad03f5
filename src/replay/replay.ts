// Running a replay end to end: from a trace reader (streamed) or from a trace loaded
// once into memory (for `compare`, which replays it on several backends).

import type { EventBatch, ReadStats, TraceMeta } from '../trace/events.js';
import { openTrace, type ReadOptions, type TraceReader } from '../trace/reader.js';
import { Replayer, type ReplayOptions } from './engine.js';
import type { ReplayResult } from './result.js';
import type { Timeline } from '../metrics/timeline.js';

export interface ProgressOptions {
  /** Called now and then with events replayed so far. */
  onProgress?: (events: number) => void;
}

/** Streams a trace through one backend; memory stays flat whatever the trace size. */
export async function replayReader(reader: TraceReader, options: ReplayOptions & ProgressOptions = {}): Promise<ReplayResult> {
  const r = new Replayer(reader.meta, options);
  for await (const batch of reader.batches()) {
    const t0 = performance.now();
    const more = r.step(batch);
    r.addWallNs((performance.now() - t0) * 1e6);
    options.onProgress?.(r.events);
    if (!more) break;
  }
  return r.result(reader.stats);
}

/** Opens and replays a trace file (`-` for standard input). */
export async function replayFile(path: string, options: ReplayOptions & ProgressOptions & ReadOptions = {}): Promise<ReplayResult> {
  return replayReader(await openTrace(path, options), options);
}

/** A trace parsed once and kept in memory. */
export interface LoadedTrace {
  meta: TraceMeta;
  stats: ReadStats;
  batches: EventBatch[];
}

export async function loadTrace(path: string, options: ReadOptions = {}): Promise<LoadedTrace> {
  const reader = await openTrace(path, options);
  const batches: EventBatch[] = [];
  for await (const b of reader.batches()) batches.push(b);
  return { meta: reader.meta, stats: reader.stats, batches };
}

/** Replays a loaded trace through one backend. */
export function replayLoaded(trace: LoadedTrace, options: ReplayOptions & ProgressOptions = {}): ReplayResult {
  return runLoaded(trace, options).result(trace.stats);
}

function runLoaded(trace: LoadedTrace, options: ReplayOptions & ProgressOptions): Replayer {
  const r = new Replayer(trace.meta, options);
  for (const batch of trace.batches) {
    const t0 = performance.now();
    const more = r.step(batch);
    r.addWallNs((performance.now() - t0) * 1e6);
    options.onProgress?.(r.events);
    if (!more) break;
  }
  return r;
}

/** One column of a comparison: a backend under a policy. */
export interface CompareRun {
  backend: string;
  policy?: string;
}

/**
 * Replays one loaded trace on several backends (the trace is parsed once) and sets each
 * result's placementMatch: the share of allocations that landed at the same address as
 * on the first backend, comparing the allocations both replays reached.
 */
export function compareLoaded(
  trace: LoadedTrace,
  runs: (string | CompareRun)[],
  options: Omit<ReplayOptions, 'backend' | 'timeline'> & ProgressOptions & { timelineFor?: (backend: string, policy: string) => Timeline | undefined } = {},
): ReplayResult[] {
  let first: Float64Array | null = null;
  return runs.map((run) => {
    const { backend, policy = options.policy ?? 'trace' } = typeof run === 'string' ? { backend: run } : run;
    const r = runLoaded(trace, { ...options, backend, policy, recordAddrs: true, timeline: options.timelineFor?.(backend, policy) });
    const addrs = r.allocationAddresses;
    const result = r.result(trace.stats);
    if (first === null) first = addrs;
    const n = Math.min(first.length, addrs.length);
    let same = 0;
    for (let i = 0; i < n; i++) if (first[i] === addrs[i]) same++;
    result.placementMatch = n > 0 ? same / n : 1;
    return result;
  });
}
