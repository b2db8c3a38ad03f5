// Meters: each measurement of a replay is one meter. A meter watches the events it
// needs, keeps its own figures, writes its slice of the result, and declares each figure
// once (name, unit, which direction is better, whether it is deterministic, how to show
// it). The tables, the CI gate and every later report read those declarations; none
// keeps a list of its own.
//
// The engine calls a meter's hooks in trace order, and only the hooks it implements:
// - advance(time): trace time is about to reach `time` (before an event, and before a
//   release a policy makes between events). Time-weighted figures accrue here, with the
//   state as it was since the previous call.
// - before(e): an alloc/free/scavenge is about to run (e is filled in except the
//   outcome fields).
// - event(e): an event was applied; the heap, the OS and ReplayState show its effect.
// - release(r): a policy released memory (any trigger), at r.time, between or inside
//   events.
// - contribute(result): the run is over (or stopped): write this meter's figures into
//   the result draft. Meters contribute in registry order, so a meter may read a slice an
//   earlier meter wrote (fragmentation reads the peaks the memory meter wrote).
//
// Hooks run on the hot path: no allocation and no string work per call. The engine
// reuses one EventRecord and one ReleaseRecord for the whole replay.

import type { PageHeap } from '../heap/types.js';
import type { SimOS } from '../os/sim-os.js';
import type { ReplayResult } from '../replay/result.js';
import type { Trigger } from '../policy/types.js';

/** What meters may read about the run at any hook. */
export interface ReplayState {
  readonly os: SimOS;
  readonly heap: PageHeap;
  /** Runtime page size in bytes. */
  readonly pageBytes: number;
  /** Pages in spans the trace says are live. */
  readonly inUsePages: number;
  /** The memory limit in force; NaN when there is none. */
  readonly limitBytes: number;
  /** Events applied so far (the current event's 1-based number inside event()). */
  readonly seq: number;
  /** The touch model's assumption: the share of each fresh span written (1 under `all`), and whether rss rows chose it. */
  readonly touchAssumption: { writtenShare: number; fitted: boolean };
}

/** One trace event as the engine applied it. Fields not meaningful for the op are -1 / ''. */
export interface EventRecord {
  seq: number;
  time: number;
  /** OP_ALLOC, OP_FREE, ... (src/trace/events.ts). */
  op: number;
  /** The trace line the event came from. */
  line: number;
  /** The span's id as written in the trace ('' unless ids are kept). */
  id: string;
  pages: number;
  /** The processor that did it; -1 when unknown. */
  p: number;
  /** The row's bytes cell (gc, limit, scavenge, rss); -1 when not given. */
  bytes: number;
  /** The row's huge cell (rss rows: recorded huge-page bytes); -1 when not given. */
  huge: number;
  /** Alloc: where the backend put the span; free: the span's base. -1 otherwise. */
  addr: number;
  /** The trace's addr: alloc, where the recorded program's span went; scavenge, the base of the range it released. -1 when not given. */
  traceAddr: number;
  /** Alloc: of its pages, how many had been released (faulted back in). */
  scavengedPages: number;
  /** Scavenge: bytes the policy released for this row. */
  releasedBytes: number;
  /** Cost of the backend call: work units, wall ns (0 when not timed), modelled ns. */
  work: number;
  /** Whether this op's wall time was measured (timing on, and the op in the timed sample). */
  timed: boolean;
  wallNs: number;
  modelNs: number;
}

export function newEventRecord(): EventRecord {
  return {
    seq: 0,
    time: 0,
    op: 0,
    line: 0,
    id: '',
    pages: -1,
    p: -1,
    bytes: -1,
    huge: -1,
    addr: -1,
    traceAddr: -1,
    scavengedPages: 0,
    releasedBytes: 0,
    work: 0,
    timed: false,
    wallNs: 0,
    modelNs: 0,
  };
}

/** One release a policy made. */
export interface ReleaseRecord {
  time: number;
  trigger: Trigger;
  bytes: number;
  /** The lowest address it released (madvise start); -1 when it released nothing. */
  addr: number;
  /** Modelled CPU time of the release. */
  modelNs: number;
}

export interface Meter {
  advance?(time: number): void;
  before?(e: EventRecord): void;
  event?(e: EventRecord): void;
  release?(r: ReleaseRecord): void;
  contribute(result: ReplayResult): void;
}

/** How a figure is shown. */
export type Unit = 'bytes' | 'count' | 'ratio' | 'ns' | 'work';

/** The table section a figure is shown in. */
export type Section = 'Summary' | 'Fragmentation' | 'Releases' | 'Latency';

/**
 * A figure's declaration. `role`:
 * - 'gated': deterministic, with a better direction: the CI gate fails when it moves the
 *   wrong way beyond its tolerance;
 * - 'identity': describes the trace itself (ops, in-use bytes): a baseline whose value
 *   differs was made from another trace;
 * - 'info': deterministic but neither better nor worse (bytes released by a trigger);
 *   kept in baselines, not gated;
 * - 'wall': wall-clock time in this process: noise on shared machines, gated only when
 *   asked for.
 */
export interface Figure {
  /** The metric's name in baselines and tolerances: 'summary.peakRssBytes'. */
  key: string;
  /** Its label in tables. */
  label: string;
  unit: Unit;
  /** Which direction is better; null when neither is. */
  better: 'lower' | 'higher' | null;
  role: 'gated' | 'identity' | 'info' | 'wall';
  section: Section;
  /** Its value in a result; null when undefined for this run. */
  value(r: ReplayResult): number | null;
  /** Whether a table shows it for this run (default: always). */
  shown?(r: ReplayResult): boolean;
  /** Left out of the tables (still in JSON and baselines). */
  hidden?: boolean;
}

/** Shorthand for declaring figures. */
export function figure(
  section: Section,
  key: string,
  label: string,
  unit: Unit,
  better: Figure['better'],
  value: (r: ReplayResult) => number | null,
  extra: Partial<Pick<Figure, 'role' | 'shown' | 'hidden'>> = {},
): Figure {
  return { section, key, label, unit, better, role: extra.role ?? (better === null ? 'info' : 'gated'), value, shown: extra.shown, hidden: extra.hidden };
}
