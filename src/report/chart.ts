// --chart: a value (RSS) against trace time in the terminal, one marker per series,
// with a legend and units on both axes.

import { Chalk } from 'chalk';
import { formatBytes, formatNs } from './format.js';

export interface Series {
  label: string;
  /** [time ns, value bytes] in time order. */
  points: [number, number][];
}

const MARKERS = ['●', '■', '▲', '◆', '✚', '○', '□', '△'];
const COLORS = ['cyan', 'magenta', 'yellow', 'green', 'red', 'blue', 'white', 'gray'] as const;

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
  const grid: string[][] = Array.from({ length: height }, () => Array<string>(width).fill(' '));
  series.forEach((s, k) => {
    // The highest value in each column: peaks are what a memory chart must not hide.
    const col = new Array<number>(width).fill(-1);
    for (const [t, v] of s.points) {
      const x = Math.min(width - 1, Math.floor(((t - t0) / span) * width));
      if (v > col[x]) col[x] = v;
    }
    const mark = c[COLORS[k % COLORS.length]](MARKERS[k % MARKERS.length]);
    for (let x = 0; x < width; x++) {
      if (col[x] < 0) continue;
      const y = height - 1 - Math.round((col[x] / vmax) * (height - 1));
      grid[y][x] = mark;
    }
  });
  const axisWidth = 10;
  const lines = [c.bold(title)];
  for (let y = 0; y < height; y++) {
    const v = ((height - 1 - y) / (height - 1)) * vmax;
    const label = y === 0 || y === height - 1 || y === Math.floor(height / 2) ? formatBytes(Math.round(v)) : '';
    lines.push(`${label.padStart(axisWidth)} ┤${grid[y].join('')}`);
  }
  lines.push(`${''.padStart(axisWidth)} └${'─'.repeat(width)}`);
  const left = formatNs(t0);
  const right = formatNs(t1);
  lines.push(
    `${''.padStart(axisWidth)}  ${left}${'trace time'.padStart(Math.floor(width / 2) - left.length + 5)}${right.padStart(width - Math.floor(width / 2) - 5)}`,
  );
  lines.push(`${''.padStart(axisWidth)}  ${series.map((s, k) => `${c[COLORS[k % COLORS.length]](MARKERS[k % MARKERS.length])} ${s.label}`).join('   ')}`);
  return lines.join('\n') + '\n';
}
