// Renders results as terminal tables. `replay` renders one result, `compare` several
// (a column per run, the change against the first, the reference, beside each value); both
// go through the same figure declarations and src/report/format.ts's one formatting rule,
// so no figure is computed or formatted twice.
//
// Invariants:
// - A run stopped by a simulated out-of-memory says so first, before any table, with sizes
//   in binary units (oomMessage), and its tables' titles say the figures stop there.
// - A figure with no value shows a mark, never a zero, and every mark used is explained
//   in a legend under the table (MARKS).
// - `compare` leaves wall-clock figures out unless asked (RenderOptions.wallClock): they
//   depend on run order and machine load; when shown, their changes are not coloured.

import Table from 'cli-table3';
import { Chalk, type ChalkInstance } from 'chalk';
import type { ReplayResult } from '../replay/result.js';
import type { CheckReport, Regression } from '../check/check.js';
import { formatBytes, formatChange, formatCount, formatNs, formatRatio, humanizeBytesIn, significant } from './format.js';
import { FIGURES, type Figure, type Section, type Unit } from '../metrics/index.js';
import { LATENCY_COLUMNS, LATENCY_OPS, LATENCY_TABLE_KEYS, latencyShown } from '../metrics/latency-meter.js';

/** What each mark in a table cell means. */
const MARKS = {
  '–': 'not defined for this run (nothing to measure, or not modelled by this backend or option)',
  none: 'never happened in this run',
  off: 'not measured (--no-timing)',
} as const;
type Mark = keyof typeof MARKS;

/** The figures a table shows in a section, in declaration order. */
function tableFigures(section: Section, wallClock = true): Figure[] {
  return FIGURES.filter((f) => f.section === section && f.hidden !== true && (wallClock || f.role !== 'wall'));
}

/** A figure's value as a table shows it: null when undefined or not shown for this run. */
function shownValue(f: Figure, r: ReplayResult): number | null {
  return f.shown !== undefined && !f.shown(r) ? null : f.value(r);
}

/** The mark a figure without a value shows. */
function markFor(f: Figure, r: ReplayResult): Mark {
  if (f.role === 'wall' && !r.options.timing) return 'off';
  return f.section === 'Releases' ? 'none' : '–';
}

/** A value as tables and reports show it: bytes human-readable, ratios in percent, times with a unit; '–' when undefined. */
export function fmt(unit: Unit, v: number | null): string {
  if (v === null || Number.isNaN(v)) return '–';
  switch (unit) {
    case 'bytes':
      return formatBytes(v);
    case 'ratio':
      return formatRatio(v);
    case 'ns':
      return formatNs(v);
    default:
      return formatCount(v);
  }
}

/** Collects the marks a table used, for its legend. */
class Cells {
  readonly used = new Set<Mark>();
  value(f: Figure, r: ReplayResult): string {
    const v = shownValue(f, r);
    if (v !== null && !Number.isNaN(v)) return fmt(f.unit, v);
    const m = markFor(f, r);
    this.used.add(m);
    return m;
  }
  mark(m: Mark): string {
    this.used.add(m);
    return m;
  }
  legend(c: ChalkInstance): string[] {
    return [...this.used].map((m) => c.dim(`${m}: ${MARKS[m]}`));
  }
}

export interface RenderOptions {
  color: boolean;
  /** compare: show wall-clock figures too (default false: they depend on run order and load). */
  wallClock?: boolean;
  /** compare: why the first column is the reference (ComparePlan.reference). */
  reference?: string;
}

function makeTable(head: string[], c: ChalkInstance): Table.Table {
  return new Table({ head: head.map((h) => c.bold(h)), style: { head: [], border: [] }, chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } });
}

/** One line saying why and where a run stopped, sizes in binary units; null if it did not. */
export function oomMessage(r: ReplayResult): string | null {
  if (!r.oom) return null;
  const why = humanizeBytesIn(r.oom.message);
  return r.oom.seq === 0
    ? `${r.backend}: simulated out of memory at start (--reserve ${r.options.reserve}): ${why}`
    : `${r.backend}: simulated out of memory at event ${formatCount(r.oom.seq)} (line ${r.oom.line}, ${r.oom.op}, time ${formatNs(r.oom.time)}): ${why}`;
}

