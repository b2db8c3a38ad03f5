// Renders results as terminal tables. `replay` renders one result, `compare` several
// (a column per backend, the difference against the first beside each value); both go
// through the same metric definitions, so no figure is computed or formatted twice.

import Table from 'cli-table3';
import { Chalk, type ChalkInstance } from 'chalk';
import type { LatencyStats, ReplayResult } from '../replay/result.js';
import type { Regression } from '../check/check.js';
import { formatBytes, formatCount, formatNs, formatRatio } from './format.js';
import { TRIGGERS } from '../policy/types.js';

type Kind = 'bytes' | 'count' | 'ratio' | 'ns' | 'work';
type Better = 'lower' | 'higher' | null;

interface Metric {
  label: string;
  kind: Kind;
  better: Better;
  get(r: ReplayResult): number | null;
}

const m = (label: string, kind: Kind, better: Better, get: (r: ReplayResult) => number | null): Metric => ({ label, kind, better, get });

export const SUMMARY_METRICS: Metric[] = [
  m('ops', 'count', null, (r) => r.summary.ops),
  m('allocs', 'count', null, (r) => r.summary.allocs),
  m('frees', 'count', null, (r) => r.summary.frees),
  m('scavenge rows', 'count', null, (r) => r.summary.scavenges),
  m('gc rows', 'count', null, (r) => r.summary.gcs),
  m('peak in-use', 'bytes', null, (r) => r.summary.peakInUseBytes),
  m('peak heap', 'bytes', 'lower', (r) => r.summary.peakHeapBytes),
  m('peak RSS', 'bytes', 'lower', (r) => r.summary.peakRssBytes),
  m('mean RSS (time-weighted)', 'bytes', 'lower', (r) => r.summary.meanRssBytes),
  m('final RSS', 'bytes', 'lower', (r) => r.summary.finalRssBytes),
  m('final RSS without lazily freed pages (MADV_FREE)', 'bytes', 'lower', (r) => (r.options.madvise === 'free' ? r.summary.finalRssExcludingLazyBytes : null)),
  m('peak RSS without lazily freed pages (MADV_FREE)', 'bytes', 'lower', (r) => (r.options.madvise === 'free' ? r.summary.peakRssExcludingLazyBytes : null)),
  m('final retained, runtime view (heap - released)', 'bytes', 'lower', (r) => r.summary.runtimeRetainedBytes),
  m('peak VSIZE', 'bytes', 'lower', (r) => r.summary.peakVsizeBytes),
  m('allocator metadata reserved', 'bytes', 'lower', (r) => (r.summary.metadataReservedBytes > 0 ? r.summary.metadataReservedBytes : null)),
  m('allocator metadata committed', 'bytes', 'lower', (r) => (r.summary.metadataReservedBytes > 0 ? r.summary.metadataCommittedBytes : null)),
  m('released (runtime count)', 'bytes', null, (r) => r.summary.releasedBytes),
  m('released, runtime view at end', 'bytes', null, (r) => r.summary.runtimeReleasedBytes),
  m('madvise calls', 'count', 'lower', (r) => r.summary.madviseCalls),
  m('mmap calls', 'count', 'lower', (r) => r.summary.mmapCalls),
  m('page faults', 'count', 'lower', (r) => r.summary.pageFaults),
  m('re-faults of released pages', 'count', 'lower', (r) => r.summary.refaults),
  m('huge page faults (THP, 2 MiB each)', 'count', null, (r) => (r.options.thp !== 'never' ? r.summary.hugePageFaults : null)),
  m('addr match (vs trace)', 'ratio', 'higher', (r) => r.summary.addrMatch),
];

