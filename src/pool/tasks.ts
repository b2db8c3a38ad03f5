// What a pool worker runs (src/pool/pool.ts), and the messages between it and the pool.
//
// Two kinds of task:
// - 'replay' (compare): one trace through one backend and policy. Read 'stream': the
//   worker streams the file, so memory stays flat whatever the trace's size and however
//   many backends are compared (each run re-reads the file; the runs read in parallel).
//   Under touch `fit` the pool's owner fits the trace once and sends the fit with every
//   run (src/replay/touch-fit.ts), so no worker loads the trace to fit it again.
// - 'sweep': one run of a sweep (src/sweep/run.ts). The trace is parsed once per worker
//   and kept, since a sweep replays each trace many times (the pool sends a worker the
//   runs of the trace it already holds).
//
// Invariants: a worker holds at most one parsed trace (the last one it loaded), so a
// pool's memory is bounded by workers x one parsed trace. Tasks are plain data
// (structured clone); a result's allocation addresses travel as a transferred buffer.

import { loadTrace, replayWith, type LoadedTrace, type ReplayRunOutput } from '../replay/replay.js';
import { openTrace } from '../trace/reader.js';
import type { RunOptions } from '../options.js';
import type { TouchFit } from '../replay/touch-fit.js';
import { runSweepTask, type SweepTask } from '../sweep/run.js';

export interface ReplayTask {
  kind: 'replay';
  trace: string;
  lenient?: boolean;
  options: RunOptions;
  /** Under touch `fit`: the fit every run of the comparison uses. */
  touchFit?: TouchFit;
  /** Keep every allocation's address (compare's placementMatch). */
  recordAddrs?: boolean;
  /** Keep the RSS timeline (compare --chart). */
  timeline?: boolean;
}

export type PoolTask = ReplayTask | SweepTask;

/** An error as it crosses from a worker: enough to rebuild the same kind. */
export interface WorkerError {
  kind: 'option' | 'heapsim' | 'internal';
  name: string;
  message: string;
  option?: string;
  stack?: string;
}

export type WorkerMessage = { type: 'progress'; events: number } | { type: 'done'; value: unknown } | { type: 'error'; error: WorkerError };

/** The last trace this worker parsed, kept for the next task on the same file. */
let held: { key: string; trace: LoadedTrace } | null = null;

/** The parsed trace, from this worker's cache or read now (replacing what was held). */
export async function heldTrace(path: string, lenient: boolean): Promise<LoadedTrace> {
  const key = `${lenient ? 'lenient' : 'strict'}:${path}`;
  if (held?.key === key) return held.trace;
  held = null; // let the old trace go before parsing the next
  const trace = await loadTrace(path, { lenient });
  held = { key, trace };
  return trace;
}

async function runReplayTask(task: ReplayTask, onProgress: (events: number) => void): Promise<ReplayRunOutput> {
  const reader = await openTrace(task.trace, { lenient: task.lenient });
  return replayWith(reader, { ...task.options, touchFit: task.touchFit, recordAddrs: task.recordAddrs, timeline: task.timeline, onProgress });
}

/** Runs one task in this thread; what the worker posts back as 'done'. */
export function executeTask(task: PoolTask, onProgress: (events: number) => void): Promise<unknown> {
  return task.kind === 'replay' ? runReplayTask(task, onProgress) : runSweepTask(task, (path) => heldTrace(path, false), onProgress);
}