/** A table title, saying when the figures stop short of the trace's end. */
function title(name: string, r: ReplayResult): string {
  if (!r.oom) return name;
  return r.oom.seq === 0 ? `${name} (stopped at start: out of memory)` : `${name} (stopped at event ${formatCount(r.oom.seq)}: out of memory)`;
}

function header(r: ReplayResult, c: ChalkInstance): string {
  const meta = Object.entries(r.trace.metadata)
    .map(([k, v]) => `${k}=${v}`)
    .join('  ');
  const skipped =
    r.trace.skipped > 0
      ? `, ${formatCount(r.trace.skipped)} bad rows skipped: ${Object.entries(r.trace.skippedByKind)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ')}`
      : '';
  const lines = [`${c.bold('trace')} ${r.trace.file}  (${formatCount(r.trace.events)} events${skipped})`];
  if (meta) lines.push(c.dim(meta));
  return lines.join('\n');
}

function oomLines(results: ReplayResult[], c: ChalkInstance): string[] {
  return results.flatMap((r) => {
    const m = oomMessage(r);
    return m === null ? [] : [c.red(m)];
  });
}

function addrMissLines(r: ReplayResult, c: ChalkInstance): string[] {
  const x = r.summary.firstAddrMiss;
  if (!x) return [];
  return [c.dim(`${r.backend}: first address differing from the trace: line ${x.line}, trace 0x${x.want.toString(16)}, got 0x${x.got.toString(16)}`)];
}

function shapeLine(r: ReplayResult, c: ChalkInstance, label: string): string[] {
  const shape = Object.entries(r.shape);
  if (shape.length === 0) return [];
  return [`${c.bold(label)} ${shape.map(([k, v]) => `${k}=${Number.isInteger(v) ? v : significant(v)}`).join('  ')}`];
}

function latencyTable(r: ReplayResult, c: ChalkInstance, cells: Cells): string {
  const columns = LATENCY_COLUMNS.filter((x) => LATENCY_TABLE_KEYS.has(x.key));
  const lt = makeTable([title('Latency', r), ...columns.map((x) => x.label)], c);
  for (const op of LATENCY_OPS) {
    lt.push([
      op,
      ...columns.map((x) => {
        const content = latencyShown(r, op, x.key)
          ? fmt(x.unit, r.latency[op][x.key])
          : cells.mark(x.wall && !r.options.timing && r.latency[op].count > 0 ? 'off' : '–');
        return { hAlign: 'right' as const, content };
      }),
    ]);
  }
  return lt.toString();
}

/** The touch model a run assumed, in a few words: `needzero, 100% of fresh spans written`, `fit, 31% ... (chosen by 8 rss rows)`, `all`. */
export function touchWords(r: ReplayResult): string {
  const o = r.options;
  if (o.touch === 'all') return 'all';
  const share = `${o.writtenPercent ?? 100}% of fresh spans written`;
  return o.touchFit === null ? `needzero, ${share}` : `fit, ${share} (chosen by ${o.touchFit.rows} rss rows)`;
}

