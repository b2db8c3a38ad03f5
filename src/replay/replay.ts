// Running replays end to end: one trace streamed through one backend (`replay`), or one
// trace replayed on several backends and policies (`compare`, `check`): parsed once and
// kept (compareLoaded), or streamed once per run on a pool of worker threads
// (compareFile: every core, and memory flat whatever the trace's size).

import type { EventBatch, ReadStats, TraceMeta } from '../trace/events.js';
import { openTrace, TraceReader, type ReadOptions } from '../trace/reader.js';
import { Replayer, type ReplayOptions } from './engine.js';
import { fitTouch, type FitOptions } from './touch-fit.js';
import type { ReplayResult } from './result.js';
import { Timeline } from '../metrics/timeline.js';
import { availableParallelism } from 'node:os';
import { backends, defaultBackend, findBackend } from '../heap/registry.js';
import { findPolicy } from '../policy/index.js';
import { DEFAULTS, type RunOptions } from '../options.js';
import { WorkerPool } from '../pool/pool.js';
import type { ReplayTask } from '../pool/tasks.js';

export interface ProgressOptions {
  /** Called now and then with events replayed so far. */
  onProgress?: (events: number) => void;
}

/** Replays one batch, timed; false once the replayer has stopped (out of memory). */
function stepTimed(r: Replayer, batch: EventBatch, options: ProgressOptions): boolean {
  const t0 = performance.now();
  const more = r.step(batch);
  const t1 = performance.now();
  r.addWallNs((t1 - t0) * 1e6, t1);
  options.onProgress?.(r.events);
  return more;
}

/** Feeds streamed batches to a replayer until they end or it stops. */
async function feed(r: Replayer, batches: AsyncIterable<EventBatch>, options: ProgressOptions): Promise<Replayer> {
  r.markStart();
  for await (const batch of batches) if (!stepTimed(r, batch, options)) break;
  return r;
}

/** Feeds batches already in memory. */
function feedLoaded(r: Replayer, batches: EventBatch[], options: ProgressOptions): Replayer {
  r.markStart();
  for (const batch of batches) if (!stepTimed(r, batch, options)) break;
  return r;
}

/** Streams a trace through one backend; memory stays flat whatever the trace size (touch `fit` without a fit loads it: a fit replays it several times). */
export async function replayReader(reader: TraceReader, options: ReplayOptions & ProgressOptions = {}): Promise<ReplayResult> {
  if (options.touch === 'fit' && options.touchFit === undefined) return replayLoaded(await loadReader(reader), options);
  const r = await feed(new Replayer(reader.meta, options), reader.batches(), options);
  return r.result(reader.stats);
}

/** Under touch `fit`, the options with the trace's fit (computed once per trace and OS setting). */
function fitted<T extends FitOptions & Pick<ReplayOptions, 'touch' | 'touchFit'>>(trace: LoadedTrace, options: T): T {
  return options.touch === 'fit' && options.touchFit === undefined ? { ...options, touchFit: fitTouch(trace, options) } : options;
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
  return loadReader(await openTrace(path, options));
}

/** Reads the rest of an opened trace into memory. */
export async function loadReader(reader: TraceReader): Promise<LoadedTrace> {
  const batches: EventBatch[] = [];
  for await (const b of reader.batches()) batches.push(b);
  return { meta: reader.meta, stats: reader.stats, batches };
}

/** Replays a loaded trace through one backend. */
export function replayLoaded(trace: LoadedTrace, options: ReplayOptions & ProgressOptions = {}): ReplayResult {
  const r = feedLoaded(new Replayer(trace.meta, fitted(trace, options)), trace.batches, options);
  return r.result(trace.stats);
}

/** One column of a comparison: a backend under a policy. */
export interface CompareRun {
  backend: string;
  policy?: string;
}

/** Which runs a comparison makes, and what each column is called. */
export interface ComparePlan {
  /** The runs in column order; the first is the reference the others are compared with. */
  runs: Required<CompareRun>[];
  /** The column label of a run: the backend, the policy, or both when both vary. */
  label(backend: string, policy: string): string;
  /** What stays fixed across the columns, for a chart title. */
  fixed: string;
  /** Why the first column is the reference, for the report. */
  reference: string;
}

/** A Go version ("go1.19.8") as an era number comparable with BackendInfo.era (1.19). */
function eraOf(goVersion: string): number | null {
  const m = /^go1\.(\d+)/.exec(goVersion);
  return m ? 1 + Number(m[1]) / 100 : null;
}

/**
 * The backend the trace's own Go version shipped: the newest era not after it, and of
 * one release's backends the one it shipped (the lowest era number: treap before
 * treap-bestfit). Null when the version is unknown or older than every backend.
 */
export function eraBackend(goVersion: string | null | undefined): string | null {
  const era = goVersion ? eraOf(goVersion) : null;
  if (era === null) return null;
  const release = (e: number) => Math.floor(e * 100 + 1e-9);
  const fits = backends().filter((b) => release(b.era) <= release(era));
  if (fits.length === 0) return null;
  const newest = Math.max(...fits.map((b) => release(b.era)));
  return fits.filter((b) => release(b.era) === newest).sort((a, b) => a.era - b.era)[0].name;
}

/**
 * The comparison matrix: several backends under one policy (default: every backend), or
 * several policies on the default backend, or the product of both when both are given.
 * With the default backends, the trace's own era (its go_version metadata) is the first
 * column, the reference; given backends keep their order, the first being the reference.
 */
