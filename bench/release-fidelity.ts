// Release fidelity: how closely a modelled release policy (go1.19 by default) gives memory
// back compared with the releases the real runtime made, as recorded in a trace's
// `scavenge` rows and replayed by the `trace` policy. Three figures per trace (issue 13):
// - released ratio: the policy's total released bytes over the trace's;
// - largest curve gap: the largest distance, at any trace time, between the two
//   cumulative released-bytes curves, as a fraction of the trace's total;
// - mean RSS difference: the policy's time-weighted mean RSS against the trace's, relative.
// Every release counts, whatever its trigger (the real runtime's rows include its growth
// and limit scavenging as well as the background scavenger's).
//
// Usage: node dist/bench/release-fidelity.js [--policy P] [--svg FILE] [--markdown] TRACE...
// (default traces: the recorded ones bundled in traces/, then heapsim record's fixtures in
// test/fixtures/recorded, then the idle-machine recordings of test/fixtures/scavenger).
// Prints one line per trace, or a
// Markdown table; --svg writes a chart of both curves per trace.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTrace, replayLoaded, type LoadedTrace, type Meter, type ReleaseRecord } from '../src/index.js';
import type { ThpMode } from '../src/options.js';
import { writeOutputFile } from '../src/io/outputs.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
/** The bundled traces recorded from a real Go 1.19.8 runtime (their scavenge rows are real). */
export const RECORDED_TRACES = ['spike-gogc100-768.csv.gz', 'compile-go-types.csv.gz', 'go1-Revcomp.csv', 'go1-Template.csv', 'go1-Gob.csv'].map((f) =>
  join(ROOT, 'traces', f),
);
/**
 * Traces `heapsim record` wrote (test/fixtures/recorded: Go 1.19.8 with heapsim's own
 * recorder, gc rows at mark termination, before the sweep), on the machine's THP
 * `madvise`, as their `# thp=` says; their `-thp-off` twins, with THP disabled, repeat the
 * same programs and are left out of the default set.
 */
export const RECORDER_TRACES = ['spike', 'fragmenter', 'freeos', 'partial'].map((p) => join(ROOT, 'test', 'fixtures', 'recorded', `${p}-thp-madvise.csv.gz`));

/**
 * Traces bench/scavenger-trace.ts recorded on an idle machine (test/fixtures/scavenger: the
 * same programs, Go 1.19.8, THP `madvise`), each with the runtime's own log of its
 * scavenger's wake-ups and batches beside it.
 */
export const SCAVENGER_TRACES = ['spike-1', 'spike-2', 'spike-3', 'fragmenter-1', 'fragmenter-2', 'freeos-1', 'freeos-2', 'freeos-3'].map((p) =>
  join(ROOT, 'test', 'fixtures', 'scavenger', `${p}.csv.gz`),
);

/**
 * The recording machine's transparent huge pages: `madvise` (Debian's default, as on this
 * project's machines), under which Go 1.19's MADV_HUGEPAGE on the spans it allocates makes
 * the heap's whole huge pages THP-backed. The recordings' own release rows say so: their
 * 2 MiB releases took ~11 us apart, as a THP's madvise does (6-7 us measured), not 150-200
 * us as 512 small pages' (docs/policies.md, "What a release costs").
 */
export const RECORDING_THP: ThpMode = 'madvise';

/** Cumulative released bytes: one point per release, in trace-time order. */
export interface ReleaseCurve {
  timeNs: number[];
  cumBytes: number[];
}

class CurveMeter implements Meter {
  readonly curve: ReleaseCurve = { timeNs: [], cumBytes: [] };
  private total = 0;
  release(r: ReleaseRecord): void {
    if (r.bytes <= 0) return;
    this.total += r.bytes;
    this.curve.timeNs.push(r.time);
    this.curve.cumBytes.push(this.total);
  }
  contribute(): void {}
}

export interface PolicyRun {
  curve: ReleaseCurve;
  releasedBytes: number;
  meanRssBytes: number;
  startNs: number;
  endNs: number;
  /** The GOMAXPROCS the run used (the trace's metadata unless given). */
  gomaxprocs: number;
}

export function runPolicy(trace: LoadedTrace, policy: string, thp: ThpMode = RECORDING_THP): PolicyRun {
  let meter: CurveMeter | undefined;
  const r = replayLoaded(trace, {
    policy,
    thp,
    timing: false,
    meters: [
      () => {
        meter = new CurveMeter();
        return meter;
      },
    ],
  });
  const curve = meter?.curve ?? { timeNs: [], cumBytes: [] };
  const first = trace.batches[0];
  const last = trace.batches[trace.batches.length - 1];
  return {
    curve,
    releasedBytes: curve.cumBytes.length === 0 ? 0 : curve.cumBytes[curve.cumBytes.length - 1],
    meanRssBytes: r.summary.meanRssBytes,
    startNs: first === undefined ? 0 : first.time[0],
    endNs: last === undefined ? 0 : last.time[last.length - 1],
    gomaxprocs: r.options.gomaxprocs,
  };
}

