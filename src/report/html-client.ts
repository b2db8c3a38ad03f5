// The HTML report's stylesheet and drawing script (run in the browser, inlined in the
// page by html.ts). The script reads the JSON in #heapsim-data and draws every chart
// over time with uPlot (a global from the inlined uPlot build) and the heap map on a
// canvas. Each chart element gets data-chart (its kind) and data-series (how many
// series it drew) for the browser test. Byte axes use one binary unit scale (B, KiB,
// MiB, GiB), time axes trace seconds.

import { GAP_PARTS } from '../metrics/gap.js';

/** The gap parts' colours, in GAP_PARTS order (shared by the SVG bars and the charts). */
export const GAP_COLORS = ['#1f77b4', '#ffbb78', '#ff7f0e', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#bcbd22', '#7f7f7f'];

export const REPORT_CSS = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 20px 40px; color: #222; }
h1 { font-size: 20px; margin: 16px 0 4px; } h2 { font-size: 18px; border-top: 2px solid #ccc; padding-top: 12px; }
h3 { font-size: 15px; margin: 22px 0 6px; } h4 { font-size: 13px; margin: 4px 0; }
.meta, .note { color: #666; font-size: 12px; } .oom { color: #b00; font-weight: bold; }
.grid { display: flex; flex-wrap: wrap; gap: 16px; } .cell { flex: 0 0 auto; }
table { border-collapse: collapse; font-size: 12px; margin: 6px 0; }
th, td { border: 1px solid #ddd; padding: 2px 8px; text-align: left; } td { text-align: right; font-variant-numeric: tabular-nums; }
tr.section th { background: #f0f0f0; } tr.total { font-weight: bold; }
.legend span { display: inline-block; margin-right: 12px; font-size: 12px; }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: middle; }
svg text { font-size: 12px; }
.event { font-size: 12px; color: #444; min-height: 16px; }
canvas.heapmap { image-rendering: pixelated; border: 1px solid #ccc; }
`;

export const CLIENT_JS = String.raw`
(() => {
  'use strict';
  const D = JSON.parse(document.getElementById('heapsim-data').textContent);
  const OPS = ['alloc', 'free', 'scavenge', 'gc', 'limit', 'rss'];
  const RUN_COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
  const GAP_COLORS = ${JSON.stringify(GAP_COLORS)};
  const GAP_PARTS = ${JSON.stringify(GAP_PARTS.map((p) => [p.key, p.label]))};
  const TRIGGER_COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
  const CELL_COLORS = [[255, 255, 255], [31, 119, 180], [255, 127, 14], [199, 199, 199]];
  const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

  function fmtBytes(v) {
    if (v === null || v === undefined) return '-';
    let x = Math.abs(v);
    let u = 0;
    while (x >= 1024 && u < UNITS.length - 1) { x /= 1024; u++; }
    return (v < 0 ? '-' : '') + (u === 0 ? x.toFixed(0) : x.toFixed(x < 10 ? 2 : 1)) + ' ' + UNITS[u];
  }
  const sec = (ns) => ns / 1e9;
  const fmtSec = (u, v) => (v === null || v === undefined ? '-' : v.toFixed(3) + ' s');
  // Byte ticks on binary steps (256 MiB, 512 MiB...), so labels read exactly.
  const BYTE_INCRS = [];
  for (let k = 0; k < 6; k++) for (const m of [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]) BYTE_INCRS.push(m * Math.pow(1024, k));
  const byteAxis = (label) => ({ label, size: 76, incrs: BYTE_INCRS, values: (u, ticks) => ticks.map(fmtBytes) });
  const timeAxis = { label: 'trace time (s)' };
  const stepped = uPlot.paths.stepped({ align: 1 });
  const fullWidth = () => Math.max(480, Math.min(1200, document.body.clientWidth - 40));
  const cellWidth = (n) => (n > 1 ? Math.max(420, Math.floor(fullWidth() / 2) - 20) : fullWidth());

  function mount(el, kind, opts, data) {
    el.dataset.chart = kind;
    el.dataset.series = String(opts.series.length - 1);
    return new uPlot(opts, data, el);
  }

  function note(el, text) {
    const p = document.createElement('p');
    p.className = 'note';
    p.textContent = text;
    el.appendChild(p);
  }

  /** Joins per-run [x, y] tables on one x axis (x ascending, duplicates dropped). */
  function join(tables) {
    const clean = tables.map(([xs, ys]) => {
      const x = [], y = [];
      xs.forEach((v, i) => { if (x.length && x[x.length - 1] === v) y[y.length - 1] = ys[i]; else { x.push(v); y.push(ys[i]); } });
      return [x, y];
    });
    return uPlot.join(clean);
  }

  function drawTicks(u, times) {
    const ctx = u.ctx;
    const bottom = u.bbox.top + u.bbox.height;
    ctx.save();
    ctx.strokeStyle = '#444';
    ctx.lineWidth = 1;
    for (const t of times) {
      const x = Math.round(u.valToPos(t, 'x', true));
      if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
      ctx.beginPath();
      ctx.moveTo(x, bottom);
      ctx.lineTo(x, bottom - 8 * devicePixelRatio);
      ctx.stroke();
    }
    ctx.restore();
  }

  function eventLine(el) {
    let box = el.querySelector('.event');
    if (!box) { box = document.createElement('div'); box.className = 'event'; el.appendChild(box); }
    return box;
  }

  // The memory charts of one trace share a cursor (and only those: traces have their own time axes).
  let syncKey = 'memory-0';

  function memoryChart(el, run, width) {
    const m = run.series.memory;
    const defs = [['RSS', 'rssBytes', '#d62728'], ['heap', 'heapBytes', '#1f77b4'], ['in use', 'inUseBytes', '#2ca02c'],
      ['retained', 'retainedBytes', '#9467bd'], ['released', 'releasedBytes', '#8c564b'], ['memory limit', 'limitBytes', '#e377c2']];
    const used = defs.filter((d) => d[1] !== 'limitBytes' || m.limitBytes.some((v) => v !== null));
    const gcs = run.series.gcs.timeNs.map(sec);
    const box = eventLine(el);
    const opts = {
      width, height: 280,
      scales: { x: { time: false } },
      series: [{ label: 'time', value: fmtSec }, ...used.map(([label, key, stroke]) => ({ label, stroke, width: 1.5, paths: stepped, dash: key === 'limitBytes' ? [6, 4] : undefined, value: (u, v) => fmtBytes(v) }))],
      axes: [timeAxis, byteAxis('bytes')],
      cursor: { sync: { key: syncKey } },
      hooks: {
        draw: [(u) => drawTicks(u, gcs)],
        setCursor: [(u) => {
          const i = u.cursor.idx;
          box.textContent = i === null || i === undefined ? 'GC marks: ' + gcs.length + ' (ticks on the time axis)' :
            'event at ' + (m.timeNs[i] / 1e9).toFixed(6) + ' s: ' + (OPS[m.op[i]] || '?') + (m.pages[i] >= 0 ? ' ' + m.pages[i] + ' pages' : '') + ', trace line ' + m.line[i] + '; RSS ' + fmtBytes(m.rssBytes[i]);
        }],
      },
    };
    mount(el, 'memory', opts, [m.timeNs.map(sec), ...used.map((d) => m[d[1]])]);
    box.textContent = 'GC marks: ' + gcs.length + ' (ticks on the time axis)';
  }

  function rssChart(el, runs) {
    const data = join(runs.map((r) => [r.series.memory.timeNs.map(sec), r.series.memory.rssBytes]));
    const opts = {
      width: fullWidth(), height: 300, scales: { x: { time: false } },
      series: [{ label: 'time', value: fmtSec }, ...runs.map((r, k) => ({ label: 'RSS ' + r.label, stroke: RUN_COLORS[k % RUN_COLORS.length], width: 1.5, paths: stepped, spanGaps: true, value: (u, v) => fmtBytes(v) }))],
      axes: [timeAxis, byteAxis('RSS')],
      cursor: { sync: { key: syncKey } },
    };
    mount(el, 'rss', opts, data);
  }

  /** Stacked parts as filled cumulative series, the total first so smaller fills draw over it. */
  function stacked(parts, x) {
    const cum = [];
    let acc = x.map(() => 0);
    for (const p of parts) { acc = acc.map((v, i) => v + p.values[i]); cum.push(acc); }
    const order = parts.map((p, k) => k).reverse();
    return {
      series: order.map((k) => ({ label: parts[k].label, stroke: parts[k].color, fill: parts[k].color + 'cc', width: 1, paths: parts[k].paths, value: (u, v, s, i) => (i === null || i === undefined ? '-' : fmtBytes(parts[k].values[i])) })),
      data: order.map((k) => cum[k]),
    };
  }

  function gapChart(el, run, width) {
    const g = run.series.gap;
    const x = g.map((s) => sec(s.timeNs));
    const parts = GAP_PARTS.map(([key, label], c) => ({ label, color: GAP_COLORS[c], values: g.map((s) => s[key]) })).filter((p) => p.values.some((v) => v > 0));
    const st = stacked(parts, x);
    mount(el, 'gap', { width, height: 240, scales: { x: { time: false } }, series: [{ label: 'time', value: fmtSec }, ...st.series], axes: [timeAxis, byteAxis('RSS by cause')] }, [x, ...st.data]);
  }

  function releaseChart(el, run, width) {
    const r = run.series.releases;
    const triggers = Object.keys(r.byTrigger).sort().filter((t) => r.byTrigger[t].some((v) => v > 0));
    const bins = (r.recorded || (triggers.length ? r.byTrigger[triggers[0]] : [])).length || 200;
    const x = Array.from({ length: bins }, (_, i) => sec(r.t0Ns + i * r.binNs));
    const parts = triggers.map((t, k) => ({ label: 'simulated: ' + t, color: TRIGGER_COLORS[k % TRIGGER_COLORS.length], values: r.byTrigger[t], paths: stepped }));
    const st = stacked(parts, x);
    const series = [{ label: 'time', value: fmtSec }, ...st.series];
    const data = [x, ...st.data];
    if (r.recorded) {
      series.push({ label: 'recorded (trace scavenge rows)', stroke: '#17becf', width: 1.5, dash: [4, 3], paths: stepped, value: (u, v) => fmtBytes(v) });
      data.push(r.recorded);
    }
    mount(el, 'releases', { width, height: 220, scales: { x: { time: false } }, series, axes: [timeAxis, byteAxis('released per slice')] }, data);
    if (series.length === 1) note(el, 'No memory was released in this run.');
  }

  function heapMap(el, run, width) {
    const hm = run.series.heapMap;
    const cols = hm.timeNs.length;
    const raw = atob(hm.cells);
    const src = document.createElement('canvas');
    src.width = Math.max(1, cols);
    src.height = Math.max(1, hm.rows);
    const sctx = src.getContext('2d');
    const img = sctx.createImageData(src.width, src.height);
    for (let c = 0; c < cols; c++) {
      for (let r = 0; r < hm.rows; r++) {
        const rgb = CELL_COLORS[raw.charCodeAt(c * hm.rows + r)] || CELL_COLORS[0];
        const o = ((hm.rows - 1 - r) * src.width + c) * 4;
        img.data[o] = rgb[0]; img.data[o + 1] = rgb[1]; img.data[o + 2] = rgb[2]; img.data[o + 3] = 255;
      }
    }
    sctx.putImageData(img, 0, 0);
    const canvas = document.createElement('canvas');
    canvas.className = 'heapmap';
    canvas.width = width - 2;
    canvas.height = 240;
    const ctx = canvas.getContext('2d');
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(src, 0, 0, canvas.width, canvas.height);
    el.dataset.chart = 'heapmap';
    el.dataset.series = '3';
    el.appendChild(canvas);
    const hex = (a) => '0x' + a.toString(16);
    const lo = hm.rowAddr.length ? hex(hm.rowAddr[0]) : '-';
    const hi = hm.rowAddr.length ? hex(hm.rowAddr[hm.rowAddr.length - 1] + hm.rowBytes) : '-';
    note(el, 'y: heap address, ' + lo + ' (bottom) to ' + hi + ' (top), ' + hm.rows + ' rows of ' + fmtBytes(hm.rowBytes) + ' (address ranges that never held heap left out); x: trace time ' +
      (cols ? fmtSec(null, sec(hm.timeNs[0])) + ' to ' + fmtSec(null, sec(hm.timeNs[cols - 1])) : '-') + ', ' + cols + ' snapshots');
    const legend = document.createElement('div');
    legend.className = 'legend';
    legend.innerHTML = [['in use', 1], ['free, resident', 2], ['released', 3]].map(([l, c]) => '<span><i style="background:rgb(' + CELL_COLORS[c].join(',') + ')"></i>' + l + '</span>').join('');
    el.appendChild(legend);
  }

  function latencyCharts(grid, runs) {
    for (const op of ['alloc', 'free', 'scavenge']) {
      if (!runs.some((r) => r.series.latency[op].count > 0)) continue;
      for (const [key, what] of [['work', 'work units'], ['modelNs', 'modelled time (ns)']]) {
        const cell = document.createElement('div');
        cell.className = 'cell';
        cell.innerHTML = '<h4>' + op + ': ' + what + ' (CDF; values below 1 drawn at 1)</h4>';
        const el = document.createElement('div');
        el.className = 'chart';
        cell.appendChild(el);
        grid.appendChild(cell);
        if (runs.every((r) => r.series.latency[op][key].length <= 1)) {
          note(cell, 'Every ' + op + ' of every run: ' + runs.map((r) => r.label + ' ' + (r.series.latency[op][key][0] || [0])[0]).join(', ') + ' (one value: no distribution to draw).');
          cell.removeChild(el);
          continue;
        }
        const data = join(runs.map((r) => { const c = r.series.latency[op][key]; return [c.map((p) => Math.max(1, p[0])), c.map((p) => p[1])]; }));
        const opts = {
          width: cellWidth(2), height: 220,
          scales: { x: { time: false, distr: 3 }, y: { range: [0, 1] } },
          // A distribution of one or two values is a dot or two, not a line.
          series: [{ label: what }, ...runs.map((r, k) => ({ label: r.label, stroke: RUN_COLORS[k % RUN_COLORS.length], width: 1.5, paths: stepped, spanGaps: true, points: { show: r.series.latency[op][key].length <= 2, size: 8 }, value: (u, v) => (v === null || v === undefined ? '-' : (100 * v).toFixed(1) + '%') }))],
          axes: [{ label: what + ', log scale' }, { label: 'share of ops at or below', values: (u, t) => t.map((v) => (100 * v).toFixed(0) + '%') }],
        };
        mount(el, 'latency', opts, data);
      }
    }
  }

  // Recorded vs simulated heap RSS at each rss row (summary.rssMatch.curve: the recording's
  // mincore over its heap arenas against the simulated residency of the same range).
  function rssMatch(el, runs) {
    const withRows = runs.filter((r) => r.rssCurve && r.rssCurve.length > 0);
    if (withRows.length === 0) {
      note(el, 'This trace has no rss rows (measured RSS), so there is no recorded curve to set beside the simulated ones.');
      return;
    }
    const rec = withRows[0].rssCurve;
    const tables = [[rec.map((row) => sec(row[0])), rec.map((row) => row[1])], ...withRows.map((r) => [r.rssCurve.map((row) => sec(row[0])), r.rssCurve.map((row) => row[2])])];
    const opts = {
      width: fullWidth(), height: 260, scales: { x: { time: false } },
      series: [{ label: 'time', value: fmtSec }, { label: 'recorded heap RSS', stroke: '#17becf', width: 2, paths: stepped, spanGaps: true, value: (u, v) => fmtBytes(v) },
        ...withRows.map((r, k) => ({ label: 'simulated ' + r.label, stroke: RUN_COLORS[k % RUN_COLORS.length], width: 1.2, paths: stepped, spanGaps: true, value: (u, v) => fmtBytes(v) }))],
      axes: [timeAxis, byteAxis('heap RSS')],
      cursor: { sync: { key: syncKey } },
    };
    const chart = document.createElement('div');
    chart.className = 'chart';
    el.appendChild(chart);
    mount(chart, 'rss-match', opts, join(tables));
  }

  D.sections.forEach((s, i) => {
    if (s.kind !== 'trace') return;
    syncKey = 'memory-' + i;
    rssChart(document.getElementById('rss-' + i), s.runs);
    const w = cellWidth(s.runs.length);
    s.runs.forEach((run, k) => {
      memoryChart(document.getElementById('memory-' + i + '-' + k), run, w);
      gapChart(document.getElementById('gap-' + i + '-' + k), run, w);
      heapMap(document.getElementById('heapmap-' + i + '-' + k), run, w);
      releaseChart(document.getElementById('releases-' + i + '-' + k), run, w);
    });
    rssMatch(document.getElementById('rssmatch-' + i), s.runs);
    latencyCharts(document.getElementById('latency-' + i), s.runs);
  });
  document.body.dataset.drawn = 'true';
})();
`;
