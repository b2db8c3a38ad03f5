// The regression gate behind `heapsim check`: replay traces, flatten each result into
// named metrics, and compare them with a baseline file.
//
// A metric either describes the trace (ops, allocs, in-use bytes...: if it differs, the
// baseline is for another trace, which is an input error), or has a better direction
// (lower RSS, lower work, higher addrMatch: moving the wrong way beyond its tolerance is
// a regression), or is informational. Wall-clock times are left out unless asked for:
// they are noise on shared machines. Every other figure is deterministic.

import { basename } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { HeapsimError, UsageError } from '../errors.js';
import type { ReplayResult } from '../replay/result.js';
import { FIGURES, findFigure } from '../metrics/index.js';
import { compareLoaded, loadTrace, planComparison } from '../replay/replay.js';

export const BASELINE_SCHEMA = 'heapsim.baseline/1';

export interface BaselineEntry {
  trace: string;
  backend: string;
  policy: string;
  metrics: Record<string, number>;
}

export interface BaselineFile {
  schema: string;
  entries: BaselineEntry[];
}

export interface Regression {
  trace: string;
  backend: string;
  policy: string;
  metric: string;
  baseline: number;
  now: number;
  /** Relative change ((now - baseline) / |baseline|); Infinity from 0. */
  change: number;
  tolerance: number;
}

export interface CheckReport {
  checked: number;
  regressions: Regression[];
  improvements: Regression[];
}

/** Baseline mismatches: the baseline describes other traces or is missing entries. */
export class BaselineMismatchError extends HeapsimError {}

/** Default relative tolerances: 1%, and 5% for work and modelled latency. */
export function defaultTolerance(metric: string): number {
  return metric.startsWith('latency.') ? 0.05 : 0.01;
}

/** A result's deterministic figures (and wall-clock ones when asked), by metric name. */
export function metricsOf(r: ReplayResult, includeWall = false): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of FIGURES) {
    if (f.role === 'wall' && !includeWall) continue;
    const v = f.value(r);
    if (typeof v === 'number' && Number.isFinite(v)) out[f.key] = v;
  }
  return out;
}

/** Parses "peakRssBytes=2%,latency.alloc.p99Work=10%,*=3%" into fractions by key. */
export function parseTolerances(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (!text) return out;
  for (const part of text.split(',')) {
    const m = /^\s*([\w.*]+)\s*=\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(part);
    if (!m) throw new UsageError(`--tolerance takes metric=percent pairs such as peakRssBytes=2%, got "${part}"`);
    out[m[1]] = Number(m[2]) / (m[3] === '%' ? 100 : 1);
  }
  return out;
}

function toleranceFor(metric: string, given: Record<string, number>): number {
  if (metric in given) return given[metric];
  const short = metric.slice(metric.indexOf('.') + 1);
  if (short in given) return given[short];
  const leaf = metric.slice(metric.lastIndexOf('.') + 1);
  if (leaf in given) return given[leaf];
  if ('*' in given) return given['*'];
  return defaultTolerance(metric);
}

export function entryOf(trace: string, r: ReplayResult, includeWall = false): BaselineEntry {
  return { trace: basename(trace), backend: r.backend, policy: r.policy, metrics: metricsOf(r, includeWall) };
}

/** Compares replays with the baseline; throws BaselineMismatchError when they do not describe the same runs. */
export function compareWithBaseline(now: BaselineEntry[], baseline: BaselineFile, tolerances: Record<string, number> = {}): CheckReport {
  if (baseline.schema !== BASELINE_SCHEMA) throw new BaselineMismatchError(`baseline schema is "${baseline.schema}", expected ${BASELINE_SCHEMA}`);
  const key = (e: BaselineEntry) => `${e.trace} | ${e.backend} | ${e.policy}`;
  const base = new Map(baseline.entries.map((e) => [key(e), e]));
  const report: CheckReport = { checked: 0, regressions: [], improvements: [] };
  for (const e of now) {
    const b = base.get(key(e));
    if (!b) throw new BaselineMismatchError(`the baseline has no entry for ${key(e)}: update it with --update-baseline`);
    for (const [metric, was] of Object.entries(b.metrics)) {
      const f = findFigure(metric);
      const is = e.metrics[metric];
      if (f?.role === 'identity' && is !== was) {
        throw new BaselineMismatchError(`${key(e)}: ${metric} is ${is}, the baseline says ${was}: the baseline was made from another trace`);
      }
      // Figures this version does not declare, informational ones, and wall time not measured now.
      if (f === undefined || f.better === null || f.role === 'identity' || f.role === 'info' || is === undefined) continue;
      report.checked++;
      if (is === was) continue;
      const tolerance = toleranceFor(metric, tolerances);
      const change = was === 0 ? (is > 0 ? Infinity : -Infinity) : (is - was) / Math.abs(was);
      if (Math.abs(change) <= tolerance) continue;
      const worse = f.better === 'higher' ? is < was : is > was;
      const row: Regression = { trace: e.trace, backend: e.backend, policy: e.policy, metric, baseline: was, now: is, change, tolerance };
      if (worse) report.regressions.push(row);
      else report.improvements.push(row);
    }
  }
  return report;
}

export interface CheckOptions {
  /** Backends to replay on (default: all). */
  backends?: string[];
  /** Release policy (default: trace). */
  policy?: string;
  /** Compare wall-clock latencies too (noisy on shared machines). */
  includeWall?: boolean;
  lenient?: boolean;
}

/** Replays each trace on each backend and flattens the results into baseline entries. */
export async function measureTraces(traces: string[], options: CheckOptions = {}): Promise<BaselineEntry[]> {
  const plan = planComparison({ backends: options.backends, policies: options.policy === undefined ? undefined : [options.policy] });
  const includeWall = options.includeWall === true;
  const entries: BaselineEntry[] = [];
  for (const trace of traces) {
    const loaded = await loadTrace(trace, { lenient: options.lenient });
    for (const r of compareLoaded(loaded, plan.runs, { timing: includeWall })) {
      if (r.outcome === 'oom') throw new UsageError(`${trace} on ${r.backend}: the simulated program ran out of memory; a baseline needs complete runs`);
      entries.push(entryOf(trace, r, includeWall));
    }
  }
  return entries;
}

/** Reads a baseline file, with a user-facing error when it is missing or not JSON. */
export function readBaseline(path: string): BaselineFile {
  if (!existsSync(path)) throw new UsageError(`baseline ${path} does not exist: create it with --update-baseline`);
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as BaselineFile;
  } catch (err) {
    throw new UsageError(`baseline ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/** A baseline file's text for these entries. */
export function baselineText(entries: BaselineEntry[]): string {
  const file: BaselineFile = { schema: BASELINE_SCHEMA, entries };
  return JSON.stringify(file, null, 1) + '\n';
}
