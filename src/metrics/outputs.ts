// Meters that write rather than count: --timeline (memory against trace time, bounded)
// and --emit (one row per operation, and one per policy release). They follow the same
// hooks as the figure meters and contribute nothing to the result.

import { OP_NAMES, OP_SCAVENGE } from '../trace/events.js';
import { TRIGGERS, type Trigger } from '../policy/types.js';
import type { EventRecord, Meter, ReleaseRecord, ReplayState } from './meter.js';
import type { Timeline } from './timeline.js';

/** Receives one row per alloc, free and scavenge, and one per policy release (--emit). -1 means "not given". */
export interface EmitSink {
  row(
    seq: number,
    time: number,
    op: string,
    id: string,
    pages: number,
    addr: number,
    scavPages: number,
    releasedBytes: number,
    work: number,
    ns: number,
    modelNs: number,
  ): void;
  /** A release a policy made at trace time `time`, inside event `seq` or after it (0: before the first); addr is the lowest address released. */
  release(seq: number, time: number, trigger: Trigger, addr: number, bytes: number, modelNs: number): void;
}

export class EmitMeter implements Meter {
  constructor(
    private readonly state: ReplayState,
    private readonly sink: EmitSink,
  ) {}

  event(e: EventRecord): void {
    if (e.op > OP_SCAVENGE) return;
    const scavenge = e.op === OP_SCAVENGE;
    this.sink.row(
      e.seq,
      e.time,
      OP_NAMES[e.op],
      e.id,
      scavenge ? -1 : e.pages,
      e.addr,
      e.scavengedPages,
      e.releasedBytes,
      e.work,
      e.wallNs,
      Math.round(e.modelNs),
    );
  }

  release(r: ReleaseRecord): void {
    this.sink.release(this.state.seq, r.time, r.trigger, r.addr, r.bytes, Math.round(r.modelNs));
  }

  contribute(): void {}
}

/** Index of each trigger in the timeline's cumulative columns. */
const TRIGGER_INDEX = new Map<Trigger, number>(TRIGGERS.map((t, i) => [t, i]));

export class TimelineMeter implements Meter {
  /** Bytes released so far, per trigger (TRIGGERS order). */
  private readonly releasedByTrigger = new Float64Array(TRIGGERS.length);

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
      this.releasedByTrigger,
    );
  }

  event(e: EventRecord): void {
    this.sample(e.time);
  }

  release(r: ReleaseRecord): void {
    if (r.bytes <= 0) return;
    this.releasedByTrigger[TRIGGER_INDEX.get(r.trigger) as number] += r.bytes;
    this.sample(r.time);
  }

  contribute(): void {}
}
