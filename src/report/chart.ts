// --chart: a value (RSS) against trace time in the terminal, one marker per series,
// with a legend and one unit per axis.
//
// Invariants:
// - no series hides another: a cell two or more series fall in shows OVERLAP (the legend
//   says so), never the marker of whichever was drawn last;
// - each column shows a series' highest value in it (peaks are what a memory chart must
//   not hide);
// - every label on an axis is in the one unit named beside the axis (a binary byte unit
//   chosen from the largest value, a time unit from the longest time).

import { Chalk } from 'chalk';

export interface Series {
  label: string;
  /** [time ns, value bytes] in time order. */
  points: [number, number][];
}

const MARKERS = ['●', '■', '▲', '◆', '✚', '○', '□', '△'];
const COLORS = ['cyan', 'magenta', 'yellow', 'green', 'red', 'blue', 'white', 'gray'] as const;
/** A cell where several series fall. */
const OVERLAP = '✱';
const BYTE_UNITS: [string, number][] = [
  ['GiB', 2 ** 30],
  ['MiB', 2 ** 20],
  ['KiB', 2 ** 10],
  ['B', 1],
];
const TIME_UNITS: [string, number][] = [
  ['min', 60e9],
  ['s', 1e9],
  ['ms', 1e6],
  ['µs', 1e3],
  ['ns', 1],
];

/** The largest unit in which `max` is at least 1 (the last unit otherwise). */
function unitFor(max: number, units: [string, number][]): [string, number] {
  return units.find(([, size]) => max >= size) ?? units[units.length - 1];
}

/** Tick labels of an axis spanning `range` (in units of `size`): three significant digits of the range. */
function ticker(range: number, size: number): (v: number) => string {
  const decimals = Math.max(0, 2 - Math.floor(Math.log10(Math.max(range / size, 1e-9))));
  return (v) => (v / size).toFixed(decimals);
}

/** For each column, the bit set of series whose highest value in it lands in each row. */
function plot(series: Series[], width: number, height: number, t0: number, span: number, vmax: number): number[][] {
  const grid: number[][] = Array.from({ length: height }, () => new Array<number>(width).fill(0));
  series.forEach((s, k) => {
    const col = new Array<number>(width).fill(-1);
    for (const [t, v] of s.points) {
      const x = Math.min(width - 1, Math.floor(((t - t0) / span) * width));
      if (v > col[x]) col[x] = v;
    }
    for (let x = 0; x < width; x++) {
      if (col[x] < 0) continue;
      grid[height - 1 - Math.round((col[x] / vmax) * (height - 1))][x] |= 1 << (k % 30);
    }
  });
  return grid;
}

export function renderChart(title: string, series: Series[], options: { color: boolean; width?: number; height?: number }): string {
  const c = new Chalk({ level: options.color ? 1 : 0 });
  const width = options.width ?? 64;
  const height = options.height ?? 14;
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return `${title}: no data\n`;
  const t0 = Math.min(...all.map((p) => p[0]));
  const t1 = Math.max(...all.map((p) => p[0]));
  const vmax = Math.max(1, ...all.map((p) => p[1]));
  const span = Math.max(1, t1 - t0);
  const [yUnit, ySize] = unitFor(vmax, BYTE_UNITS);
  const [xUnit, xSize] = unitFor(Math.max(Math.abs(t0), Math.abs(t1)), TIME_UNITS);
  const marker = (k: number) => c[COLORS[k % COLORS.length]](MARKERS[k % MARKERS.length]);
  const cell = (bits: number) => (bits === 0 ? ' ' : (bits & (bits - 1)) !== 0 ? c.bold(OVERLAP) : marker(31 - Math.clz32(bits)));
  const grid = plot(series, width, height, t0, span, vmax);
  const yTick = ticker(vmax, ySize);
  const xTick = ticker(span, xSize);
  const axisWidth = 8;
  const lines = [c.bold(title), `${`(${yUnit})`.padStart(axisWidth)}`];
  for (let y = 0; y < height; y++) {
    const v = ((height - 1 - y) / (height - 1)) * vmax;
    const tick = y === 0 || y === height - 1 || y === Math.floor(height / 2) ? yTick(v) : '';
    lines.push(`${tick.padStart(axisWidth)} ┤${grid[y].map(cell).join('')}`);
  }
  lines.push(`${''.padStart(axisWidth)} └${'─'.repeat(width)}`);
  const left = xTick(t0);
  const mid = xTick(t0 + span / 2);
  const right = xTick(t1);
  const half = Math.floor(width / 2);
  const ticks = `${left}${mid.padStart(half - left.length + Math.ceil(mid.length / 2))}`;
  lines.push(`${''.padStart(axisWidth)}  ${ticks}${right.padStart(width - ticks.length)}`);
  lines.push(`${''.padStart(axisWidth)}  ${`trace time (${xUnit})`.padStart(half + 8)}`);
  const legend = series.map((s, k) => `${marker(k)} ${s.label}`);
  if (series.length > 1) legend.push(`${c.bold(OVERLAP)} several series`);
  lines.push(`${''.padStart(axisWidth)}  ${legend.join('   ')}`);
  return lines.join('\n') + '\n';
}
