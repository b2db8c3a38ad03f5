// The limit meter: the program's own goals as the trace states them — the live heap the
// last GC marked, the memory limit in force, and how long RSS stayed above it (trace
// time, weighted exactly like mean RSS: a stretch counts when the RSS in force during
// it was above the limit in force during it).

import { OP_GC } from '../trace/events.js';
import { figure, type EventRecord, type Figure, type Meter, type ReplayState } from './meter.js';
import type { ReplayResult } from '../replay/result.js';

export const LIMIT_FIGURES: readonly Figure[] = [
  figure('Releases', 'summary.limitBytes', 'memory limit (at end)', 'bytes', null, (r) => r.summary.limitBytes),
  figure('Releases', 'summary.timeAboveLimitNs', 'time with RSS above the limit', 'ns', 'lower', (r) => r.summary.timeAboveLimitNs, {
    shown: (r) => r.summary.limitBytes !== null || r.summary.timeAboveLimitNs > 0,
  }),
  figure('Summary', 'summary.lastGcLiveBytes', 'live heap at the last GC', 'bytes', null, (r) => r.summary.lastGcLiveBytes, { hidden: true }),
];

export class LimitMeter implements Meter {
  private lastGcLiveBytes = -1;
  private lastRssBytes = 0;
  /** The limit in force since lastTime (NaN: none). */
  private limitBytes: number;
  private lastTime = NaN;
  private aboveLimitNs = 0;

  constructor(private readonly state: ReplayState) {
    this.limitBytes = state.limitBytes;
  }

  advance(time: number): void {
    if (Number.isNaN(this.lastTime)) {
      this.lastTime = time;
      return;
    }
    const dt = time - this.lastTime;
    if (dt <= 0) return;
    if (this.lastRssBytes > this.limitBytes) this.aboveLimitNs += dt;
    this.lastTime = time;
  }

  event(e: EventRecord): void {
    if (e.op === OP_GC) this.lastGcLiveBytes = e.bytes;
    this.limitBytes = this.state.limitBytes;
    this.lastRssBytes = this.state.os.rssBytes;
  }

  release(): void {
    this.lastRssBytes = this.state.os.rssBytes;
  }

  contribute(r: ReplayResult): void {
    const s = r.summary;
    s.lastGcLiveBytes = this.lastGcLiveBytes < 0 ? null : this.lastGcLiveBytes;
    s.limitBytes = Number.isNaN(this.state.limitBytes) ? null : this.state.limitBytes;
    s.timeAboveLimitNs = this.aboveLimitNs;
  }
}
