// A sweep's results: one JSON line per run (schema heapsim.sweep-run/1), reading them
// back for a resume, a merge of shards or a report.
//
// Invariants:
// - A line is self-describing: it carries the sweep id (grid + traces, src/sweep/grid.ts)
//   and the heapsim version, so a file, a shard or a concatenation of shards can be
//   checked on its own. Its fields are written in one fixed order, so the same run gives
//   the same bytes in any shard and on any number of workers.
// - Lines are appended whole (one write each, ending in a newline): an interrupted sweep
//   leaves complete lines and at most one cut-short last line, with no newline. Reading
//   for a resume drops that tail (keepBytes says where the file is cut before appending);
//   any other line that is not a sweep result is an error, never skipped.
// - Results of different sweeps or heapsim versions are never mixed: resume and merge
//   refuse them (UsageError, exit 2).

import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import type { ParamValue, PlannedRun, SweepPlan } from './grid.js';
import type { SweepRunOutcome } from './run.js';

export const SWEEP_RUN_SCHEMA = 'heapsim.sweep-run/1';

export interface SweepLine {
  schema: typeof SWEEP_RUN_SCHEMA;
  /** The sweep id: grid and traces (shards of one sweep share it). */
  sweep: string;
  /** The heapsim version that ran it. */
  heapsim: string;
  /** The run's place in the sweep's order, and how many runs the sweep has. */
  index: number;
  runs: number;
  key: string;
  trace: string;
  backend: string;
  policy: string;
  /** The Go release this backend and policy are, if they are one ('go1.19'). */
  version: string | null;
  params: Record<string, ParamValue>;
  /** Every param at its default for this trace: with `version`, that release's default settings. */
  defaults: boolean;
  outcome: SweepRunOutcome['outcome'];
  error?: string;
  figures: Record<string, number | null>;
}

/** The results line of a run, fields in their fixed order. */
export function sweepLine(plan: SweepPlan, run: PlannedRun, version: string, o: SweepRunOutcome): SweepLine {
  return {
    schema: SWEEP_RUN_SCHEMA,
    sweep: plan.id,
    heapsim: version,
    index: run.index,
    runs: plan.runs.length,
    key: run.key,
    trace: run.trace.name,
    backend: run.config.backend,
    policy: run.config.policy,
    version: run.config.version,
    params: run.params,
    defaults: o.defaults,
    outcome: o.outcome,
    ...(o.error !== undefined ? { error: o.error } : {}),
    figures: o.figures,
  };
}

export const lineText = (line: SweepLine): string => JSON.stringify(line) + '\n';

function isSweepLine(v: unknown): v is SweepLine {
  const o = v as Partial<SweepLine> | null;
  return (
    o !== null &&
    typeof o === 'object' &&
    o.schema === SWEEP_RUN_SCHEMA &&
    typeof o.sweep === 'string' &&
    typeof o.heapsim === 'string' &&
    typeof o.key === 'string' &&
    typeof o.index === 'number' &&
    typeof o.runs === 'number' &&
    typeof o.trace === 'string' &&
    typeof o.figures === 'object'
  );
}

export interface ResultsFile {
  path: string;
  lines: SweepLine[];
  /** Each line's text as read (without its newline). */
  texts: string[];
  /** Bytes of whole lines: where an append starts (the file is cut here first). */
  keepBytes: number;
  /** A cut-short last line was found (and is dropped). */
  truncatedTail: boolean;
}

/** Reads a results file. `tail`: 'drop' a cut-short last line (resume), or 'refuse' it (merge, report). */
export function readResults(path: string, tail: 'drop' | 'refuse'): ResultsFile {
  let data: string;
  try {
    data = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as Error).message}`);
  }
  const end = data.lastIndexOf('\n') + 1;
  const truncatedTail = end < data.length;
  if (truncatedTail && tail === 'refuse') {
    throw new UsageError(`${path}: its last line is cut short (an interrupted sweep): rerun the sweep with -o ${path} to finish it`);
  }
  const lines: SweepLine[] = [];
  const texts: string[] = [];
  data
    .slice(0, end)
    .split('\n')
    .forEach((t, i) => {
      if (t.trim() === '') return;
      let v: unknown;
      try {
        v = JSON.parse(t);
      } catch {
        v = null;
      }
      if (!isSweepLine(v)) throw new UsageError(`${path}:${i + 1}: not a heapsim sweep result (${SWEEP_RUN_SCHEMA}); refusing to use this file`);
      lines.push(v);
      texts.push(t);
    });
  return { path, lines, texts, keepBytes: Buffer.byteLength(data.slice(0, end), 'utf8'), truncatedTail };
}

/** Refuses results of another sweep or heapsim version than `want` (the first file's, or this sweep's). */
export function checkSameSweep(files: ResultsFile[], want?: { sweep: string; heapsim: string; what: string }): void {
  const first = files.flatMap((f) => f.lines.map((l) => ({ f, l })))[0];
  if (first === undefined) return;
  const ref = want ?? { sweep: first.l.sweep, heapsim: first.l.heapsim, what: first.f.path };
  for (const f of files) {
    for (const l of f.lines) {
      if (l.sweep !== ref.sweep)
        throw new UsageError(
          `${f.path} holds runs of sweep ${l.sweep}, ${ref.what} of sweep ${ref.sweep}: the grids or the trace files differ; refusing to mix them`,
        );
      if (l.heapsim !== ref.heapsim)
        throw new UsageError(
          `${f.path} was written by heapsim ${l.heapsim}, ${ref.what} by heapsim ${ref.heapsim}: figures may differ between versions; refusing to mix them`,
        );
    }
  }
}

export interface Merged {
  /** One text per run, in sweep order. */
  texts: string[];
  lines: SweepLine[];
  /** Runs in the sweep, and how many of them are missing from the inputs. */
  runs: number;
  missing: number;
}

/** Combines results files of one sweep: each run once (a run found twice must match), in sweep order. */
export function mergeResults(files: ResultsFile[]): Merged {
  checkSameSweep(files);
  const byKey = new Map<string, { line: SweepLine; text: string; path: string }>();
  for (const f of files) {
    f.lines.forEach((line, i) => {
      const prev = byKey.get(line.key);
      if (prev !== undefined && prev.text !== f.texts[i]) {
        throw new UsageError(`run ${line.key} (${line.trace}, ${line.backend}, ${line.policy}) differs between ${prev.path} and ${f.path}`);
      }
      byKey.set(line.key, { line, text: f.texts[i], path: f.path });
    });
  }
  const sorted = [...byKey.values()].sort((a, b) => a.line.index - b.line.index);
  const runs = sorted[0]?.line.runs ?? 0;
  return { texts: sorted.map((s) => s.text), lines: sorted.map((s) => s.line), runs, missing: runs - sorted.length };
}
