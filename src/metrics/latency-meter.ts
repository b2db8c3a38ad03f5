// The latency meter: per op kind (alloc, free, scavenge), the distribution of each
// operation's cost three ways — wall time around the backend call in this process
// (noise: not gated; measured on the engine's sample of ops, see engine.ts, so its
// quantiles and max are the sample's), work units the backend counted (deterministic,
// every op), and the modelled time (work + syscalls + page faults priced by
// cost-model.ts; deterministic, every op). The count is every op's.
// Histograms are bounded (histogram.ts), so memory stays flat on any trace.

import { Histogram } from './histogram.js';
import { OP_ALLOC, OP_FREE, OP_SCAVENGE } from '../trace/events.js';
import { figure, type EventRecord, type Figure, type Meter, type Unit } from './meter.js';
import type { LatencyStats, ReplayResult } from '../replay/result.js';

export const LATENCY_OPS = ['alloc', 'free', 'scavenge'] as const;

/** The latency table's columns (after the op name). */
export const LATENCY_COLUMNS: readonly { label: string; unit: Unit; key: keyof LatencyStats; wall: boolean }[] = [
  { label: 'count', unit: 'count', key: 'count', wall: false },
  { label: 'p50', unit: 'ns', key: 'p50Ns', wall: true },
  { label: 'p90', unit: 'ns', key: 'p90Ns', wall: true },
  { label: 'p99', unit: 'ns', key: 'p99Ns', wall: true },
  { label: 'max', unit: 'ns', key: 'maxNs', wall: true },
  { label: 'mean', unit: 'ns', key: 'meanNs', wall: true },
  { label: 'work mean', unit: 'work', key: 'meanWork', wall: false },
  { label: 'work p99', unit: 'work', key: 'p99Work', wall: false },
  { label: 'work max', unit: 'work', key: 'maxWork', wall: false },
  { label: 'model mean', unit: 'ns', key: 'modelMeanNs', wall: false },
  { label: 'model p99', unit: 'ns', key: 'modelP99Ns', wall: false },
  { label: 'model max', unit: 'ns', key: 'modelMaxNs', wall: false },
];

/** Columns the per-op table shows (the rest are in JSON and baselines). */
export const LATENCY_TABLE_KEYS = new Set<keyof LatencyStats>([
  'count',
  'p50Ns',
  'p90Ns',
  'p99Ns',
  'maxNs',
  'meanWork',
  'p99Work',
  'maxWork',
  'modelMeanNs',
  'modelP99Ns',
]);

/** Whether a latency column has a value in this run (wall columns need timing). */
export function latencyShown(r: ReplayResult, op: (typeof LATENCY_OPS)[number], key: keyof LatencyStats): boolean {
  const wall = LATENCY_COLUMNS.find((c) => c.key === key)?.wall ?? false;
  return key === 'count' || (r.latency[op].count > 0 && (r.options.timing || !wall));
}

export const LATENCY_FIGURES: readonly Figure[] = LATENCY_OPS.flatMap((op) =>
  LATENCY_COLUMNS.map((c) =>
    figure('Latency', `latency.${op}.${c.key}`, `${op} ${c.label}`, c.unit, c.key === 'count' ? null : 'lower', (r) => r.latency[op][c.key], {
      shown: (r) => latencyShown(r, op, c.key),
      role: c.wall ? 'wall' : c.key === 'count' ? 'identity' : undefined,
      hidden: c.key === 'count' || !LATENCY_TABLE_KEYS.has(c.key),
    }),
  ),
);

class OpStats {
  readonly ns = new Histogram();
  readonly work = new Histogram();
  readonly model = new Histogram();

  add(timed: boolean, ns: number, work: number, model: number): void {
    if (timed) this.ns.add(ns);
    this.work.add(work);
    this.model.add(model);
  }

  result(): LatencyStats {
    return {
      count: this.work.count,
      p50Ns: Math.round(this.ns.quantile(0.5)),
      p90Ns: Math.round(this.ns.quantile(0.9)),
      p99Ns: Math.round(this.ns.quantile(0.99)),
      maxNs: Math.round(this.ns.max),
      meanNs: Math.round(this.ns.mean),
      meanWork: this.work.mean,
      p99Work: this.work.quantile(0.99),
      maxWork: this.work.max,
      modelMeanNs: Math.round(this.model.mean),
      modelP99Ns: Math.round(this.model.quantile(0.99)),
      modelMaxNs: Math.round(this.model.max),
    };
  }
}

export class LatencyMeter implements Meter {
  /** Indexed by op code: alloc, free, scavenge. */
  private readonly stats = [new OpStats(), new OpStats(), new OpStats()];

  event(e: EventRecord): void {
    if (e.op <= OP_SCAVENGE) this.stats[e.op].add(e.timed, e.wallNs, e.work, e.modelNs);
  }

  contribute(r: ReplayResult): void {
    r.latency = { alloc: this.stats[OP_ALLOC].result(), free: this.stats[OP_FREE].result(), scavenge: this.stats[OP_SCAVENGE].result() };
  }
}
