// The release-curve meter: *when* memory went back, not only how much.
//
// The policy's curve is its cumulative released bytes (every trigger, runtime count)
// against trace time; the trace's own curve, when the trace has scavenge rows with a byte
// count, is the cumulative bytes of those rows (what the recorded runtime released; an
// empty row, debug.FreeOSMemory, has no count and is left out). Figures:
// - t50Ns / t90Ns: trace time from the first event until the policy had released 50% /
//   90% of its total (the release that crossed the share); traceT50Ns / traceT90Ns the
//   same for the trace's curve. Null when the curve is empty.
// - maxGapBytes: the largest |policy - trace| between the two curves at any trace time,
//   and maxGapShare that gap over the larger of the two totals. Null without trace rows.
//
// Both curves are step functions, so the gap is checked once trace time moves on (the
// advance hook): a release and the scavenge row that asked for it at the same instant
// are not a gap. Each release and each counted row is kept (time, cumulative bytes) in
// typed arrays that grow by doubling: the hooks allocate nothing per call otherwise.

import { OP_SCAVENGE } from '../trace/events.js';
import { grownFor } from '../util/grow.js';
import { figure, type EventRecord, type Figure, type Meter, type ReleaseRecord } from './meter.js';
import type { ReplayResult } from '../replay/result.js';

type Curve = ReplayResult['summary']['releaseCurve'];
const shown = (r: ReplayResult) => r.summary.releaseCurve.t50Ns !== null;
const gapShown = (r: ReplayResult) => r.summary.releaseCurve.maxGapBytes !== null;
const key = (k: keyof Curve) => `summary.releaseCurve.${k}`;

export const RELEASE_CURVE_FIGURES: readonly Figure[] = [
  figure('Releases', key('t50Ns'), 'half of the released bytes gone by (trace time)', 'ns', null, (r) => r.summary.releaseCurve.t50Ns, { shown }),
  figure('Releases', key('t90Ns'), '90% of the released bytes gone by (trace time)', 'ns', null, (r) => r.summary.releaseCurve.t90Ns, { shown }),
  figure('Releases', key('traceT50Ns'), "the trace's own releases: half gone by", 'ns', null, (r) => r.summary.releaseCurve.traceT50Ns, { shown: gapShown }),
  figure('Releases', key('traceT90Ns'), "the trace's own releases: 90% gone by", 'ns', null, (r) => r.summary.releaseCurve.traceT90Ns, { shown: gapShown }),
  figure('Releases', key('maxGapBytes'), "largest gap to the trace's cumulative releases", 'bytes', null, (r) => r.summary.releaseCurve.maxGapBytes, {
    shown: gapShown,
  }),
  figure('Releases', key('maxGapShare'), 'largest gap, share of the larger total', 'ratio', null, (r) => r.summary.releaseCurve.maxGapShare, {
    shown: gapShown,
  }),
];

/** A cumulative step curve: (time, bytes so far) at each step. */
class StepCurve {
  times = new Float64Array(64);
  totals = new Float64Array(64);
  n = 0;
  total = 0;

  add(time: number, bytes: number): void {
    if (bytes <= 0) return;
    this.total += bytes;
    if (this.n === this.times.length) {
      this.times = grownFor(this.times, this.n);
      this.totals = grownFor(this.totals, this.n);
    }
    this.times[this.n] = time;
    this.totals[this.n] = this.total;
    this.n++;
  }

  /** Time from `start` until the curve first reached `share` of its total; null when empty. */
  timeTo(share: number, start: number): number | null {
    if (this.n === 0) return null;
    const want = share * this.total;
    for (let i = 0; i < this.n; i++) if (this.totals[i] >= want) return this.times[i] - start;
    return this.times[this.n - 1] - start;
  }
}

export class ReleaseCurveMeter implements Meter {
  private readonly policy = new StepCurve();
  private readonly trace = new StepCurve();
  private start = NaN;
  private now = -Infinity;
  private maxGap = 0;

  advance(time: number): void {
    if (Number.isNaN(this.start)) this.start = time;
    if (time > this.now) {
      this.checkGap();
      this.now = time;
    }
  }

  private checkGap(): void {
    const gap = Math.abs(this.policy.total - this.trace.total);
    if (gap > this.maxGap) this.maxGap = gap;
  }

  event(e: EventRecord): void {
    if (e.op === OP_SCAVENGE && e.bytes >= 0) this.trace.add(e.time, e.bytes);
  }

  release(r: ReleaseRecord): void {
    this.policy.add(r.time, r.bytes);
  }

  contribute(r: ReplayResult): void {
    this.checkGap();
    const start = Number.isNaN(this.start) ? 0 : this.start;
    const withTrace = this.trace.n > 0;
    const larger = Math.max(this.policy.total, this.trace.total);
    r.summary.releaseCurve = {
      t50Ns: this.policy.timeTo(0.5, start),
      t90Ns: this.policy.timeTo(0.9, start),
      traceT50Ns: this.trace.timeTo(0.5, start),
      traceT90Ns: this.trace.timeTo(0.9, start),
      maxGapBytes: withTrace ? this.maxGap : null,
      maxGapShare: withTrace && larger > 0 ? this.maxGap / larger : null,
    };
  }
}
