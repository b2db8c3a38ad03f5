// Meters that write rather than count: --timeline (memory against trace time, bounded)
// and --emit (one row per operation). They follow the same hooks as the figure meters
// and contribute nothing to the result.

import { OP_NAMES, OP_SCAVENGE } from '../trace/events.js';
import type { EventRecord, Meter, ReleaseRecord, ReplayState } from './meter.js';
import type { Timeline } from './timeline.js';

/** Receives one row per alloc, free and scavenge (--emit). -1 means "not given". */
export interface EmitSink {
  row(seq: number, time: number, op: string, id: string, pages: number, addr: number, scavPages: number, releasedBytes: number, work: number, ns: number): void;
}

export class EmitMeter implements Meter {
  constructor(private readonly sink: EmitSink) {}

  event(e: EventRecord): void {
    if (e.op > OP_SCAVENGE) return;
    const scavenge = e.op === OP_SCAVENGE;
    this.sink.row(e.seq, e.time, OP_NAMES[e.op], e.id, scavenge ? -1 : e.pages, e.addr, e.scavengedPages, e.releasedBytes, e.work, e.wallNs);
  }

  contribute(): void {}
}

export class TimelineMeter implements Meter {
  constructor(
    private readonly state: ReplayState,
    private readonly timeline: Timeline,
  ) {}

  private sample(time: number): void {
    const { os, heap, pageBytes: pb, limitBytes } = this.state;
    this.timeline.sample(
      time,
      this.state.inUsePages * pb,
      heap.heapPages * pb,
      os.rssBytes,
      heap.releasedPages * pb,
      os.vsizeBytes,
      Number.isNaN(limitBytes) ? -1 : limitBytes,
    );
  }

  event(e: EventRecord): void {
    this.sample(e.time);
  }

  release(r: ReleaseRecord): void {
    if (r.bytes > 0) this.sample(r.time);
  }

  contribute(): void {}
}
