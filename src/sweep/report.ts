// The answer of a sweep as a picture: self-contained HTML (inline CSS and SVG drawn here,
// no script, no external request) showing, for each trace and for the whole fleet, RSS
// (time-weighted mean, and peak) against the CPU spent releasing memory (modelled), with
// the Pareto front marked and listed, and each Go release's default settings marked.
//
// Definitions:
// - A setting is a (backend, policy, params) of the grid; on one trace it is one run.
// - Lower is better on both axes. A point is on the front when no other point is at most
//   as high on both and strictly lower on one (equal points are both on it).
// - Overall: per setting, the sum over the traces (the fleet's total mean RSS, peak RSS
//   and release CPU), for the settings that ran out of memory on no trace and were valid
//   on all of them; others are listed as left out.
// - A Go release's defaults: a run whose backend and policy are that release's
//   (line.version) with every param at its default for the trace (line.defaults).

import { formatBytes, formatNs } from '../report/format.js';
import { RUN_OPTIONS, type OptionSpec } from '../options.js';
import type { ParamValue } from './grid.js';
import type { SweepLine } from './results.js';

const CPU = 'summary.scavengerCpuNs';
const MEAN_RSS = 'summary.meanRssBytes';
const PEAK_RSS = 'summary.peakRssBytes';

export interface ReportPoint {
  /** The setting, as shown: "go1.19 gogc=50 physPageBytes=4096". */
  label: string;
  /** Colour group: the backend and policy (or release). */
  group: string;
  /** Release CPU (ns), mean RSS and peak RSS (bytes). */
  cpuNs: number;
  meanRssBytes: number;
  peakRssBytes: number;
  /** "go1.19 defaults" when the point is a release's default settings. */
  mark: string | null;
}

export interface SweepReportOptions {
  title?: string;
  /** Runs of the sweep missing from the results (shown as a warning). */
  missing?: number;
}

/** The points on the Pareto front (lower x and lower y better), by increasing x. */
export function paretoFront<T>(points: T[], x: (p: T) => number, y: (p: T) => number): T[] {
  const sorted = [...points].sort((a, b) => x(a) - x(b) || y(a) - y(b));
  const front: T[] = [];
  let bestY = Infinity;
  for (const p of sorted) {
    const last = front[front.length - 1];
    if (y(p) < bestY) {
      front.push(p);
      bestY = y(p);
    } else if (last !== undefined && x(last) === x(p) && y(last) === y(p)) front.push(p);
  }
  return front;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function groupOf(l: SweepLine): string {
  return l.version ?? `${l.backend} ${l.policy}`;
}

/** From this size on a byte option reads better in binary units (memoryLimitBytes=256 MiB; physPageBytes=4096 stays). */
const BINARY_UNITS_FROM = 1 << 20;

/** A param as a reader wants it. */
function paramText(key: string, v: ParamValue): string {
  const spec = (RUN_OPTIONS as Record<string, OptionSpec | undefined>)[key];
  return `${key}=${spec?.kind === 'bytes' && typeof v === 'number' && v >= BINARY_UNITS_FROM ? formatBytes(v) : String(v)}`;
}

function settingOf(l: SweepLine): string {
  const params = Object.entries(l.params).map(([k, v]) => paramText(k, v));
  return [groupOf(l), ...params].join(' ');
}

function pointOf(l: SweepLine): ReportPoint {
  return {
    label: settingOf(l),
    group: groupOf(l),
    cpuNs: l.figures[CPU] ?? 0,
    meanRssBytes: l.figures[MEAN_RSS] ?? 0,
    peakRssBytes: l.figures[PEAK_RSS] ?? 0,
    mark: l.version !== null && l.defaults ? `${l.version} defaults` : null,
  };
}

/** Per setting, summed over the traces; settings not 'ok' on every trace are left out (returned by label). */
export function overallPoints(lines: SweepLine[]): { points: ReportPoint[]; leftOut: string[] } {
  const traces = new Set(lines.map((l) => l.trace));
  const bySetting = new Map<string, SweepLine[]>();
  for (const l of lines) bySetting.set(settingOf(l), [...(bySetting.get(settingOf(l)) ?? []), l]);
  const points: ReportPoint[] = [];
  const leftOut: string[] = [];
  for (const [label, ls] of bySetting) {
    if (ls.length !== traces.size || ls.some((l) => l.outcome !== 'ok')) {
      leftOut.push(label);
      continue;
    }
    const each = ls.map(pointOf);
    const sum = (f: (p: ReportPoint) => number) => each.reduce((a, p) => a + f(p), 0);
    const mark = each.every((p) => p.mark !== null && p.mark === each[0].mark) ? each[0].mark : null;
    points.push({
      label,
      group: each[0].group,
      cpuNs: sum((p) => p.cpuNs),
      meanRssBytes: sum((p) => p.meanRssBytes),
      peakRssBytes: sum((p) => p.peakRssBytes),
      mark,
    });
  }
  return { points, leftOut };
}

/** Five or so round tick values, the first at or below lo and the last at or above hi. */
export function ticks(lo: number, hi: number): number[] {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw * (1 - 1e-9)) ?? raw;
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.max(Math.ceil(hi / step - 1e-9), first + 1);
  const out: number[] = [];
  for (let i = first; i <= last; i++) out.push(Number((i * step).toPrecision(12)));
  return out;
}

