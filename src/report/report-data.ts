// What an HTML report holds, and how `heapsim report` turns its inputs into it.
//
// A report is a list of sections, one per input. The input's kind is chosen by its file
// (REPORT_INPUTS: the first kind that accepts the path); each kind turns its files into
// sections and html.ts draws each section by its `kind`. Today there is one kind, a
// trace (replayed on every backend x policy asked for); a new kind adds an entry to
// REPORT_INPUTS, a member to ReportSection and a renderer in html.ts, and changes nothing
// else. Sweep results (.jsonl) are not a kind: they are drawn whole, on their own page,
// by src/sweep/report.ts (the CLI's report command sends them there).

import { UsageError } from '../errors.js';
import { compareLoaded, loadTrace, planComparison, replayLoaded, type CompareOptions, type LoadedTrace } from '../replay/replay.js';
import type { ReplayResult } from '../replay/result.js';
import type { ReplayOptions } from '../replay/engine.js';
import { ReportRecorder, traceTimeRange, type RunSeries } from '../metrics/report-recorder.js';
import type { ReplayState } from '../metrics/meter.js';
import { packageVersion } from '../traces.js';

/** One replay of a trace section: its result and what its charts draw. */
export interface ReportRun {
  label: string;
  result: ReplayResult;
  series: RunSeries;
}

export interface TraceSection {
  kind: 'trace';
  file: string;
  metadata: Record<string, string>;
  events: number;
  /** Which run the others are compared with, and why. */
  reference: string;
  runs: ReportRun[];
}

/** Every kind of section a report can hold (a sweep section joins this union). */
export type ReportSection = TraceSection;

export interface ReportDocument {
  title: string;
  heapsimVersion: string;
  /** ISO time the report was made. */
  createdAt: string;
  sections: ReportSection[];
}

export interface ReportOptions extends Omit<CompareOptions, 'timelineFor' | 'meters'> {
  backends?: string[];
  policies?: string[];
  lenient?: boolean;
}

/** An input kind: which files it takes, and the sections it makes of them. */
export interface ReportInput {
  name: string;
  accepts(path: string): boolean;
  sections(paths: string[], options: ReportOptions): Promise<ReportSection[]>;
}

/** A meter factory that makes one recorder per replay, in replay order. */
export function recorders(trace: LoadedTrace): { made: ReportRecorder[]; meter: (state: ReplayState) => ReportRecorder } {
  const { t0, t1 } = traceTimeRange(trace);
  const made: ReportRecorder[] = [];
  return {
    made,
    meter: (state) => {
      const r = new ReportRecorder(state, t0, t1);
      made.push(r);
      return r;
    },
  };
}

/** A trace section from runs already made (replay --html, compare --html, report). */
export function traceSection(trace: LoadedTrace, reference: string, runs: ReportRun[]): TraceSection {
  return { kind: 'trace', file: trace.meta.file, metadata: trace.meta.metadata, events: trace.stats.events, reference, runs };
}

/** Replays a loaded trace once, recording what the report draws. */
export function reportReplay(trace: LoadedTrace, options: ReplayOptions, label: string): ReportRun {
  const rec = recorders(trace);
  const result = replayLoaded(trace, { ...options, meters: [...(options.meters ?? []), rec.meter] });
  return { label, result, series: rec.made[0].series() };
}

/** Replays a loaded trace on every run of a comparison, recording what the report draws. */
export function reportCompare(trace: LoadedTrace, plan: ReturnType<typeof planComparison>, options: Omit<CompareOptions, 'timelineFor'>): ReportRun[] {
  const rec = recorders(trace);
  const results = compareLoaded(trace, plan.runs, { ...options, meters: [...(options.meters ?? []), rec.meter] });
  return results.map((result, i) => ({ label: plan.label(result.backend, result.policy), result, series: rec.made[i].series() }));
}

const TRACE_INPUT: ReportInput = {
  name: 'trace',
  accepts: (path) => !path.endsWith('.jsonl'),
  async sections(paths, options) {
    const out: TraceSection[] = [];
    for (const path of paths) {
      const trace = await loadTrace(path, { lenient: options.lenient });
      const plan = planComparison({ backends: options.backends, policies: options.policies, goVersion: trace.meta.goVersion });
      out.push(traceSection(trace, plan.reference, reportCompare(trace, plan, options)));
    }
    return out;
  },
};

/** The input kinds `heapsim report` takes, tried in order. */
export const REPORT_INPUTS: ReportInput[] = [TRACE_INPUT];

/** The report of the given inputs, each drawn by the first kind that accepts it (sections in input order). */
export async function buildReport(paths: string[], options: ReportOptions = {}): Promise<ReportDocument> {
  if (paths.length === 0) throw new UsageError('report: give at least one input');
  const sections: ReportSection[] = [];
  for (const path of paths) {
    const kind = REPORT_INPUTS.find((k) => k.accepts(path));
    if (kind === undefined) throw new UsageError(`report: no report is drawn from ${path} yet (inputs taken: ${REPORT_INPUTS.map((k) => k.name).join(', ')})`);
    sections.push(...(await kind.sections([path], options)));
  }
  return reportDocument(sections);
}

export function reportDocument(sections: ReportSection[]): ReportDocument {
  const files = sections.map((s) => s.file.split('/').pop() ?? s.file);
  return { title: `heapsim report: ${files.join(', ')}`, heapsimVersion: packageVersion(), createdAt: new Date().toISOString(), sections };
}