export const FRAGMENTATION_METRICS: Metric[] = [
  m('external fragmentation at peak heap', 'ratio', 'lower', (r) => r.fragmentation.externalAtPeak),
  m('heap overhead (peak heap / peak in-use - 1)', 'ratio', 'lower', (r) => r.fragmentation.heapOverhead),
  m('RSS overhead (peak RSS / peak in-use - 1)', 'ratio', 'lower', (r) => r.fragmentation.rssOverhead),
  m('largest free run at peak heap', 'bytes', 'higher', (r) => r.fragmentation.largestFreeRunBytesAtPeak),
  m('free at peak heap', 'bytes', null, (r) => r.fragmentation.freeBytesAtPeak),
  m('free runs at peak heap', 'count', 'lower', (r) => r.fragmentation.freeRunsAtPeak),
];

/** Release figures: per trigger, the scavenger's modelled CPU, and the memory limit. */
export const RELEASE_METRICS: Metric[] = [
  ...TRIGGERS.map((t) => m(`released: ${t}`, 'bytes', null, (r) => r.summary.releases?.[t]?.bytes ?? null)),
  m('release CPU (modelled)', 'ns', 'lower', (r) => (r.summary.scavengerCpuNs > 0 ? r.summary.scavengerCpuNs : null)),
  m('release CPU share of one CPU', 'ratio', 'lower', (r) => (r.summary.scavengerCpuNs > 0 ? r.summary.scavengerCpuShare : null)),
  m('memory limit (at end)', 'bytes', null, (r) => r.summary.limitBytes),
  m('time with RSS above the limit', 'ns', 'lower', (r) => (r.summary.limitBytes !== null || r.summary.timeAboveLimitNs > 0 ? r.summary.timeAboveLimitNs : null)),
];

const OPS = ['alloc', 'free', 'scavenge'] as const;
const LATENCY_COLUMNS: { label: string; kind: Kind; key: keyof LatencyStats }[] = [
  { label: 'count', kind: 'count', key: 'count' },
  { label: 'p50', kind: 'ns', key: 'p50Ns' },
  { label: 'p90', kind: 'ns', key: 'p90Ns' },
  { label: 'p99', kind: 'ns', key: 'p99Ns' },
  { label: 'max', kind: 'ns', key: 'maxNs' },
  { label: 'work mean', kind: 'work', key: 'meanWork' },
  { label: 'work p99', kind: 'work', key: 'p99Work' },
  { label: 'work max', kind: 'work', key: 'maxWork' },
  { label: 'model mean', kind: 'ns', key: 'modelMeanNs' },
  { label: 'model p99', kind: 'ns', key: 'modelP99Ns' },
];

/** Wall-time columns mean nothing when the replay did not measure them. */
const WALL_KEYS = new Set<keyof LatencyStats>(['p50Ns', 'p90Ns', 'p99Ns', 'maxNs', 'meanNs']);

export const LATENCY_METRICS: Metric[] = OPS.flatMap((op) =>
  LATENCY_COLUMNS.filter((c) => c.key !== 'count').map((c) =>
    m(`${op} ${c.label}`, c.kind, 'lower', (r) =>
      r.latency[op].count > 0 && (r.options.timing || !WALL_KEYS.has(c.key)) ? (r.latency[op][c.key] as number) : null,
    ),
  ),
);

