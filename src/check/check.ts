// The regression gate behind `heapsim check`: replay traces, flatten each result into
// named metrics, and compare them with a baseline file, in one of two modes.
//
// - 'fresh' (the default): the trace is a new recording of the same program, so it
//   differs from the baseline's. The live heap it describes (peak and final in-use bytes)
//   is gated like any figure, lower is better: a program whose live heap grew regressed.
//   Figures that grow with the length of the recording (ops, allocs, duration, page
//   faults, syscalls...) are compared and listed as workload changes, never failures;
//   they are judged through the normalised figures (src/check/normalised.ts: RSS per
//   in-use byte, work per op...), so a longer recording is not a failure by itself.
// - 'same-trace': the baseline was made from this very trace (heapsim's own models gated
//   on frozen traces). The trace file's sha256 and the figures that describe the trace
//   (ops, allocs, in-use bytes...) must match, or the baseline is for another trace:
//   BaselineMismatchError, exit 2.
//
// In both modes a figure with a better direction that moves the wrong way beyond its
// tolerance is a regression, the right way an improvement; informational figures are not
// compared. Wall-clock times are left out unless asked for: they are noise on shared
// machines. Every other figure is deterministic.

import { basename } from 'node:path';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { HeapsimError, UsageError } from '../errors.js';
import type { ReplayResult } from '../replay/result.js';
import { FIGURES, findFigure, type Unit } from '../metrics/index.js';
import { compareLoaded, loadTrace, planComparison } from '../replay/replay.js';
import { NORMALISED, findNormalised, normalisedOf } from './normalised.js';

export const BASELINE_SCHEMA = 'heapsim.baseline/1';
export const CHECK_REPORT_SCHEMA = 'heapsim.check/1';

export type CheckMode = 'fresh' | 'same-trace';

export interface BaselineEntry {
  trace: string;
  backend: string;
  policy: string;
  /** sha256 of the trace file's bytes (hex); absent in baselines written before it was kept, and for standard input. */
  sha256?: string;
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
  /** The figure's label and unit, for reports. */
  label: string;
  unit: Unit;
  baseline: number;
  now: number;
  /** Relative change ((now - baseline) / |baseline|); Infinity from 0. */
  change: number;
  tolerance: number;
}

export interface CheckRun {
  trace: string;
  backend: string;
  policy: string;
}

/**
 * What `heapsim check` found; written as JSON (schema heapsim.check/1) whatever the
 * outcome. `status` and `exitCode`: 'pass' 0, 'regression' 1, 'error' 2 (then `error`
 * says why and the lists are empty).
 */
export interface CheckReport {
  schema: string;
  mode: CheckMode;
  status: 'pass' | 'regression' | 'error';
  exitCode: 0 | 1 | 2;
  error?: string;
  /** Figures compared (regressions, improvements and workload rows included). */
  checked: number;
  runs: CheckRun[];
  regressions: Regression[];
  improvements: Regression[];
  /** Fresh mode: figures that grow with the recording's length, moved beyond tolerance; listed, never failures. */
  workload: Regression[];
}

/** Baseline mismatches: the baseline describes other traces or is missing entries. */
export class BaselineMismatchError extends HeapsimError {}

/** Same-trace mode's defaults: 1%, and 5% for work and modelled latency (deterministic replays of one file). */
function sameTraceTolerance(metric: string): number {
  return metric.startsWith('latency.') ? 0.05 : 0.01;
}

/**
 * Fresh mode's defaults, first match wins. Measured: five seeds of one generated workload
 * (standing for five recordings of one program; `gen steady`, 20,000 and 100,000 events,
 * every backend) differ pairwise by at most ~9.5% in levels (RSS, heap, in-use, the
 * normalised figures: the heap grows in arena-sized steps), ~23% in latency means and
 * p99s, ~112% in latency maxima (one extreme op) and ~64% in fragmentation ratios taken
 * at the peak heap. Each default sits above that and below the multi-fold change a real
 * regression makes; docs/ci.md shows this table.
 */
