// The trace meter: what the trace itself did — how many events of each kind, how long
// it lasted in trace time, and the live heap it described (in-use pages, from the spans
// the trace says are live). These figures are the trace's identity: every backend and
// policy sees the same ones, and a CI baseline whose values differ was made from another
// trace.

import { OP_ALLOC, OP_FREE, OP_GC, OP_LIMIT, OP_SCAVENGE } from '../trace/events.js';
import { figure, type EventRecord, type Figure, type Meter, type ReplayState } from './meter.js';
import type { ReplayResult } from '../replay/result.js';

const identity = { role: 'identity' as const };

export const TRACE_FIGURES: readonly Figure[] = [
  figure('Summary', 'summary.ops', 'ops', 'count', null, (r) => r.summary.ops, identity),
  figure('Summary', 'summary.allocs', 'allocs', 'count', null, (r) => r.summary.allocs, identity),
  figure('Summary', 'summary.frees', 'frees', 'count', null, (r) => r.summary.frees, identity),
  figure('Summary', 'summary.scavenges', 'scavenge rows', 'count', null, (r) => r.summary.scavenges, identity),
  figure('Summary', 'summary.gcs', 'gc rows', 'count', null, (r) => r.summary.gcs, identity),
  figure('Summary', 'summary.limits', 'limit rows', 'count', null, (r) => r.summary.limits, { ...identity, hidden: true }),
  figure('Summary', 'summary.traceDurationNs', 'trace duration', 'ns', null, (r) => r.summary.traceDurationNs, { ...identity, hidden: true }),
  figure('Summary', 'summary.peakInUseBytes', 'peak in-use', 'bytes', null, (r) => r.summary.peakInUseBytes, identity),
  figure('Summary', 'summary.finalInUseBytes', 'final in-use', 'bytes', null, (r) => r.summary.finalInUseBytes, { ...identity, hidden: true }),
];

export class TraceMeter implements Meter {
  private readonly counts = new Float64Array(8);
  private peakInUsePages = 0;
  private firstTime = NaN;
  private lastTime = NaN;

  constructor(private readonly state: ReplayState) {}

  event(e: EventRecord): void {
    this.counts[e.op]++;
    if (Number.isNaN(this.firstTime)) this.firstTime = e.time;
    this.lastTime = e.time;
    if (e.op === OP_ALLOC && this.state.inUsePages > this.peakInUsePages) this.peakInUsePages = this.state.inUsePages;
  }

  contribute(r: ReplayResult): void {
    const s = r.summary;
    const pb = this.state.pageBytes;
    // Events applied: an event that ran out of memory is not one of them.
    s.ops = this.counts.reduce((a, b) => a + b, 0);
    s.allocs = this.counts[OP_ALLOC];
    s.frees = this.counts[OP_FREE];
    s.scavenges = this.counts[OP_SCAVENGE];
    s.gcs = this.counts[OP_GC];
    s.limits = this.counts[OP_LIMIT];
    s.traceDurationNs = Number.isNaN(this.firstTime) ? 0 : this.lastTime - this.firstTime;
    s.peakInUseBytes = this.peakInUsePages * pb;
    s.finalInUseBytes = this.state.inUsePages * pb;
  }
}
