// Renders results as terminal tables. `replay` renders one result, `compare` several
// (a column per backend, the difference against the first beside each value); both go
// through the same metric definitions, so no figure is computed or formatted twice.

import Table from 'cli-table3';
import { Chalk, type ChalkInstance } from 'chalk';
import type { ReplayResult } from '../replay/result.js';
import type { CheckReport, Regression } from '../check/check.js';
import { formatBytes, formatCount, formatNs, formatRatio } from './format.js';
import { FIGURES, type Figure, type Section, type Unit } from '../metrics/index.js';
import { LATENCY_COLUMNS, LATENCY_OPS, LATENCY_TABLE_KEYS, latencyShown } from '../metrics/latency-meter.js';

/** The figures a table shows in a section, in declaration order. */
function tableFigures(section: Section): Figure[] {
  return FIGURES.filter((f) => f.section === section && f.hidden !== true);
}

/** A figure's value as a table shows it: null when undefined or not shown for this run. */
function shownValue(f: Figure, r: ReplayResult): number | null {
  return f.shown !== undefined && !f.shown(r) ? null : f.value(r);
}

/** A value as tables and reports show it: bytes human-readable, ratios in percent, times with a unit. */
export function fmt(unit: Unit, v: number | null): string {
  if (v === null || Number.isNaN(v)) return '–';
  switch (unit) {
    case 'bytes':
      return formatBytes(v);
    case 'ratio':
      return formatRatio(v);
    case 'ns':
      return formatNs(v);
    case 'work':
      return Number.isInteger(v) ? formatCount(v) : v.toFixed(2);
    default:
      return formatCount(v);
  }
}

export interface RenderOptions {
  color: boolean;
}

function makeTable(head: string[], c: ChalkInstance): Table.Table {
  return new Table({ head: head.map((h) => c.bold(h)), style: { head: [], border: [] }, chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } });
}

function header(r: ReplayResult, c: ChalkInstance): string {
  const meta = Object.entries(r.trace.metadata)
    .map(([k, v]) => `${k}=${v}`)
    .join('  ');
  const lines = [
    `${c.bold('trace')} ${r.trace.file}  (${formatCount(r.trace.events)} events${
      r.trace.skipped > 0
        ? `, ${formatCount(r.trace.skipped)} bad rows skipped: ${Object.entries(r.trace.skippedByKind)
            .map(([k, n]) => `${k} ${n}`)
            .join(', ')}`
        : ''
    })`,
  ];
  if (meta) lines.push(c.dim(meta));
  return lines.join('\n');
}

function outcomeLines(r: ReplayResult, c: ChalkInstance): string[] {
  const out: string[] = [];
  if (r.oom) {
    out.push(
      c.red(
        r.oom.seq === 0
          ? `${r.backend}: simulated out of memory at start (--reserve ${r.options.reserve}): ${r.oom.message}`
          : `${r.backend}: simulated out of memory at event ${r.oom.seq} (line ${r.oom.line}, ${r.oom.op}, time ${r.oom.time}): ${r.oom.message}`,
      ),
    );
  }
  if (r.summary.firstAddrMiss) {
    const x = r.summary.firstAddrMiss;
    out.push(c.dim(`${r.backend}: first address differing from the trace: line ${x.line}, trace 0x${x.want.toString(16)}, got 0x${x.got.toString(16)}`));
  }
  return out;
}

