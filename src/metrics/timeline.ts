// --timeline: memory figures against trace time, in a bounded number of rows.
//
// Rows are taken at most once per `stride` ns of trace time. When the buffer holds
// MAX_ROWS, every other row is dropped and the stride doubles, so any trace, however
// long, ends with between MAX_ROWS/2 and MAX_ROWS rows, evenly spread. Each row keeps the
// highest RSS seen since the previous row, so a spike between rows is not lost.
// The last columns are the bytes released so far under each trigger (TRIGGERS order:
// released<Trigger>Bytes), cumulative, so a chart of them shows when memory went back.

import { TRIGGERS } from '../policy/types.js';

const BASE_COLUMNS = 'timeNs,inUseBytes,heapBytes,rssBytes,maxRssBytesSincePrev,runtimeReleasedBytes,vsizeBytes,limitBytes';
export const TIMELINE_HEADER = [BASE_COLUMNS, ...TRIGGERS.map((t) => `released${t[0].toUpperCase()}${t.slice(1)}Bytes`)].join(',');
const MAX_ROWS = 4096;
const BASE_FIELDS = 8;
const FIELDS = BASE_FIELDS + TRIGGERS.length;

export class Timeline {
  private rows = new Float64Array(MAX_ROWS * FIELDS);
  private n = 0;
  private stride = 1e6; // 1 ms of trace time to start with
  private lastTime = -Infinity;
  private maxRss = 0;

  /**
   * Called after every event; records a row when a stride of trace time has passed.
   * `releasedByTrigger`: cumulative released bytes per trigger (TRIGGERS order), 0s when not given.
   */
  sample(time: number, inUse: number, heap: number, rss: number, released: number, vsize: number, limit: number, releasedByTrigger?: ArrayLike<number>): void {
    if (rss > this.maxRss) this.maxRss = rss;
    if (time - this.lastTime < this.stride) return;
    if (this.n === MAX_ROWS) this.decimate();
    const r = this.rows;
    const o = this.n * FIELDS;
    r[o] = time;
    r[o + 1] = inUse;
    r[o + 2] = heap;
    r[o + 3] = rss;
    r[o + 4] = this.maxRss;
    r[o + 5] = released;
    r[o + 6] = vsize;
    r[o + 7] = limit;
    for (let k = 0; k < TRIGGERS.length; k++) r[o + BASE_FIELDS + k] = releasedByTrigger === undefined ? 0 : releasedByTrigger[k];
    this.n++;
    this.lastTime = time;
    this.maxRss = rss;
  }

  private decimate(): void {
    // Keep the even rows. A kept row's interval now also covers the dropped row before
    // it, so it takes that row's peak too.
    const r = this.rows;
    let w = 0;
    for (let i = 0; i < this.n; i += 2) {
      const droppedPeak = i > 0 ? r[(i - 1) * FIELDS + 4] : 0;
      for (let f = 0; f < FIELDS; f++) r[w * FIELDS + f] = r[i * FIELDS + f];
      if (droppedPeak > r[w * FIELDS + 4]) r[w * FIELDS + 4] = droppedPeak;
      w++;
    }
    this.n = w;
    this.stride *= 2;
  }

  /** [time, highest RSS since the previous row] per row: what a chart should draw. */
  rssPeaks(): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < this.n; i++) out.push([this.rows[i * FIELDS], this.rows[i * FIELDS + 4]]);
    return out;
  }

  get length(): number {
    return this.n;
  }

  /** The rows as CSV text (limitBytes empty when there is no limit). */
  toCsv(): string {
    const lines = [TIMELINE_HEADER];
    for (let i = 0; i < this.n; i++) {
      const o = i * FIELDS;
      const row: string[] = [];
      for (let f = 0; f < FIELDS; f++) {
        const v = this.rows[o + f];
        row.push(f === 7 && v < 0 ? '' : String(v));
      }
      lines.push(row.join(','));
    }
    return lines.join('\n') + '\n';
  }
}
