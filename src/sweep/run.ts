// One run of a sweep, as a pool worker runs it: the trace (parsed once per worker, see
// src/pool/tasks.ts) through one backend and policy with the run's params, reduced to
// what a results line keeps: the outcome and every deterministic figure.
//
// Invariants:
// - Figures are FIGURES whose role is not 'wall': the same run gives the same numbers on
//   any machine, in any shard, on any number of workers. Non-finite values are null.
// - Timing is off unless the params set it: wall figures are not kept, and timing each
//   op costs ~20% of a replay.
// - A run the options cannot describe (thp with 64 KiB pages, a reserve mode the backend
//   does not model) is outcome 'invalid' with the reason, not a failed sweep: a cross
//   product may hold such corners. A bad trace is an error: the sweep stops.
// - `defaults` is true when every param equals what the run would use without it, for
//   this trace (its own gogc, gomaxprocs, memory limit) or by the option's default.

import { findBackend } from '../heap/registry.js';
import { HeapsimError, TraceError } from '../errors.js';
import { FIGURES } from '../metrics/index.js';
import { resolveRunOptions, RUN_OPTIONS, type OptionSpec, type ResolvedRunOptions, type RunOptions } from '../options.js';
import { replayWith, type LoadedTrace } from '../replay/replay.js';
import type { TraceMeta } from '../trace/events.js';
import type { ParamValue } from './grid.js';

export interface SweepTask {
  kind: 'sweep';
  trace: string;
  backend: string;
  policy: string;
  params: Record<string, ParamValue>;
}

export interface SweepRunOutcome {
  outcome: 'ok' | 'oom' | 'invalid';
  /** Why an invalid run could not be run. */
  error?: string;
  defaults: boolean;
  /** Figure key -> value; empty for an invalid run. */
  figures: Record<string, number | null>;
}

/** The figures a results line keeps, in registry order. */
export const SWEEP_FIGURES = FIGURES.filter((f) => f.role !== 'wall');

/** Whether every param is at its default for this trace. */
export function atDefaults(params: Record<string, ParamValue>, meta: TraceMeta, backend: string): boolean {
  const base = resolveRunOptions({}, meta) as unknown as Record<string, unknown>;
  const set = resolveRunOptions(params, meta) as unknown as Record<string, unknown>;
  return Object.entries(params).every(([key, v]) => {
    // The reservation mode's default is the backend's own (its first mode), not the table's.
    if (key === 'reserve') return v === findBackend(backend).reserveModes[0];
    if (key in base) return Object.is(base[key as keyof ResolvedRunOptions], set[key]);
    const spec = (RUN_OPTIONS as Record<string, OptionSpec>)[key];
    return spec?.default !== undefined && spec.default === v;
  });
}

function invalid(err: unknown): SweepRunOutcome {
  if (!(err instanceof HeapsimError) || err instanceof TraceError) throw err;
  return { outcome: 'invalid', error: err.message, defaults: false, figures: {} };
}

/** Runs one sweep task in this thread; `load` gives the parsed trace (the worker's cache). */
export async function runSweepTask(
  task: SweepTask,
  load: (path: string) => Promise<LoadedTrace>,
  onProgress: (events: number) => void,
): Promise<SweepRunOutcome> {
  const trace = await load(task.trace);
  let defaults: boolean;
  try {
    defaults = atDefaults(task.params, trace.meta, task.backend);
  } catch (err) {
    return invalid(err);
  }
  const options: RunOptions = { timing: false, ...(task.params as RunOptions), backend: task.backend, policy: task.policy };
  let result;
  try {
    ({ result } = await replayWith(trace, { ...options, onProgress }));
  } catch (err) {
    return invalid(err);
  }
  const figures: Record<string, number | null> = {};
  for (const f of SWEEP_FIGURES) {
    const v = f.value(result);
    figures[f.key] = v !== null && Number.isFinite(v) ? v : null;
  }
  return { outcome: result.outcome, defaults, figures };
}