/** One result: summary, fragmentation and latency tables. */
export function renderReplay(r: ReplayResult, options: RenderOptions): string {
  const c = new Chalk({ level: options.color ? 1 : 0 });
  const parts: string[] = [header(r, c), `${c.bold('backend')} ${r.backend} (${r.goVersion})  ${c.bold('policy')} ${r.policy}`];
  for (const title of ['Summary', 'Fragmentation', 'Releases'] as const) {
    const t = makeTable([title, ''], c);
    let rows = 0;
    for (const f of tableFigures(title)) {
      const v = shownValue(f, r);
      // Sizes that do not apply, and release figures of triggers that never fired, are left out.
      if (v === null && (f.unit === 'bytes' || title === 'Releases')) continue;
      t.push([f.label, { hAlign: 'right', content: fmt(f.unit, v) }]);
      rows++;
    }
    if (rows > 0) parts.push(t.toString());
  }
  const columns = LATENCY_COLUMNS.filter((x) => LATENCY_TABLE_KEYS.has(x.key));
  const lt = makeTable(['Latency', ...columns.map((x) => x.label)], c);
  for (const op of LATENCY_OPS) {
    lt.push([op, ...columns.map((x) => ({ hAlign: 'right' as const, content: latencyShown(r, op, x.key) ? fmt(x.unit, r.latency[op][x.key]) : '–' }))]);
  }
  parts.push(lt.toString());
  parts.push(
    c.dim(
      'p50..max: wall time around the backend call in this process; work: nodes/words visited; model: work + syscalls + page faults priced as in docs/metrics.md',
    ),
  );
  const shape = Object.entries(r.shape);
  if (shape.length > 0) parts.push(`${c.bold('shape')} ${shape.map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(2)}`).join('  ')}`);
  parts.push(...outcomeLines(r, c));
  return parts.join('\n') + '\n';
}

function diff(x: Figure, base: number | null, v: number | null, c: ChalkInstance): string {
  if (base === null || v === null) return '';
  if (v === base) return c.dim(' =');
  const rel = base !== 0 ? (v - base) / Math.abs(base) : null;
  const text =
    x.unit === 'ratio'
      ? ` ${v > base ? '+' : ''}${((v - base) * 100).toFixed(1)}pp`
      : rel === null
        ? ' new'
        : ` ${rel > 0 ? '+' : ''}${(rel * 100).toFixed(1)}%`;
  if (x.better === null) return c.dim(text);
  const better = x.better === 'lower' ? v < base : v > base;
  return better ? c.green(text) : c.red(text);
}

/** Several results side by side: a row per metric, a column per result. */
export function renderCompare(results: ReplayResult[], options: RenderOptions, columnLabel: (r: ReplayResult) => string = (r) => r.backend): string {
  const c = new Chalk({ level: options.color ? 1 : 0 });
  const first = results[0];
  const parts: string[] = [header(first, c)];
  const t = makeTable(['metric', ...results.map(columnLabel)], c);
  const section = (name: string) => t.push([c.bold.underline(name), ...results.map(() => '')]);
  for (const name of ['Summary', 'Fragmentation', 'Releases', 'Latency'] as const) {
    const rows = tableFigures(name).filter((f) => results.some((r) => shownValue(f, r) !== null));
    if (rows.length === 0) continue;
    section(name);
    for (const f of rows) {
      const base = shownValue(f, first);
      t.push([
        f.label,
        ...results.map((r, i) => ({ hAlign: 'right' as const, content: fmt(f.unit, shownValue(f, r)) + (i > 0 ? diff(f, base, shownValue(f, r), c) : '') })),
      ]);
    }
  }
  parts.push(t.toString());
  for (const r of results.slice(1)) {
    if (r.placementMatch !== undefined) {
      parts.push(`${columnLabel(r)}: ${formatRatio(r.placementMatch)} of allocations at the same address as ${columnLabel(first)}`);
    }
  }
  for (const r of results) {
    const shape = Object.entries(r.shape);
    if (shape.length > 0) parts.push(`${c.bold(columnLabel(r))} shape: ${shape.map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(2)}`).join('  ')}`);
    parts.push(...outcomeLines(r, c));
  }
  return parts.join('\n') + '\n';
}

/** A relative change as a signed percentage (±inf from 0). */
export function formatChange(x: number): string {
  return Number.isFinite(x) ? `${x > 0 ? '+' : ''}${(x * 100).toFixed(2)}%` : x > 0 ? '+inf' : '-inf';
}

/** A relative tolerance as ±percent. */
export function formatTolerance(x: number): string {
  return `±${(x * 100).toFixed(1)}%`;
}

function checkTable(rows: Regression[], paint: (s: string) => string, c: ChalkInstance): string {
  const t = makeTable(['trace', 'backend', 'policy', 'metric', 'baseline', 'now', 'change', 'tolerance'], c);
  for (const r of rows) {
    t.push([
      r.trace,
      r.backend,
      r.policy,
      r.metric,
      { hAlign: 'right', content: fmt(r.unit, r.baseline) },
      { hAlign: 'right', content: fmt(r.unit, r.now) },
      { hAlign: 'right', content: paint(formatChange(r.change)) },
      { hAlign: 'right', content: formatTolerance(r.tolerance) },
    ]);
  }
  return t.toString();
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `heapsim check`'s report: regressions, improvements and workload changes as tables, then a line of totals. */
export function renderCheck(report: CheckReport, options: RenderOptions): string {
  const c = new Chalk({ level: options.color ? 1 : 0 });
  const parts: string[] = [];
  if (report.regressions.length > 0) {
    parts.push(
      c.bold.red(plural(report.regressions.length, 'regression')),
      checkTable(report.regressions, (s) => c.red(s), c),
    );
  }
  if (report.improvements.length > 0) {
    parts.push(
      c.bold.green(plural(report.improvements.length, 'improvement')),
      checkTable(report.improvements, (s) => c.green(s), c),
    );
  }
  if (report.workload.length > 0) {
    parts.push(
      c.bold(`${plural(report.workload.length, 'workload change')} (the recording's size; not judged)`),
      checkTable(report.workload, (s) => s, c),
    );
  }
  const verdict = report.regressions.length === 0 ? c.green('no regressions') : c.red('FAILED');
  parts.push(
    `${verdict} (${report.mode === 'fresh' ? 'fresh recordings' : 'same trace'}): ${report.checked} metrics checked over ${plural(report.runs.length, 'run')}, ` +
      `${report.regressions.length} worse and ${report.improvements.length} better beyond tolerance`,
  );
  if (report.improvements.length > 0) parts.push(c.dim('improvements are not failures; refresh the baseline with --update-baseline to keep them'));
  return parts.join('\n') + '\n';
}
