// The regression gate behind `heapsim check`: replay traces, flatten each result into
// named metrics, and compare them with a baseline file.
//
// A metric either describes the trace (ops, allocs, in-use bytes...: if it differs, the
// baseline is for another trace, which is an input error), or has a better direction
// (lower RSS, lower work, higher addrMatch: moving the wrong way beyond its tolerance is
// a regression), or is informational. Wall-clock times are left out unless asked for:
// they are noise on shared machines. Every other figure is deterministic.

import { basename } from 'node:path';
import { HeapsimError, UsageError } from '../errors.js';
import type { ReplayResult } from '../replay/result.js';

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

const IDENTITY = new Set([
  'summary.ops',
  'summary.allocs',
  'summary.frees',
  'summary.scavenges',
  'summary.gcs',
  'summary.limits',
  'summary.traceDurationNs',
  'summary.peakInUseBytes',
  'summary.finalInUseBytes',
  'summary.addrChecked',
]);
const HIGHER_IS_BETTER = new Set(['summary.addrMatch', 'fragmentation.largestFreeRunBytesAtPeak']);
const INFORMATIONAL = new Set([
  'summary.releasedBytes',
  'summary.runtimeReleasedBytes',
  'summary.osReleasedBytes',
  'summary.scavengedBytesReused',
  'summary.lastGcLiveBytes',
  'summary.limitBytes',
  'fragmentation.freeBytesAtPeak',
  'fragmentation.inUseBytesAtPeak',
]);
const WALL = /^latency\.\w+\.(p50Ns|p90Ns|p99Ns|maxNs|meanNs)$/;

/** Default relative tolerances: 1%, and 5% for work and modelled latency. */
export function defaultTolerance(metric: string): number {
  return metric.startsWith('latency.') ? 0.05 : 0.01;
}

/** The deterministic metrics of a result, flattened to dotted names. */
export function metricsOf(r: ReplayResult, includeWall = false): Record<string, number> {
  const out: Record<string, number> = {};
  const put = (prefix: string, obj: object) => {
    for (const [k, v] of Object.entries(obj)) {
      if (typeof v === 'number' && Number.isFinite(v)) out[`${prefix}.${k}`] = v;
    }
  };
  put('summary', r.summary);
  put('fragmentation', r.fragmentation);
  for (const [trigger, st] of Object.entries(r.summary.releases ?? {})) put(`releases.${trigger}`, st);
  for (const [op, stats] of Object.entries(r.latency)) put(`latency.${op}`, stats);
  for (const k of Object.keys(out)) if (!includeWall && WALL.test(k)) delete out[k];
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
    for (const metric of IDENTITY) {
      if (metric in b.metrics && b.metrics[metric] !== e.metrics[metric]) {
        throw new BaselineMismatchError(`${key(e)}: ${metric} is ${e.metrics[metric]}, the baseline says ${b.metrics[metric]}: the baseline was made from another trace`);
      }
    }
    for (const [metric, was] of Object.entries(b.metrics)) {
      const is = e.metrics[metric];
      if (is === undefined || IDENTITY.has(metric) || INFORMATIONAL.has(metric) || WALL.test(metric) && !(metric in e.metrics)) continue;
      report.checked++;
      if (is === was) continue;
      const tolerance = toleranceFor(metric, tolerances);
      const change = was === 0 ? (is > 0 ? Infinity : -Infinity) : (is - was) / Math.abs(was);
      const worse = HIGHER_IS_BETTER.has(metric) ? is < was : is > was;
      const row: Regression = { trace: e.trace, backend: e.backend, policy: e.policy, metric, baseline: was, now: is, change, tolerance };
      if (Math.abs(change) <= tolerance) continue;
      if (worse) report.regressions.push(row);
      else report.improvements.push(row);
    }
  }
  return report;
}