/** One result: summary, fragmentation and latency tables. */
export function renderReplay(r: ReplayResult, options: RenderOptions): string {
  const c = new Chalk({ level: options.color ? 1 : 0 });
  const parts: string[] = [
    ...oomLines([r], c),
    header(r, c),
    `${c.bold('backend')} ${r.backend} (${r.goVersion})  ${c.bold('policy')} ${r.policy}  ${c.bold('touch')} ${touchWords(r)}`,
  ];
  const cells = new Cells();
  for (const name of ['Summary', 'Fragmentation', 'Releases'] as const) {
    const t = makeTable([title(name, r), ''], c);
    let rows = 0;
    for (const f of tableFigures(name)) {
      // Sizes that do not apply, release figures of triggers that never fired, and figures
      // whose declaration says they are not shown for this run (rssMatch without rss rows) are left out.
      if (shownValue(f, r) === null && (f.unit === 'bytes' || name === 'Releases' || (f.shown !== undefined && !f.shown(r)))) continue;
      t.push([f.label, { hAlign: 'right', content: cells.value(f, r) }]);
      rows++;
    }
    if (rows > 0) parts.push(t.toString());
  }
  parts.push(latencyTable(r, c, cells));
  parts.push(
    c.dim(
      'p50..max: wall time around the backend call in this process; work: nodes/words visited; model: work + syscalls + page faults priced as in docs/metrics.md',
    ),
  );
  parts.push(...cells.legend(c), ...shapeLine(r, c, 'shape'), ...addrMissLines(r, c));
  return parts.join('\n') + '\n';
}

/** The change beside a value: coloured only for deterministic figures with a better direction. */
function diff(x: Figure, base: number | null, v: number | null, c: ChalkInstance): string {
  if (base === null || v === null || Number.isNaN(base) || Number.isNaN(v)) return '';
  const text = ` ${formatChange(base, v, x.unit === 'ratio' ? 'ratio' : 'other')}`;
  if (v === base || x.better === null || x.role === 'wall') return c.dim(text);
  const better = x.better === 'lower' ? v < base : v > base;
  return better ? c.green(text) : c.red(text);
}

/**
 * Several results side by side: a row per figure, a column per result; the first column
 * is the reference the others' changes are against. Wall-clock figures only with
 * options.wallClock.
 */
export function renderCompare(results: ReplayResult[], options: RenderOptions, columnLabel: (r: ReplayResult) => string = (r) => r.backend): string {
  const c = new Chalk({ level: options.color ? 1 : 0 });
  const first = results[0];
  const parts: string[] = [
    ...oomLines(results, c),
    header(first, c),
    `${c.bold('reference')} ${options.reference ?? columnLabel(first)}: the other columns' changes are against it  ${c.bold('touch')} ${touchWords(first)}`,
  ];
  const cells = new Cells();
  const t = makeTable(['metric', ...results.map((r) => (r.oom ? `${columnLabel(r)} (stopped: out of memory)` : columnLabel(r)))], c);
  const section = (name: string) => t.push([c.bold.underline(name), ...results.map(() => '')]);
  for (const name of ['Summary', 'Fragmentation', 'Releases', 'Latency'] as const) {
    const rows = tableFigures(name, options.wallClock ?? false).filter((f) => results.some((r) => shownValue(f, r) !== null));
    if (rows.length === 0) continue;
    section(name);
    for (const f of rows) {
      const base = shownValue(f, first);
      t.push([
        f.label,
        ...results.map((r, i) => ({ hAlign: 'right' as const, content: cells.value(f, r) + (i > 0 ? diff(f, base, shownValue(f, r), c) : '') })),
      ]);
    }
  }
  parts.push(t.toString(), ...cells.legend(c));
  if (!options.wallClock) parts.push(c.dim('wall-clock figures left out: they depend on run order and machine load'));
  for (const r of results.slice(1)) {
    if (r.placementMatch !== undefined) {
      parts.push(`${columnLabel(r)}: ${formatRatio(r.placementMatch)} of allocations at the same address as ${columnLabel(first)}`);
    }
  }
  for (const r of results) parts.push(...shapeLine(r, c, `${columnLabel(r)} shape:`), ...addrMissLines(r, c));
  return parts.join('\n') + '\n';
}

/** A gate row's change, by the one rule every table uses (format.ts formatChange). */
export function formatRowChange(r: Pick<Regression, 'baseline' | 'now' | 'unit'>): string {
  return formatChange(r.baseline, r.now, r.unit === 'ratio' ? 'ratio' : 'other');
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
      { hAlign: 'right', content: paint(formatRowChange(r)) },
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