export const FRESH_TOLERANCES: readonly { pattern: RegExp; tolerance: number; what: string }[] = [
  { pattern: /^latency\.[^.]+\.(maxWork|modelMaxNs|maxNs)$/, tolerance: 1.5, what: 'latency maxima (one extreme op)' },
  { pattern: /^latency\./, tolerance: 0.3, what: 'latency means and percentiles' },
  { pattern: /^fragmentation\./, tolerance: 1, what: 'fragmentation at the peak heap' },
  { pattern: /./, tolerance: 0.15, what: 'everything else (RSS, heap, in-use, normalised figures...)' },
];
/** The default relative tolerance of a metric in a mode. */
export function defaultTolerance(metric: string, mode: CheckMode = 'same-trace'): number {
  if (mode === 'same-trace') return sameTraceTolerance(metric);
  return FRESH_TOLERANCES.find((t) => t.pattern.test(metric))!.tolerance;
}

/** Fresh mode: counts of one instant (the peak heap) that a re-recording moves 2-3x: judged in same-trace mode only. */
const FRESH_SKIPPED = new Set(['fragmentation.freeRunsAtPeak', 'fragmentation.largestFreeRunBytesAtPeak']);
/** Fresh mode: the trace's own figures that are gated (lower is better) rather than listed. */
const FRESH_GATED_IDENTITY = new Set(['summary.peakInUseBytes', 'summary.finalInUseBytes']);
/** Fresh mode: figures whose raw value grows with the recording's length (judged normalised). */
const SCALING = [
  /^summary\.(pageFaults|refaults|mmapCalls|madviseCalls|munmapCalls|growthAllocs|scavengerCpuNs|timeAboveLimitNs)$/,
  /^releases\.[^.]+\.(calls|modelNs)$/,
];

/**
 * Fresh mode: a ratio (overheads, shares, match rates) must also move by more than this
 * many units (1 percentage point) to count: near 0, relative change is all noise (a heap
 * overhead of 0.2% becoming 0.5% is +164%, and 0 becoming 0.005% is +inf).
 */
export const FRESH_RATIO_SLACK = 0.01;

/** How a metric is compared: gated in a direction, listed as workload, matched exactly, or skipped (null). */
type Judgement = { kind: 'gated'; better: 'lower' | 'higher' } | { kind: 'workload' } | { kind: 'identity' } | null;

