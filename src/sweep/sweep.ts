// Running a sweep (docs/sweep.md): the planned runs of one shard, less those already in
// the results, on a pool of worker threads, each finished run handed on as its results
// line at once (so an interruption loses only the runs in flight).
//
// Invariants: lines come in completion order (a merge or a report puts them in sweep
// order); each run is run once; the first error that is not the run's own (a bad trace,
// a bug) stops the sweep: the pool is closed and the error thrown.

import { readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UsageError } from '../errors.js';
import { WorkerPool, defaultWorkers } from '../pool/pool.js';
import { shardRuns, type PlannedRun, type Shard, type SweepPlan } from './grid.js';
import { sweepLine, type SweepLine } from './results.js';
import type { SweepRunOutcome, SweepTask } from './run.js';

export interface SweepProgress {
  runsDone: number;
  runsTotal: number;
  /** Events replayed, finished runs and runs in flight. */
  events: number;
}

export interface SweepOptions {
  /** heapsim's version, written on every line. */
  version: string;
  workers?: number;
  shard?: Shard | null;
  /** Keys of runs already in the results: skipped. */
  done?: ReadonlySet<string>;
  onLine(line: SweepLine): void;
  onProgress?(p: SweepProgress): void;
}

export interface SweepSummary {
  /** Runs in this shard, of which were already done, and were run now. */
  shardRuns: number;
  skipped: number;
  ran: number;
  oom: number;
  invalid: number;
  workers: number;
}

function taskOf(run: PlannedRun): SweepTask {
  return { kind: 'sweep', trace: run.trace.path, backend: run.config.backend, policy: run.config.policy, params: run.params };
}

/** Runs the shard's runs not yet done on a worker pool. */
export async function runSweep(plan: SweepPlan, options: SweepOptions): Promise<SweepSummary> {
  const mine = shardRuns(plan.runs, options.shard ?? null);
  const todo = mine.filter((r) => !(options.done?.has(r.key) ?? false));
  const workers = Math.max(1, Math.min(options.workers ?? defaultWorkers(), todo.length));
  const summary: SweepSummary = { shardRuns: mine.length, skipped: mine.length - todo.length, ran: 0, oom: 0, invalid: 0, workers };
  if (todo.length === 0) return summary;
  const inFlight = new Map<number, number>();
  let finishedEvents = 0;
  const progress = () =>
    options.onProgress?.({ runsDone: summary.ran, runsTotal: todo.length, events: finishedEvents + [...inFlight.values()].reduce((a, b) => a + b, 0) });
  const pool = new WorkerPool(workers);
  try {
    await Promise.all(
      todo.map(async (run) => {
        const o = await pool.run<SweepRunOutcome>(taskOf(run), {
          affinity: run.trace.path,
          onProgress: (events) => {
            inFlight.set(run.index, events);
            progress();
          },
        });
        inFlight.delete(run.index);
        finishedEvents += o.figures['summary.ops'] ?? 0;
        summary.ran++;
        if (o.outcome === 'oom') summary.oom++;
        if (o.outcome === 'invalid') summary.invalid++;
        options.onLine(sweepLine(plan, run, options.version, o));
        progress();
      }),
    );
  } finally {
    await pool.close();
  }
  return summary;
}

/** `*` and `?` in one path segment, as a regular expression. */
function segmentPattern(segment: string): RegExp {
  const escaped = segment.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escaped.replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
}

/** Paths matching a pattern whose wildcards (`*`, `?`) may be in any segment. */
function globOne(pattern: string): string[] {
  const segments = pattern.split('/');
  let paths = [segments[0] === '' ? '/' : ''];
  segments.forEach((seg, i) => {
    if (seg === '' && i === 0) return;
    if (!/[*?]/.test(seg)) {
      paths = paths.map((p) => (p === '' ? seg : join(p, seg)));
      return;
    }
    const re = segmentPattern(seg);
    paths = paths.flatMap((p) => {
      try {
        return readdirSync(p === '' ? '.' : p)
          .filter((n) => re.test(n) && !n.startsWith('.'))
          .sort()
          .map((n) => (p === '' ? n : join(p, n)));
      } catch {
        return [];
      }
    });
  });
  return paths.filter((p) => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  });
}

/**
 * The trace files that patterns name (the shell may have expanded them already, or they
 * are quoted for heapsim to expand: `'traces/*.csv.gz'`). A pattern matching nothing is
 * a UsageError; `resolve` maps a plain name (a bundled trace) to its path.
 */
export function expandTraces(patterns: string[], resolve: (name: string) => string = (n) => n): string[] {
  const out: string[] = [];
  for (const pattern of patterns) {
    const found = /[*?]/.test(pattern) ? globOne(pattern) : [resolve(pattern)];
    if (found.length === 0) throw new UsageError(`--traces ${pattern}: matches no file (in ${dirname(pattern)})`);
    for (const f of found) if (!out.some((o) => sameFile(o, f))) out.push(f);
  }
  return out;
}

/** Two spellings of one file (./t.csv and t.csv, a symlink): compared by real path when both exist. */
function sameFile(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}