function fmt(kind: Kind, v: number | null): string {
  if (v === null || Number.isNaN(v)) return '–';
  switch (kind) {
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
    `${c.bold('trace')} ${r.trace.file}  (${formatCount(r.trace.events)} events${r.trace.skipped > 0 ? `, ${formatCount(r.trace.skipped)} bad rows skipped: ${Object.entries(r.trace.skippedByKind).map(([k, n]) => `${k} ${n}`).join(', ')}` : ''})`,
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
  for (const [title, metrics] of [
    ['Summary', SUMMARY_METRICS],
    ['Fragmentation', FRAGMENTATION_METRICS],
    ['Releases', RELEASE_METRICS],
  ] as const) {
    const t = makeTable([title, ''], c);
    const optional = title === 'Releases';
    let rows = 0;
    for (const x of metrics) {
      if (x.get(r) === null && (x.kind === 'bytes' || optional)) continue;
      t.push([x.label, { hAlign: 'right', content: fmt(x.kind, x.get(r)) }]);
      rows++;
    }
    if (rows > 0) parts.push(t.toString());
  }
  const lt = makeTable(['Latency', ...LATENCY_COLUMNS.map((x) => x.label)], c);
  for (const op of OPS) {
    const s = r.latency[op];
    const shown = (x: (typeof LATENCY_COLUMNS)[number]) => x.key === 'count' || (s.count > 0 && (r.options.timing || !WALL_KEYS.has(x.key)));
    lt.push([op, ...LATENCY_COLUMNS.map((x) => ({ hAlign: 'right' as const, content: shown(x) ? fmt(x.kind, s[x.key] as number) : '–' }))]);
  }
  parts.push(lt.toString());
  parts.push(c.dim('p50..max: wall time around the backend call in this process; work: nodes/words visited; model: work + syscalls + page faults priced as in docs/metrics.md'));
  const shape = Object.entries(r.shape);
  if (shape.length > 0) parts.push(`${c.bold('shape')} ${shape.map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(2)}`).join('  ')}`);
  parts.push(...outcomeLines(r, c));
  return parts.join('\n') + '\n';
}

function diff(x: Metric, base: number | null, v: number | null, c: ChalkInstance): string {
  if (base === null || v === null) return '';
  if (v === base) return c.dim(' =');
  const rel = base !== 0 ? (v - base) / Math.abs(base) : null;
  const text = x.kind === 'ratio' ? ` ${v > base ? '+' : ''}${((v - base) * 100).toFixed(1)}pp` : rel === null ? ' new' : ` ${rel > 0 ? '+' : ''}${(rel * 100).toFixed(1)}%`;
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
  for (const [name, metrics] of [
    ['Summary', SUMMARY_METRICS],
    ['Fragmentation', FRAGMENTATION_METRICS],
    ['Releases', RELEASE_METRICS],
    ['Latency', LATENCY_METRICS],
  ] as const) {
    if (metrics.every((x) => results.every((r) => x.get(r) === null))) continue;
    section(name);
    for (const x of metrics) {
      const base = x.get(first);
      if (results.every((r) => x.get(r) === null)) continue;
      t.push([x.label, ...results.map((r, i) => ({ hAlign: 'right' as const, content: fmt(x.kind, x.get(r)) + (i > 0 ? diff(x, base, x.get(r), c) : '') }))]);
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

/** `heapsim check`'s report: a row per regression, then a line of totals. */
export function renderCheck(report: { checked: number; regressions: Regression[]; improvements: Regression[] }, options: RenderOptions): string {
  const c = new Chalk({ level: options.color ? 1 : 0 });
  const parts: string[] = [];
  const pct = (x: number) => (Number.isFinite(x) ? `${x > 0 ? '+' : ''}${(x * 100).toFixed(2)}%` : x > 0 ? '+inf' : '-inf');
  if (report.regressions.length > 0) {
    const t = makeTable(['trace', 'backend', 'policy', 'metric', 'baseline', 'now', 'change', 'tolerance'], c);
    for (const r of report.regressions) {
      t.push([r.trace, r.backend, r.policy, r.metric, { hAlign: 'right', content: formatCount(r.baseline) }, { hAlign: 'right', content: formatCount(r.now) }, { hAlign: 'right', content: c.red(pct(r.change)) }, { hAlign: 'right', content: `±${(r.tolerance * 100).toFixed(1)}%` }]);
    }
    parts.push(c.bold.red(`${report.regressions.length} regression${report.regressions.length === 1 ? '' : 's'}`));
    parts.push(t.toString());
  }
  const verdict = report.regressions.length === 0 ? c.green('no regressions') : c.red('FAILED');
  parts.push(`${verdict}: ${report.checked} metrics checked, ${report.regressions.length} worse and ${report.improvements.length} better beyond tolerance`);
  if (report.improvements.length > 0) parts.push(c.dim('improvements are not failures; refresh the baseline with --update-baseline to keep them'));
  return parts.join('\n') + '\n';
}