function judgementOf(metric: string, mode: CheckMode): Judgement {
  const n = findNormalised(metric);
  if (n !== undefined) {
    if (mode === 'same-trace') return null;
    return n.better === null ? { kind: 'workload' } : { kind: 'gated', better: n.better };
  }
  const f = findFigure(metric);
  if (f === undefined) return null; // a figure this version does not declare
  if (mode === 'same-trace') {
    if (f.role === 'identity') return { kind: 'identity' };
    return f.better === null || f.role === 'info' ? null : { kind: 'gated', better: f.better };
  }
  if (FRESH_SKIPPED.has(metric)) return null;
  if (FRESH_GATED_IDENTITY.has(metric)) return { kind: 'gated', better: 'lower' };
  if (f.role === 'identity' || SCALING.some((p) => p.test(metric))) return { kind: 'workload' };
  return f.better === null || f.role === 'info' ? null : { kind: 'gated', better: f.better };
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

let tolerableNames: Set<string> | undefined;

/** Every name --tolerance accepts: full metric names, the part after the first dot, the last part, and '*'. */
function tolerableName(name: string): boolean {
  if (tolerableNames === undefined) {
    tolerableNames = new Set(['*']);
    for (const key of [...FIGURES.map((f) => f.key), ...NORMALISED.map((f) => f.key)]) {
      tolerableNames
        .add(key)
        .add(key.slice(key.indexOf('.') + 1))
        .add(key.slice(key.lastIndexOf('.') + 1));
    }
  }
  return tolerableNames.has(name);
}

/** Parses "peakRssBytes=2%,latency.alloc.p99Work=10%,*=3%" into fractions by key; an unknown metric is a UsageError. */
export function parseTolerances(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (!text) return out;
  for (const part of text.split(',')) {
    // The % is required: a bare "5" would be ambiguous between 5% and 500%.
    const m = /^\s*([\w.*]+)\s*=\s*(\d+(?:\.\d+)?)\s*(%)\s*$/.exec(part);
    if (!m) throw new UsageError(`--tolerance takes metric=percent pairs such as peakRssBytes=2%, got "${part}"`);
    if (!tolerableName(m[1])) {
      throw new UsageError(`--tolerance: no metric is named "${m[1]}" (names: replay --json's figures as in baselines, normalised.*, or *; docs/ci.md)`);
    }
    out[m[1]] = Number(m[2]) / 100;
  }
  return out;
}

function toleranceFor(metric: string, given: Record<string, number>, mode: CheckMode): number {
  if (metric in given) return given[metric];
  const short = metric.slice(metric.indexOf('.') + 1);
  if (short in given) return given[short];
  const leaf = metric.slice(metric.lastIndexOf('.') + 1);
  if (leaf in given) return given[leaf];
  if ('*' in given) return given['*'];
  return defaultTolerance(metric, mode);
}

export function entryOf(trace: string, r: ReplayResult, includeWall = false, sha256?: string): BaselineEntry {
  const entry: BaselineEntry = { trace: basename(trace), backend: r.backend, policy: r.policy, metrics: metricsOf(r, includeWall) };
  if (sha256 !== undefined) entry.sha256 = sha256;
  return entry;
}

const entryKey = (e: CheckRun) => `${e.trace} | ${e.backend} | ${e.policy}`;

/** Same-trace mode: throws when the baseline entry was made from another trace file. */
function requireSameTrace(e: BaselineEntry, b: BaselineEntry): void {
  if (e.sha256 !== undefined && b.sha256 !== undefined && e.sha256 !== b.sha256) {
    throw new BaselineMismatchError(
      `${entryKey(e)}: the trace's sha256 is ${e.sha256.slice(0, 12)}…, the baseline's ${b.sha256.slice(0, 12)}…: the baseline was made from another trace (drop --same-trace to compare fresh recordings)`,
    );
  }
  for (const [metric, was] of Object.entries(b.metrics)) {
    if (findFigure(metric)?.role === 'identity' && e.metrics[metric] !== was) {
      throw new BaselineMismatchError(
        `${entryKey(e)}: ${metric} is ${e.metrics[metric]}, the baseline says ${was}: the baseline was made from another trace (drop --same-trace to compare fresh recordings)`,
      );
    }
  }
}

function unitOf(metric: string): { label: string; unit: Unit } {
  const f = findFigure(metric) ?? findNormalised(metric)!;
  return { label: f.label, unit: f.unit };
}

/** Compares one run's metrics with its baseline entry's, adding rows to the report. */
function compareEntry(e: BaselineEntry, b: BaselineEntry, report: CheckReport, tolerances: Record<string, number>): void {
  const fresh = report.mode === 'fresh';
  const was = fresh ? { ...b.metrics, ...normalisedOf(b.metrics) } : b.metrics;
  const is = fresh ? { ...e.metrics, ...normalisedOf(e.metrics) } : e.metrics;
  for (const [metric, before] of Object.entries(was)) {
    const j = judgementOf(metric, report.mode);
    const now = is[metric];
    if (j === null || j.kind === 'identity' || now === undefined) continue;
    report.checked++;
    if (now === before) continue;
    const tolerance = toleranceFor(metric, tolerances, report.mode);
    const change = before === 0 ? (now > 0 ? Infinity : -Infinity) : (now - before) / Math.abs(before);
    if (Math.abs(change) <= tolerance) continue;
    const shown = unitOf(metric);
    if (fresh && shown.unit === 'ratio' && Math.abs(now - before) <= FRESH_RATIO_SLACK) continue;
    const row: Regression = { trace: e.trace, backend: e.backend, policy: e.policy, metric, ...shown, baseline: before, now, change, tolerance };
    if (j.kind === 'workload') report.workload.push(row);
    else if (j.better === 'higher' ? now < before : now > before) report.regressions.push(row);
    else report.improvements.push(row);
  }
}

function emptyReport(mode: CheckMode): CheckReport {
  return { schema: CHECK_REPORT_SCHEMA, mode, status: 'pass', exitCode: 0, checked: 0, runs: [], regressions: [], improvements: [], workload: [] };
}

/** The report of a check that could not be made (bad input, a baseline for other traces): exit 2, with the reason. */
export function errorReport(mode: CheckMode, message: string): CheckReport {
  return { ...emptyReport(mode), status: 'error', exitCode: 2, error: message };
}

/** Compares replays with the baseline; throws BaselineMismatchError when they do not describe the same runs. */
export function compareWithBaseline(
  now: BaselineEntry[],
  baseline: BaselineFile,
  tolerances: Record<string, number> = {},
  mode: CheckMode = 'fresh',
): CheckReport {
  if (baseline.schema !== BASELINE_SCHEMA) throw new BaselineMismatchError(`baseline schema is "${baseline.schema}", expected ${BASELINE_SCHEMA}`);
  if (!Array.isArray(baseline.entries)) throw new BaselineMismatchError('the baseline has no "entries" list');
  const base = new Map(baseline.entries.map((e) => [entryKey(e), e]));
  const report = emptyReport(mode);
  for (const e of now) {
    const b = base.get(entryKey(e));
    if (!b) throw new BaselineMismatchError(`the baseline has no entry for ${entryKey(e)}: update it with --update-baseline`);
    if (mode === 'same-trace') requireSameTrace(e, b);
    report.runs.push({ trace: e.trace, backend: e.backend, policy: e.policy });
    compareEntry(e, b, report, tolerances);
  }
  if (report.regressions.length > 0) {
    report.status = 'regression';
    report.exitCode = 1;
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

/** sha256 of a trace file's bytes (hex); undefined for standard input. */
function traceHash(trace: string): string | undefined {
  if (trace === '-') return undefined;
  try {
    return createHash('sha256').update(readFileSync(trace)).digest('hex');
  } catch {
    return undefined; // unreadable: the trace reader reports it
  }
}

/** Replays each trace on each backend and flattens the results into baseline entries. */
export async function measureTraces(traces: string[], options: CheckOptions = {}): Promise<BaselineEntry[]> {
  const plan = planComparison({ backends: options.backends, policies: options.policy === undefined ? undefined : [options.policy] });
  const includeWall = options.includeWall === true;
  const entries: BaselineEntry[] = [];
  for (const trace of traces) {
    const loaded = await loadTrace(trace, { lenient: options.lenient });
    const sha256 = traceHash(trace);
    for (const r of compareLoaded(loaded, plan.runs, { timing: includeWall })) {
      if (r.outcome === 'oom') throw new UsageError(`${trace} on ${r.backend}: the simulated program ran out of memory; a baseline needs complete runs`);
      entries.push(entryOf(trace, r, includeWall, sha256));
    }
  }
  return entries;
}

export interface RunCheckOptions extends CheckOptions {
  baseline: string;
  /** --tolerance's text. */
  tolerance?: string;
  mode: CheckMode;
}

/** Reads the baseline, replays the traces and compares. Throws HeapsimErrors for bad input (exit 2). */
export async function runCheck(traces: string[], options: RunCheckOptions): Promise<CheckReport> {
  const tolerances = parseTolerances(options.tolerance);
  const baseline = readBaseline(options.baseline);
  const entries = await measureTraces(traces, options);
  return compareWithBaseline(entries, baseline, tolerances, options.mode);
}

/** Reads a baseline file, with a user-facing error when it is missing or not JSON. */
export function readBaseline(path: string): BaselineFile {
  if (!existsSync(path)) throw new UsageError(`baseline ${path} does not exist: create it with --update-baseline`);
  let file: unknown;
  try {
    file = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`baseline ${path} is not valid JSON: ${(err as Error).message}`);
  }
  const problem = baselineProblem(file);
  if (problem !== null) throw new UsageError(`baseline ${path} is not a heapsim baseline: ${problem}`);
  return file as BaselineFile;
}

/** What is wrong with a parsed baseline's shape, or null. */
function baselineProblem(file: unknown): string | null {
  if (typeof file !== 'object' || file === null || Array.isArray(file)) return 'not a JSON object';
  const f = file as { schema?: unknown; entries?: unknown };
  if (f.schema !== BASELINE_SCHEMA) return `schema is ${JSON.stringify(f.schema)}, expected "${BASELINE_SCHEMA}"`;
  if (!Array.isArray(f.entries)) return 'it has no "entries" list';
  for (const [i, e] of (f.entries as unknown[]).entries()) {
    const x = e as { trace?: unknown; backend?: unknown; policy?: unknown; metrics?: unknown } | null;
    const named = x !== null && typeof x === 'object' && typeof x.trace === 'string' && typeof x.backend === 'string' && typeof x.policy === 'string';
    const metrics = named && typeof x.metrics === 'object' && x.metrics !== null && Object.values(x.metrics).every((v) => typeof v === 'number');
    if (!metrics) return `entry ${i} needs string trace, backend and policy and numeric metrics`;
  }
  return null;
}

/** A baseline file's text for these entries. */
export function baselineText(entries: BaselineEntry[]): string {
  const file: BaselineFile = { schema: BASELINE_SCHEMA, entries };
  return JSON.stringify(file, null, 1) + '\n';
}