/** The largest |a(t) - b(t)| over all t, for two cumulative step curves. */
export function largestGapBytes(a: ReleaseCurve, b: ReleaseCurve): number {
  let i = 0;
  let j = 0;
  let va = 0;
  let vb = 0;
  let gap = 0;
  while (i < a.timeNs.length || j < b.timeNs.length) {
    const ta = i < a.timeNs.length ? a.timeNs[i] : Infinity;
    const tb = j < b.timeNs.length ? b.timeNs[j] : Infinity;
    const t = Math.min(ta, tb);
    while (i < a.timeNs.length && a.timeNs[i] === t) va = a.cumBytes[i++];
    while (j < b.timeNs.length && b.timeNs[j] === t) vb = b.cumBytes[j++];
    gap = Math.max(gap, Math.abs(va - vb));
  }
  return gap;
}

/** A cumulative step curve's value at time t (its last step at or before t). */
function valueAt(c: ReleaseCurve, t: number): number {
  let lo = 0;
  let hi = c.timeNs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (c.timeNs[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? 0 : c.cumBytes[lo - 1];
}

/**
 * The largest gap when each curve may be early or late by up to toleranceNs (a Lévy-style
 * distance, in bytes): at each t, how far b(t) lies outside [a(t - tol), a(t + tol)], and
 * the same with a and b swapped. With tolerance 0 this is largestGapBytes. Both curves
 * step, so the largest excess is found at a breakpoint of either, shifted by -tol, 0 or
 * +tol, taken as the step lands or 1 ns before.
 */
export function largestGapWithinBytes(a: ReleaseCurve, b: ReleaseCurve, toleranceNs: number): number {
  const times: number[] = [];
  for (const c of [a, b]) for (const t of c.timeNs) for (const d of [-toleranceNs, 0, toleranceNs]) times.push(t + d, t + d - 1);
  let gap = 0;
  for (const t of times) {
    for (const [x, y] of [
      [a, b],
      [b, a],
    ]) {
      const v = valueAt(y, t);
      const lo = valueAt(x, t - toleranceNs);
      const hi = valueAt(x, t + toleranceNs);
      gap = Math.max(gap, lo - v, v - hi);
    }
  }
  return gap;
}

/** Time tolerances the table also reports the gap with: the scavenger's wake-ups and sleeps move by milliseconds. */
export const GAP_TOLERANCES_NS = [10e6, 100e6];

export interface Fidelity {
  trace: string;
  policy: string;
  realReleasedBytes: number;
  modelReleasedBytes: number;
  /** model / real released bytes (NaN when the trace released nothing). */
  releasedRatio: number;
  /** Largest gap between the cumulative curves over the real total (NaN when it released nothing). */
  largestGapFraction: number;
  /** The same gap when either curve may be early or late by each of GAP_TOLERANCES_NS. */
  largestGapWithinFraction: number[];
  /** (model - real) / real time-weighted mean RSS. */
  meanRssDiff: number;
  real: PolicyRun;
  model: PolicyRun;
}

export async function fidelity(path: string, policy = 'go1.19', given?: ThpMode): Promise<Fidelity> {
  const trace = await loadTrace(path);
  // The THP mode the trace says it was recorded under (heapsim record writes it), else RECORDING_THP.
  const thp = given ?? trace.meta.thp ?? RECORDING_THP;
  const real = runPolicy(trace, 'trace', thp);
  const model = runPolicy(trace, policy, thp);
  const total = real.releasedBytes;
  return {
    trace: path.replace(/^.*\//, ''),
    policy,
    realReleasedBytes: total,
    modelReleasedBytes: model.releasedBytes,
    releasedRatio: total > 0 ? model.releasedBytes / total : NaN,
    largestGapFraction: total > 0 ? largestGapBytes(real.curve, model.curve) / total : NaN,
    largestGapWithinFraction: GAP_TOLERANCES_NS.map((tol) => (total > 0 ? largestGapWithinBytes(real.curve, model.curve, tol) / total : NaN)),
    meanRssDiff: (model.meanRssBytes - real.meanRssBytes) / real.meanRssBytes,
    real,
    model,
  };
}

const MiB = 2 ** 20;
const pct = (x: number): string => (Number.isNaN(x) ? 'n/a' : `${(x * 100).toFixed(1)}%`);
const signedPct = (x: number): string => (x >= 0 ? '+' : '') + pct(x);

export function markdownTable(rows: Fidelity[]): string {
  const out = [
    `| trace | released by Go (MiB) | by ${rows[0]?.policy ?? 'policy'} (MiB) | ratio | largest curve gap | gap within ±10 ms | gap within ±100 ms | mean RSS difference |`,
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const f of rows) {
    const ratio = Number.isNaN(f.releasedRatio) ? 'n/a' : `×${f.releasedRatio.toFixed(3)}`;
    out.push(
      `| ${f.trace} | ${(f.realReleasedBytes / MiB).toFixed(1)} | ${(f.modelReleasedBytes / MiB).toFixed(1)} | ${ratio} | ${pct(f.largestGapFraction)} | ${f.largestGapWithinFraction.map(pct).join(' | ')} | ${signedPct(f.meanRssDiff)} |`,
    );
  }
  return out.join('\n') + '\n';
}

/** One panel per trace: both cumulative curves (MiB) against trace time (s), as steps. */
export function svgChart(rows: Fidelity[]): string {
  const W = 720;
  const H = 220;
  const PAD = { l: 64, r: 16, t: 28, b: 36 };
  const panels = rows.filter((f) => f.realReleasedBytes > 0 || f.modelReleasedBytes > 0);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H * panels.length}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  panels.forEach((f, k) => {
    const y0 = k * H;
    const t0 = f.real.startNs;
    const t1 = Math.max(f.real.endNs, t0 + 1);
    const vmax = Math.max(f.realReleasedBytes, f.modelReleasedBytes, 1);
    const x = (t: number): number => PAD.l + ((t - t0) / (t1 - t0)) * (W - PAD.l - PAD.r);
    const y = (v: number): number => y0 + H - PAD.b - (v / vmax) * (H - PAD.t - PAD.b);
    const path = (c: ReleaseCurve): string => {
      let d = `M${x(t0).toFixed(1)},${y(0).toFixed(1)}`;
      for (let i = 0; i < c.timeNs.length; i++) d += `H${x(c.timeNs[i]).toFixed(1)}V${y(c.cumBytes[i]).toFixed(1)}`;
      return d + `H${x(t1).toFixed(1)}`;
    };
    parts.push(
      `<text x="${PAD.l}" y="${y0 + 16}" font-weight="bold">${f.trace}: cumulative released MiB against trace time (s)</text>`,
      `<line x1="${PAD.l}" y1="${y(0)}" x2="${W - PAD.r}" y2="${y(0)}" stroke="#888"/>`,
      `<line x1="${PAD.l}" y1="${y(0)}" x2="${PAD.l}" y2="${y(vmax)}" stroke="#888"/>`,
      `<text x="${PAD.l - 4}" y="${y(vmax) + 4}" text-anchor="end">${(vmax / MiB).toFixed(0)}</text>`,
      `<text x="${PAD.l - 4}" y="${y(0) + 4}" text-anchor="end">0</text>`,
      `<text x="${PAD.l}" y="${y(0) + 14}">${(t0 / 1e9).toFixed(1)}</text>`,
      `<text x="${W - PAD.r}" y="${y(0) + 14}" text-anchor="end">${(t1 / 1e9).toFixed(1)}</text>`,
      `<path d="${path(f.real.curve)}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>`,
      `<path d="${path(f.model.curve)}" fill="none" stroke="#d62728" stroke-width="1.5" stroke-dasharray="4 2"/>`,
      `<text x="${W - PAD.r}" y="${y0 + 16}" text-anchor="end"><tspan fill="#1f77b4">— Go 1.19.8 (trace)</tspan>  <tspan fill="#d62728">- - ${f.policy}</tspan></text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

async function main(argv: string[]): Promise<void> {
  let policy = 'go1.19';
  let svg: string | undefined;
  let markdown = false;
  let thp: ThpMode | undefined;
  const paths: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--policy') policy = argv[++i];
    else if (argv[i] === '--svg') svg = argv[++i];
    else if (argv[i] === '--markdown') markdown = true;
    else if (argv[i] === '--thp') thp = argv[++i] as ThpMode;
    else paths.push(argv[i]);
  }
  const rows: Fidelity[] = [];
  for (const p of paths.length > 0 ? paths : [...RECORDED_TRACES, ...RECORDER_TRACES, ...SCAVENGER_TRACES]) rows.push(await fidelity(p, policy, thp));
  if (markdown) process.stdout.write(markdownTable(rows));
  else
    for (const f of rows)
      console.log(`${f.trace}: released ×${f.releasedRatio.toFixed(3)}, largest gap ${pct(f.largestGapFraction)}, mean RSS ${signedPct(f.meanRssDiff)}`);
  if (svg !== undefined) writeOutputFile(svg, svgChart(rows));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
