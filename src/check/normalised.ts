// Normalised figures for the CI gate's fresh-recording mode: ratios of flattened metrics
// that stay put when a recording is longer or shorter, so a program re-recorded on every
// commit is judged on how it used memory, not on how long the recording ran.
//
// Invariants:
// - Each figure is declared once here: name, formula (as documented in docs/ci.md),
//   unit, better direction, and its value from a flat metrics record.
// - A figure whose inputs are missing or whose denominator is 0 has no value (null) and
//   is not compared; it never becomes NaN or Infinity.
// - Computed at comparison time from both sides' metrics, so baselines written before
//   these figures existed are judged on them too.

import type { Figure, Unit } from '../metrics/index.js';
import { LATENCY_OPS } from '../metrics/latency-meter.js';

export interface NormalisedFigure {
  /** Its name in reports and --tolerance: 'normalised.rssPerInUse'. */
  key: string;
  label: string;
  /** The formula over flattened metric names, for the docs and --help. */
  formula: string;
  unit: Unit;
  better: Figure['better'];
  value(m: Readonly<Record<string, number>>): number | null;
}

function ratio(num: number | undefined, den: number | undefined): number | null {
  if (num === undefined || den === undefined || den === 0) return null;
  return num / den;
}

/** Σ over ops of (per-op mean × count), or undefined when a count or mean is missing. */
function totalOver(m: Readonly<Record<string, number>>, meanKey: string): number | undefined {
  let total = 0;
  for (const op of LATENCY_OPS) {
    const count = m[`latency.${op}.count`];
    if (count === undefined) return undefined;
    if (count === 0) continue;
    const mean = m[`latency.${op}.${meanKey}`];
    if (mean === undefined) return undefined;
    total += mean * count;
  }
  return total;
}

function sumOf(m: Readonly<Record<string, number>>, keys: readonly string[]): number | undefined {
  let total = 0;
  for (const k of keys) {
    if (m[k] === undefined) return undefined;
    total += m[k];
  }
  return total;
}

const SYSCALLS = ['summary.mmapCalls', 'summary.madviseCalls', 'summary.munmapCalls'];
/** The ops a backend works on: gc, limit and rss rows cost it nothing, so they do not dilute per-op figures. */
const HEAP_OPS = ['summary.allocs', 'summary.frees', 'summary.scavenges'];
/** System calls are rare next to ops: counted per 1000 ops so the figure reads as more than 0.00. */
const OPS_PER_KILO_OP = 1000;

export const NORMALISED: readonly NormalisedFigure[] = [
  {
    key: 'normalised.rssPerInUse',
    label: 'peak RSS per peak in-use byte',
    formula: 'summary.peakRssBytes / summary.peakInUseBytes',
    unit: 'ratio',
    better: 'lower',
    value: (m) => ratio(m['summary.peakRssBytes'], m['summary.peakInUseBytes']),
  },
  {
    key: 'normalised.meanRssPerInUse',
    label: 'mean RSS per peak in-use byte',
    formula: 'summary.meanRssBytes / summary.peakInUseBytes',
    unit: 'ratio',
    better: 'lower',
    value: (m) => ratio(m['summary.meanRssBytes'], m['summary.peakInUseBytes']),
  },
  {
    key: 'normalised.workPerOp',
    label: 'backend work per op',
    formula: 'Σ latency.OP.meanWork × latency.OP.count / (allocs + frees + scavenges) (OP: alloc, free, scavenge)',
    unit: 'work',
    better: 'lower',
    value: (m) => ratio(totalOver(m, 'meanWork'), sumOf(m, HEAP_OPS)),
  },
  {
    key: 'normalised.modelNsPerOp',
    label: 'modelled time per op',
    formula: 'Σ latency.OP.modelMeanNs × latency.OP.count / (allocs + frees + scavenges)',
    unit: 'ns',
    better: 'lower',
    value: (m) => ratio(totalOver(m, 'modelMeanNs'), sumOf(m, HEAP_OPS)),
  },
  {
    key: 'normalised.faultsPerAlloc',
    label: 'page faults per allocation',
    formula: 'summary.pageFaults / summary.allocs',
    unit: 'count',
    better: 'lower',
    value: (m) => ratio(m['summary.pageFaults'], m['summary.allocs']),
  },
  {
    key: 'normalised.syscallsPerKiloOp',
    label: 'mmap + madvise + munmap calls per 1000 heap ops',
    formula: '1000 × (summary.mmapCalls + summary.madviseCalls + summary.munmapCalls) / (allocs + frees + scavenges)',
    unit: 'count',
    better: 'lower',
    value: (m) => {
      const perOp = ratio(sumOf(m, SYSCALLS), sumOf(m, HEAP_OPS));
      return perOp === null ? null : perOp * OPS_PER_KILO_OP;
    },
  },
  {
    key: 'normalised.releasedPerFree',
    label: 'bytes released per free',
    formula: 'summary.releasedBytes / summary.frees',
    unit: 'bytes',
    better: null,
    value: (m) => ratio(m['summary.releasedBytes'], m['summary.frees']),
  },
];

export function findNormalised(key: string): NormalisedFigure | undefined {
  return NORMALISED.find((f) => f.key === key);
}

/** The normalised figures of one side's metrics (those with a value). */
export function normalisedOf(m: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of NORMALISED) {
    const v = f.value(m);
    if (v !== null && Number.isFinite(v)) out[f.key] = v;
  }
  return out;
}
