// Running replays end to end: one trace streamed through one backend (`replay`), or one
// trace parsed once and replayed on several backends and policies (`compare`, `check`).

import type { EventBatch, ReadStats, TraceMeta } from '../trace/events.js';
import { openTrace, type ReadOptions, type TraceReader } from '../trace/reader.js';
import { Replayer, type ReplayOptions } from './engine.js';
import type { ReplayResult } from './result.js';
import type { Timeline } from '../metrics/timeline.js';
import { backends, defaultBackend, findBackend } from '../heap/registry.js';
import { findPolicy } from '../policy/index.js';
import { DEFAULTS } from '../options.js';

export interface ProgressOptions {
  /** Called now and then with events replayed so far. */
  onProgress?: (events: number) => void;
}

/** Replays one batch, timed; false once the replayer has stopped (out of memory). */
function stepTimed(r: Replayer, batch: EventBatch, options: ProgressOptions): boolean {
  const t0 = performance.now();
  const more = r.step(batch);
  r.addWallNs((performance.now() - t0) * 1e6);
  options.onProgress?.(r.events);
  return more;
}

/** Feeds streamed batches to a replayer until they end or it stops. */
async function feed(r: Replayer, batches: AsyncIterable<EventBatch>, options: ProgressOptions): Promise<Replayer> {
  for await (const batch of batches) if (!stepTimed(r, batch, options)) break;
  return r;
}

/** Feeds batches already in memory. */
function feedLoaded(r: Replayer, batches: EventBatch[], options: ProgressOptions): Replayer {
  for (const batch of batches) if (!stepTimed(r, batch, options)) break;
  return r;
}

/** Streams a trace through one backend; memory stays flat whatever the trace size. */
export async function replayReader(reader: TraceReader, options: ReplayOptions & ProgressOptions = {}): Promise<ReplayResult> {
  const r = await feed(new Replayer(reader.meta, options), reader.batches(), options);
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
  const r = feedLoaded(new Replayer(trace.meta, options), trace.batches, options);
  return r.result(trace.stats);
}

/** One column of a comparison: a backend under a policy. */
export interface CompareRun {
  backend: string;
  policy?: string;
}

/** Which runs a comparison makes, and what each column is called. */
export interface ComparePlan {
  runs: Required<CompareRun>[];
  /** The column label of a run: the backend, the policy, or both when both vary. */
  label(backend: string, policy: string): string;
  /** What stays fixed across the columns, for a chart title. */
  fixed: string;
}

/**
 * The comparison matrix: several backends under one policy (default: every backend), or
 * several policies on the default backend, or the product of both when both are given.
 */
export function planComparison(given: { backends?: string[]; policies?: string[] }): ComparePlan {
  const policies = (given.policies ?? [DEFAULTS.policy]).map((n) => findPolicy(n).name);
  const names = given.backends ? given.backends.map((n) => findBackend(n).name) : policies.length > 1 ? [defaultBackend().name] : backends().map((b) => b.name);
  const runs = names.flatMap((backend) => policies.map((policy) => ({ backend, policy })));
  const label = (backend: string, policy: string) => (policies.length === 1 ? backend : names.length === 1 ? policy : `${backend} ${policy}`);
  const fixed = policies.length === 1 ? `policy ${policies[0]}` : names.length === 1 ? `backend ${names[0]}` : '';
  return { runs, label, fixed };
}

export interface CompareOptions extends Omit<ReplayOptions, 'backend' | 'timeline' | 'recordAddrs'>, ProgressOptions {
  /** A timeline to fill for a run, if any. */
  timelineFor?: (backend: string, policy: string) => Timeline | undefined;
}

/**
 * Replays one loaded trace on several backends (the trace is parsed once) and sets each
 * result's placementMatch: the share of allocations that landed at the same address as
 * on the first run, comparing the allocations both replays reached.
 */
export function compareLoaded(trace: LoadedTrace, runs: (string | CompareRun)[], options: CompareOptions = {}): ReplayResult[] {
  let first: Float64Array | null = null;
  const results: ReplayResult[] = [];
  for (const run of runs) {
    const { backend, policy = options.policy ?? DEFAULTS.policy } = typeof run === 'string' ? { backend: run } : run;
    const replayer = new Replayer(trace.meta, { ...options, backend, policy, recordAddrs: true, timeline: options.timelineFor?.(backend, policy) });
    const r = feedLoaded(replayer, trace.batches, options);
    const addrs = r.allocationAddresses;
    const result = r.result(trace.stats);
    if (first === null) first = addrs;
    result.placementMatch = placementMatch(first, addrs);
    results.push(result);
  }
  return results;
}

function placementMatch(first: Float64Array, addrs: Float64Array): number {
  const n = Math.min(first.length, addrs.length);
  let same = 0;
  for (let i = 0; i < n; i++) if (first[i] === addrs[i]) same++;
  return n > 0 ? same / n : 1;
}