/** An axis's ticks over [lo, hi]: round numbers in one unit (the one the largest value needs), labelled with as many decimals as the step needs. */
function axisTicks(lo: number, hi: number, units: readonly string[], base: number): { values: number[]; labels: string[] } {
  const top = Math.max(Math.abs(lo), Math.abs(hi));
  let u = 0;
  while (u < units.length - 1 && top >= base ** (u + 1)) u++;
  const scale = base ** u;
  const scaled = ticks(lo / scale, hi / scale);
  const step = scaled.length > 1 ? scaled[1] - scaled[0] : 1;
  const decimals = Math.min(6, Math.max(0, Math.ceil(-Math.log10(step) - 1e-9)));
  return { values: scaled.map((t) => t * scale), labels: scaled.map((t) => `${t.toFixed(decimals)} ${units[u]}`) };
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

interface Axis {
  key: (p: ReportPoint) => number;
  label: string;
  /** How one value is shown (tooltips); ticks share one unit. */
  format: (v: number) => string;
  units: readonly string[];
  base: number;
}

const CPU_AXIS: Axis = { key: (p) => p.cpuNs, label: 'CPU spent releasing (modelled)', format: formatNs, units: ['ns', 'µs', 'ms', 's'], base: 1000 };
const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
const MEAN_AXIS: Axis = { key: (p) => p.meanRssBytes, label: 'RSS, time-weighted mean', format: formatBytes, units: BYTE_UNITS, base: 1024 };
const PEAK_AXIS: Axis = { key: (p) => p.peakRssBytes, label: 'RSS, peak', format: formatBytes, units: BYTE_UNITS, base: 1024 };

/** Chart geometry, px. */
const W = 560;
const H = 340;
const M = { left: 84, right: 40, top: 14, bottom: 46 };

/** A scatter of the points with their front (a dashed staircase, ringed points) and the releases' defaults (diamonds). */
export function scatterSvg(points: ReportPoint[], xAxis: Axis, yAxis: Axis, colors: Map<string, string>): string {
  const xt = axisTicks(Math.min(...points.map(xAxis.key)), Math.max(...points.map(xAxis.key)), xAxis.units, xAxis.base);
  const yt = axisTicks(Math.min(...points.map(yAxis.key)), Math.max(...points.map(yAxis.key)), yAxis.units, yAxis.base);
  const [xs, ys] = [xt.values, yt.values];
  const [x0, x1, y0, y1] = [xs[0], xs[xs.length - 1], ys[0], ys[ys.length - 1]];
  const px = (v: number) => M.left + ((v - x0) / (x1 - x0 || 1)) * (W - M.left - M.right);
  const py = (v: number) => H - M.bottom - ((v - y0) / (y1 - y0 || 1)) * (H - M.top - M.bottom);
  const front = paretoFront(points, xAxis.key, yAxis.key);
  const onFront = new Set(front);
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img">`];
  xs.forEach((t, i) =>
    out.push(
      `<line class="grid" x1="${px(t)}" x2="${px(t)}" y1="${M.top}" y2="${H - M.bottom}"/><text x="${px(t)}" y="${H - M.bottom + 16}" text-anchor="middle">${xt.labels[i]}</text>`,
    ),
  );
  ys.forEach((t, i) =>
    out.push(
      `<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${py(t)}" y2="${py(t)}"/><text x="${M.left - 6}" y="${py(t) + 4}" text-anchor="end">${yt.labels[i]}</text>`,
    ),
  );
  out.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 8}" text-anchor="middle" class="axis">${xAxis.label} →</text>`);
  out.push(`<text transform="translate(14 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle" class="axis">${yAxis.label} →</text>`);
  const stairs = front.flatMap((p, i) =>
    i === 0 ? [`${px(xAxis.key(p))},${py(yAxis.key(p))}`] : [`${px(xAxis.key(p))},${py(yAxis.key(front[i - 1]))}`, `${px(xAxis.key(p))},${py(yAxis.key(p))}`],
  );
  out.push(`<polyline class="front" points="${stairs.join(' ')}"/>`);
  for (const p of points) {
    const [cx, cy] = [px(xAxis.key(p)), py(yAxis.key(p))];
    const tip = `<title>${escapeHtml(p.label)}: ${xAxis.format(xAxis.key(p))}, ${yAxis.format(yAxis.key(p))}${onFront.has(p) ? ' (on the front)' : ''}${p.mark ? ` (${p.mark})` : ''}</title>`;
    out.push(
      `<circle cx="${cx}" cy="${cy}" r="${onFront.has(p) ? 5.5 : 4}" fill="${colors.get(p.group)}" class="${onFront.has(p) ? 'pt onfront' : 'pt'}">${tip}</circle>`,
    );
    if (p.mark)
      out.push(
        `<path class="default" d="M${cx} ${cy - 10}L${cx + 10} ${cy}L${cx} ${cy + 10}L${cx - 10} ${cy}Z" stroke="${colors.get(p.group)}">${tip}</path><text x="${cx > W / 2 ? cx - 12 : cx + 12}" y="${cy - 8}" text-anchor="${cx > W / 2 ? 'end' : 'start'}" class="mark">${escapeHtml(p.mark)}</text>`,
      );
  }
  out.push('</svg>');
  return out.join('\n');
}

