// The HTML report: one self-contained file (no network: uPlot, its stylesheet, the data
// and the drawing script are all inlined) that draws a ReportDocument.
//
// Server side (here): the page, the metadata and summary tables, the gap-at-peak bars
// (SVG). Client side (html-client.ts): every chart over time, drawn with uPlot from the
// JSON embedded in the page, and the heap map raster (canvas).
//
// Invariants: every chart carries data-chart (its kind) and, for uPlot charts,
// data-series (how many series it should draw), so a browser test can check each drew;
// embedded JSON cannot close its <script> element ('<' is escaped).

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { FIGURES } from '../metrics/index.js';
import { GAP_PARTS, gapSum, type GapBreakdown } from '../metrics/gap.js';
import { fmt, oomMessage } from './tables.js';
import { formatBytes } from './format.js';
import { CLIENT_JS, GAP_COLORS, REPORT_CSS } from './html-client.js';
import type { ReportDocument, ReportSection, TraceSection } from './report-data.js';
import type { ReplayResult } from '../replay/result.js';

const require = createRequire(import.meta.url);

/** uPlot's minified script and stylesheet, read from node_modules (inlined: the report works offline). */
function uplotAssets(): { js: string; css: string } {
  return {
    js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  };
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** JSON safe inside a <script> element. */
const scriptJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c');

export function renderHtml(doc: ReportDocument): string {
  const { js, css } = uplotAssets();
  const data = {
    sections: doc.sections.map((s) => ({
      kind: s.kind,
      file: s.file,
      runs: s.runs.map((r) => ({ label: r.label, series: r.series, rssCurve: r.result.summary.rssMatch?.curve ?? null })),
    })),
  };
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(doc.title)}</title>
<style>${css}\n${REPORT_CSS}</style></head>
<body>
<header><h1>${escapeHtml(doc.title)}</h1>
<p class="meta">heapsim ${escapeHtml(doc.heapsimVersion)} &middot; made ${escapeHtml(doc.createdAt)} &middot; offline file: drag on a chart to zoom, double-click to reset</p></header>
${doc.sections.map((s, i) => renderSection(s, i)).join('\n')}
<script type="application/json" id="heapsim-data">${scriptJson(data)}</script>
<script>${js}</script>
<script>${CLIENT_JS}</script>
</body></html>
`;
}

/** Each section kind's renderer. */
function renderSection(s: ReportSection, index: number): string {
  return renderTraceSection(s, index);
}

function renderTraceSection(s: TraceSection, i: number): string {
  const runs = s.runs;
  const perRun = (kind: string, title: string) =>
    `<h3>${title}</h3><div class="grid">${runs.map((r, k) => `<div class="cell"><h4>${escapeHtml(r.label)}</h4><div class="chart" id="${kind}-${i}-${k}"></div></div>`).join('')}</div>`;
  return `<section class="trace" id="trace-${i}">
<h2>${escapeHtml(s.file)}</h2>
${metadataTable(s)}
${outcomes(s)}
<h3>Memory over time</h3>
<p class="note">RSS, heap, in-use, retained (heap minus released, the runtime's view), released and the memory limit, as step lines; ticks on the time axis mark GCs. Each point is the highest RSS in its slice of trace time; hover for the event behind it.</p>
<div class="chart wide" id="rss-${i}"></div>
${perRun('memory', 'Per run')}
<h3>The gap explained: RSS minus the live heap, by cause</h3>
${gapBars(s)}
${perRun('gap', 'The gap over time')}
${perRun('heapmap', 'Heap map (address &times; time)')}
${perRun('releases', 'Released bytes over time, by trigger')}
<h3 id="rss-match-${i}">Recorded vs simulated RSS</h3>
${rssMatchTable(s)}
<div class="rssmatch" id="rssmatch-${i}"></div>
<h3>Latency: distribution per op kind</h3>
<div class="grid" id="latency-${i}"></div>
<h3>Summary</h3>
${summaryTable(s)}
</section>`;
}

function metadataTable(s: TraceSection): string {
  const rows: [string, string][] = [['file', s.file], ['events', String(s.events)], ['reference run', s.reference], ...Object.entries(s.metadata)];
  return `<table class="metadata">${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>`;
}

/** summary.rssMatch per run: the heap RSS heapsim simulated against what the recording measured. */
function rssMatchTable(s: TraceSection): string {
  const rows = s.runs.filter((r) => r.result.summary.rssMatch !== null);
  if (rows.length === 0) return '';
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  const body = rows
    .map((r) => {
      const m = r.result.summary.rssMatch!;
      const worst = `${formatBytes(m.worst.simulatedBytes)} simulated, ${formatBytes(m.worst.recordedBytes)} recorded at ${(m.worst.time / 1e9).toFixed(3)} s (line ${m.worst.line})`;
      return `<tr><th>${escapeHtml(r.label)}</th><td>${m.rows}</td><td>${pct(m.meanError)}</td><td>${pct(m.maxError)}</td><td>${escapeHtml(worst)}</td></tr>`;
    })
    .join('');
  return `<p class="note">Heap RSS: the resident bytes of the heap's address range (allocator metadata left out, as the recorder's mincore over the heap arenas leaves it out), at each rss row; touch model: ${escapeHtml(touchModelText(rows[0].result))}.</p>
<table class="rssmatch-table"><tr><th>run</th><th>rss rows</th><th>mean error</th><th>max error</th><th>worst row</th></tr>${body}</table>`;
}

/** The touch model a run assumed, in words: which, the written share, and whether it was fitted. */
function touchModelText(r: ReplayResult): string {
  const o = r.options;
  if (o.touch === 'all') return 'all (every page of every span written at allocation)';
  const share = `${o.writtenPercent ?? 100}% of each span fresh from the OS written`;
  const fit = o.touchFit;
  return fit === null
    ? `needzero, ${share}`
    : `needzero, ${share}: fitted to these ${fit.rows} rss rows on ${fit.fittedOn.backend} under the ${fit.fittedOn.policy} policy, so its errors are in-sample`;
}

/** A line per run the simulated program ran out of memory in: where, and why. */
function outcomes(s: TraceSection): string {
  return s.runs
    .map((r) => {
      const message = oomMessage(r.result);
      return message === null ? '' : `<p class="oom">${escapeHtml(message)}</p>`;
    })
    .join('');
}

/** One stacked horizontal bar per run, the parts of RSS near its peak, in one byte scale; SVG. */
function gapBars(s: TraceSection): string {
  const snaps = s.runs.map((r) => r.result.gap.atPeak);
  const max = Math.max(1, ...snaps.map((g) => g?.rssBytes ?? 0));
  const width = 760;
  const labelWidth = 160;
  const rowHeight = 26;
  const bars = s.runs.map((r, k) => {
    const g = snaps[k];
    const y = k * rowHeight;
    const label = `<text x="0" y="${y + 17}">${escapeHtml(r.label)}</text>`;
    if (g === null) return `${label}<text x="${labelWidth}" y="${y + 17}">RSS never rose</text>`;
    let x = labelWidth;
    const rects = GAP_PARTS.map((p, c) => {
      const w = (g[p.key] / max) * (width - labelWidth - 90);
      const rect =
        g[p.key] > 0
          ? `<rect x="${x.toFixed(2)}" y="${y + 4}" width="${w.toFixed(2)}" height="${rowHeight - 8}" fill="${GAP_COLORS[c]}"><title>${escapeHtml(p.label)}: ${formatBytes(g[p.key])}</title></rect>`
          : '';
      x += w;
      return rect;
    });
    return `${label}${rects.join('')}<text x="${(x + 6).toFixed(2)}" y="${y + 17}">${formatBytes(gapSum(g))}</text>`;
  });
  const legend = GAP_PARTS.map((p, c) => `<span><i style="background:${GAP_COLORS[c]}"></i>${escapeHtml(p.label)}</span>`).join('');
  return `<div class="chart" data-chart="gap-bars" data-series="${s.runs.length}">
<svg width="${width}" height="${s.runs.length * rowHeight}" role="img" aria-label="RSS near its peak by cause">${bars.join('')}</svg>
<div class="legend">${legend}</div></div>
${gapTable(
  s.runs.map((r) => r.label),
  snaps,
)}`;
}

function gapTable(labels: string[], snaps: (GapBreakdown | null)[]): string {
  const head = `<tr><th>near the RSS peak</th>${labels.map((l) => `<th>${escapeHtml(l)}</th>`).join('')}</tr>`;
  const cell = (v: number | undefined) => `<td>${v === undefined ? '' : formatBytes(v)}</td>`;
  const rows = [
    ...GAP_PARTS.map((p) => `<tr><th>${escapeHtml(p.label)}</th>${snaps.map((g) => cell(g?.[p.key])).join('')}</tr>`),
    `<tr class="total"><th>RSS (the sum)</th>${snaps.map((g) => cell(g?.rssBytes)).join('')}</tr>`,
    `<tr><th>at trace time</th>${snaps.map((g) => `<td>${g === null ? '' : fmt('ns', g.timeNs)}</td>`).join('')}</tr>`,
  ];
  return `<table class="figures">${head}${rows.join('')}</table>`;
}

/** Every figure a table shows, per run, by section (the terminal's tables, in HTML). */
function summaryTable(s: TraceSection): string {
  const results = s.runs.map((r) => r.result);
  const head = `<tr><th>figure</th>${s.runs.map((r) => `<th>${escapeHtml(r.label)}</th>`).join('')}</tr>`;
  let section = '';
  const rows: string[] = [];
  for (const f of FIGURES) {
    if (f.hidden || !results.some((r) => f.shown?.(r) ?? true)) continue;
    if (f.section !== section) {
      section = f.section;
      rows.push(`<tr class="section"><th colspan="${results.length + 1}">${section}</th></tr>`);
    }
    rows.push(`<tr><th>${escapeHtml(f.label)}</th>${results.map((r) => `<td>${escapeHtml(fmt(f.unit, f.value(r)))}</td>`).join('')}</tr>`);
  }
  return `<table class="figures">${head}${rows.join('')}</table>`;
}