export function planComparison(given: { backends?: string[]; policies?: string[]; goVersion?: string | null }): ComparePlan {
  const policies = (given.policies ?? [DEFAULTS.policy]).map((n) => findPolicy(n).name);
  const own = eraBackend(given.goVersion);
  let names: string[];
  let why: string;
  if (given.backends) {
    names = given.backends.map((n) => findBackend(n).name);
    why = 'first given';
  } else if (policies.length > 1) {
    names = [own ?? defaultBackend().name];
    why = own ? `the trace's era, ${given.goVersion}` : 'the default backend';
  } else {
    const all = backends().map((b) => b.name);
    names = own ? [own, ...all.filter((n) => n !== own)] : all;
    why = own ? `the trace's era, ${given.goVersion}` : 'oldest era: the trace names no Go version';
  }
  const runs = names.flatMap((backend) => policies.map((policy) => ({ backend, policy })));
  const label = (backend: string, policy: string) => (policies.length === 1 ? backend : names.length === 1 ? policy : `${backend} ${policy}`);
  const fixed = policies.length === 1 ? `policy ${policies[0]}` : names.length === 1 ? `backend ${names[0]}` : '';
  return { runs, label, fixed, reference: `${label(runs[0].backend, runs[0].policy)} (${why})` };
}

export interface CompareOptions extends Omit<ReplayOptions, 'backend' | 'timeline' | 'recordAddrs'>, ProgressOptions {
  /** A timeline to fill for a run, if any. */
  timelineFor?: (backend: string, policy: string) => Timeline | undefined;
}

/** One run's result, with what a comparison needs besides the figures. */
export interface ReplayRunOutput {
  result: ReplayResult;
  /** Every allocation's address in trace order (with recordAddrs). */
  addrs?: Float64Array;
  /** [trace time, highest RSS since the previous row] (with timeline). */
  rssPeaks?: [number, number][];
}

export interface ReplayWithOptions extends Omit<ReplayOptions, 'timeline'>, ProgressOptions {
  /** Keep an RSS timeline and return its peaks. */
  timeline?: boolean;
}

/** Replays a streamed or loaded trace through one backend, keeping addresses and a timeline if asked. */
export async function replayWith(source: TraceReader | LoadedTrace, options: ReplayWithOptions): Promise<ReplayRunOutput> {
  const timeline = options.timeline ? new Timeline() : undefined;
  if (source instanceof TraceReader && options.touch === 'fit' && options.touchFit === undefined) source = await loadReader(source);
  const r = new Replayer(source.meta, { ...(source instanceof TraceReader ? options : fitted(source, options)), timeline });
  if (source instanceof TraceReader) await feed(r, source.batches(), options);
  else feedLoaded(r, source.batches, options);
  return {
    result: r.result(source.stats),
    addrs: options.recordAddrs ? r.allocationAddresses : undefined,
    rssPeaks: timeline?.rssPeaks(),
  };
}

/**
 * Replays one loaded trace on several backends (the trace is parsed once) and sets each
 * result's placementMatch: the share of allocations that landed at the same address as
 * on the first run, comparing the allocations both replays reached.
 */
export function compareLoaded(trace: LoadedTrace, runs: (string | CompareRun)[], given: CompareOptions = {}): ReplayResult[] {
  const options = fitted(trace, given);
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

export interface CompareFileOptions extends Omit<RunOptions, 'backend' | 'policy'> {
  /** Worker threads (default: one per CPU, at most one per run). */
  workers?: number;
  lenient?: boolean;
  /** Keep each run's RSS timeline (compare --chart). */
  timelines?: boolean;
  /** Events replayed so far, summed over the runs. */
  onProgress?: (events: number) => void;
}

/**
 * Replays a trace file on several backends and policies, each run on a pool worker that
 * streams the file: no run holds the parsed trace, so memory stays at a streaming
 * replay's per worker, and the runs use every core. Results come in run order, each with
 * placementMatch against the first, and with its RSS peaks when timelines are asked for.
 */
export async function compareFile(path: string, runs: Required<CompareRun>[], options: CompareFileOptions = {}): Promise<ReplayRunOutput[]> {
  const { workers, lenient, timelines, onProgress, ...runOptions } = options;
  // Fitted once here, not once per run in each worker (each would load the trace to fit it).
  const touchFit = runOptions.touch === 'fit' ? fitTouch(await loadTrace(path, { lenient }), runOptions) : undefined;
  const pool = new WorkerPool(Math.max(1, Math.min(workers ?? availableParallelism(), runs.length)));
  const events = runs.map(() => 0);
  const report = (i: number) => (n: number) => {
    events[i] = n;
    onProgress?.(events.reduce((a, b) => a + b, 0));
  };
  try {
    const outputs = await Promise.all(
      runs.map((run, i) => {
        const task: ReplayTask = { kind: 'replay', trace: path, lenient, options: { ...runOptions, ...run }, touchFit, recordAddrs: true, timeline: timelines };
        return pool.run<ReplayRunOutput>(task, { onProgress: report(i) });
      }),
    );
    const first = outputs[0]?.addrs ?? new Float64Array(0);
    for (const o of outputs) {
      o.result.placementMatch = placementMatch(first, o.addrs ?? new Float64Array(0));
      o.addrs = undefined;
    }
    return outputs;
  } finally {
    await pool.close();
  }
}

function placementMatch(first: Float64Array, addrs: Float64Array): number {
  const n = Math.min(first.length, addrs.length);
  let same = 0;
  for (let i = 0; i < n; i++) if (first[i] === addrs[i]) same++;
  return n > 0 ? same / n : 1;
}