function frontTable(points: ReportPoint[], yAxis: Axis): string {
  const front = paretoFront(points, CPU_AXIS.key, yAxis.key);
  const rows = front.map(
    (p) =>
      `<tr><td>${escapeHtml(p.label)}${p.mark ? ` <b>(${escapeHtml(p.mark)})</b>` : ''}</td><td>${formatNs(p.cpuNs)}</td><td>${formatBytes(p.meanRssBytes)}</td><td>${formatBytes(p.peakRssBytes)}</td></tr>`,
  );
  return `<table><caption>Pareto front: ${yAxis.label} against release CPU (${front.length} of ${points.length} settings)</caption><tr><th>setting</th><th>release CPU</th><th>mean RSS</th><th>peak RSS</th></tr>${rows.join('')}</table>`;
}

function section(title: string, points: ReportPoint[], colors: Map<string, string>, note: string): string {
  if (points.length === 0) return `<section><h2>${escapeHtml(title)}</h2><p>No valid run to draw.</p></section>`;
  const marks = [...new Set(points.map((p) => p.mark).filter((m) => m !== null))];
  const markNote = marks.length > 0 ? `Diamonds: ${marks.map(escapeHtml).join(', ')}.` : "No Go release's default settings are in this grid.";
  return `<section><h2>${escapeHtml(title)}</h2><p>${note} ${markNote}</p>
<div class="charts">${scatterSvg(points, CPU_AXIS, MEAN_AXIS, colors)}${scatterSvg(points, CPU_AXIS, PEAK_AXIS, colors)}</div>
<div class="tables">${frontTable(points, MEAN_AXIS)}${frontTable(points, PEAK_AXIS)}</div></section>`;
}

const STYLE = `body{font:14px system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:17px;margin-top:32px}
svg{background:#fff;border:1px solid #ddd;margin:4px}svg text{font-size:11px;fill:#333}svg .axis{font-size:12px}svg .mark{font-size:11px;font-weight:bold}
.grid{stroke:#eee}.front{fill:none;stroke:#000;stroke-dasharray:4 3;stroke-width:1.2}.pt{opacity:.7}.onfront{stroke:#000;stroke-width:1.5;opacity:1}.default{fill:none;stroke-width:2}
table{border-collapse:collapse;margin:8px 16px 8px 4px;display:inline-table;vertical-align:top}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}caption{text-align:left;font-weight:bold;padding:4px 0}
.legend span{display:inline-block;margin-right:14px}.legend i{display:inline-block;width:10px;height:10px;border-radius:5px;margin-right:4px}.warn{color:#b00}`;

/** The whole report: the fleet overall, then each trace. */
export function renderSweepReport(lines: SweepLine[], options: SweepReportOptions = {}): string {
  const groups = [...new Set(lines.map(groupOf))];
  const colors = new Map(groups.map((g, i) => [g, PALETTE[i % PALETTE.length]]));
  const traces = [...new Set(lines.map((l) => l.trace))].sort();
  const invalid = lines.filter((l) => l.outcome === 'invalid').length;
  const oom = lines.filter((l) => l.outcome === 'oom').length;
  const overall = overallPoints(lines.filter((l) => l.outcome !== 'invalid'));
  const leftOut = overall.leftOut.length > 0 ? ` Left out (out of memory or invalid on some trace): ${overall.leftOut.map(escapeHtml).join('; ')}.` : '';
  const parts = [
    `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(options.title ?? 'heapsim sweep')}</title><style>${STYLE}</style></head><body>`,
    `<h1>${escapeHtml(options.title ?? 'heapsim sweep')}</h1>`,
    `<p>${lines.length} runs: ${traces.length} traces × ${new Set(lines.map(settingOf)).size} settings. Lower is better on both axes; ringed points joined by the dashed line are the Pareto front. Out of memory: ${oom} runs; invalid combinations: ${invalid} (not drawn).</p>`,
    options.missing ? `<p class="warn">${options.missing} runs of the sweep are missing from these results.</p>` : '',
    `<p class="legend">${groups.map((g) => `<span><i style="background:${colors.get(g)}"></i>${escapeHtml(g)}</span>`).join('')}</p>`,
    section('Overall: every trace, summed', overall.points, colors, `Per setting, the sum over the ${traces.length} traces.${leftOut}`),
    ...traces.map((t) =>
      section(t, lines.filter((l) => l.trace === t && l.outcome === 'ok').map(pointOf), colors, 'Runs that completed (out-of-memory runs not drawn).'),
    ),
    '</body></html>\n',
  ];
  return parts.join('\n');
}
