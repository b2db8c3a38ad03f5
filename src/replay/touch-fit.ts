// Fitting the touch model to recorded residency (run option touch `fit`). A trace holds
// spans, not stores: how much of the memory fresh from the OS a program writes is the
// one thing the needzero model (src/os/touch.ts) cannot read from it. A trace written by
// `heapsim record` carries rss rows, the kernel's count of the heap's resident bytes, and
// those decide: the trace is replayed as the recorded runtime ran it — the bitmap backend
// (Go 1.19's page allocator, placing every span where the recorded run placed it) under
// the trace's own releases — once per candidate share, and the share whose simulated heap
// residency is closest to the rss rows is the fit.
//
// Invariants:
// - Closest: the least mean absolute difference in bytes over the rss rows (a row counts
//   once, however long it stood). Bytes, not relative error: a row taken while the heap
//   was a few hundred KiB says little about how a program writes its 16 MiB buffers, and
//   relative error would let it decide. Ties go to the larger share (the default
//   assumption, that a program writes what it allocates, gives way only to evidence).
// - Candidates: whole percentages; every FIT_COARSE_STEP from 0 to 100, then every one
//   within a coarse step of the best: at most 11 + 18 replays. Residency grows with the
//   share, so each row's error falls and then rises as the share grows; their sum could
//   in principle dip twice, and then the fit is the better dip the coarse pass saw.
// - The fit uses the run's OS options (page size, THP, madvise) and nothing else of it: a
//   what-if run (another backend or policy) is then replayed with the share the recorded
//   run's residency implies. The OS options must be the recording's for the share to be
//   the program's: a trace does not say its machine's THP mode, and a fit under another
//   one finds another share (touchFit.fittedOn names the OS it was fitted on). A fit is
//   computed once per loaded trace and OS setting; compare fits once for all its runs.
// - The figures it reports are in-sample: the same rows chose the share and measure the
//   error (result.options.touchFit says so, with the share and the rows).

import { OP_RSS, type EventBatch, type ReadStats, type TraceMeta } from '../trace/events.js';
import { OptionError, resolveRunOptions, type MadviseMode, type RunOptions, type ThpMode } from '../options.js';
import { Replayer } from './engine.js';

/** The run options a fit uses: the OS's. */
export type FitOptions = Pick<RunOptions, 'physPageBytes' | 'thp' | 'madvise'>;

/** What the fit found: result.options.touchFit. */
export interface TouchFit {
  /** The share of a fresh span the program writes, in percent. */
  writtenPercent: number;
  /** rss rows that decided it. */
  rows: number;
  /** Mean absolute difference between simulated and recorded heap residency at the share, in bytes. */
  meanAbsErrorBytes: number;
  /** The run the fit replayed: the recorded runtime's own decisions, on the run's simulated OS. */
  fittedOn: { backend: string; policy: string; thp: ThpMode; madvise: MadviseMode; physPageBytes: number };
}

/** The parts of a loaded trace a fit replays. */
export interface FitSource {
  meta: TraceMeta;
  stats: ReadStats;
  batches: EventBatch[];
}

/** The coarse pass's step, in percent. */
export const FIT_COARSE_STEP = 10;
const FIT_BACKEND = 'bitmap';
const FIT_POLICY = 'trace';

const fits = new WeakMap<FitSource, Map<string, TouchFit>>();

/** Mean absolute byte error over the rss rows at one share; null when the trace has none. */
function errorAt(trace: FitSource, os: Required<FitOptions>, writtenPercent: number): { error: number; rows: number } | null {
  const r = new Replayer(trace.meta, {
    backend: FIT_BACKEND,
    policy: FIT_POLICY,
    ...os,
    touch: 'needzero',
    writtenPercent,
    timing: false,
  });
  r.markStart();
  for (const b of trace.batches) if (!r.step(b)) break;
  const match = r.result(trace.stats).summary.rssMatch;
  if (match === null) return null;
  let sum = 0;
  for (const [, recorded, simulated] of match.curve) sum += Math.abs(simulated - recorded);
  return { error: sum / match.rows, rows: match.rows };
}

/** Whether any row of the trace is an rss row. */
function hasRssRows(trace: FitSource): boolean {
  for (const b of trace.batches) for (let i = 0; i < b.length; i++) if (b.op[i] === OP_RSS) return true;
  return false;
}

/** Fits writtenPercent to the trace's rss rows (see the header); an OptionError when it has none. */
export function fitTouch(trace: FitSource, options: FitOptions = {}): TouchFit {
  // As the run resolves them: the trace's own THP mode unless the options say another.
  const given = { physPageBytes: options.physPageBytes, thp: options.thp, madvise: options.madvise };
  const { physPageBytes, thp, madvise } = resolveRunOptions(given, trace.meta);
  const os = { physPageBytes, thp, madvise };
  const key = `${os.physPageBytes}/${os.thp}/${os.madvise}`;
  let byKey = fits.get(trace);
  const known = byKey?.get(key);
  if (known !== undefined) return known;
  if (!hasRssRows(trace)) {
    throw new OptionError('touch', 'touch fit needs rss rows, the recorded residency that a trace written by heapsim record carries; this trace has none');
  }
  const tried = new Map<number, number>();
  let rows = 0;
  const tryShare = (pct: number): void => {
    if (tried.has(pct)) return;
    // Not null: the trace has rss rows, and a replay under the trace's own releases reaches them all.
    const e = errorAt(trace, os, pct)!;
    rows = e.rows;
    tried.set(pct, e.error);
  };
  const best = (): number => {
    let at = 100;
    for (const [pct, err] of tried) if (err < tried.get(at)! || (err === tried.get(at)! && pct > at)) at = pct;
    return at;
  };
  for (let pct = 100; pct >= 0; pct -= FIT_COARSE_STEP) tryShare(pct);
  const coarse = best();
  for (let pct = Math.max(0, coarse - FIT_COARSE_STEP + 1); pct <= Math.min(100, coarse + FIT_COARSE_STEP - 1); pct++) tryShare(pct);
  const writtenPercent = best();
  const fit: TouchFit = { writtenPercent, rows, meanAbsErrorBytes: tried.get(writtenPercent)!, fittedOn: { backend: FIT_BACKEND, policy: FIT_POLICY, ...os } };
  if (byKey === undefined) fits.set(trace, (byKey = new Map<string, TouchFit>()));
  byKey.set(key, fit);
  return fit;
}
