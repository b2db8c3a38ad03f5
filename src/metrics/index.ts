// The meter registry: every figure meter in the order it contributes to the result (a
// meter may read what an earlier one wrote), and every figure they declare, in the order
// tables show them. Adding a figure: write a meter (meter.ts says how), add it here.

import type { Figure, Meter, ReplayState } from './meter.js';
import { TRACE_FIGURES, TraceMeter } from './trace-meter.js';
import { MEMORY_FIGURES, MemoryMeter } from './memory-meter.js';
import { RELEASE_FIGURES, ReleaseMeter } from './release-meter.js';
import { RELEASE_CURVE_FIGURES, ReleaseCurveMeter } from './release-curve-meter.js';
import { OS_FIGURES, OsMeter } from './os-meter.js';
import { ADDRESS_FIGURES, AddressMeter } from './address-meter.js';
import { RELEASE_MATCH_FIGURES, ReleaseMatchMeter } from './release-match-meter.js';
import { LIMIT_FIGURES, LimitMeter } from './limit-meter.js';
import { FRAGMENTATION_FIGURES, FragmentationMeter } from './fragmentation-meter.js';
import { LATENCY_FIGURES, LatencyMeter } from './latency-meter.js';
import { GROWTH_FIGURES, GrowthMeter } from './growth-meter.js';
import { RSS_FIGURES, RssMeter } from './rss-meter.js';
import { GAP_FIGURES, GapMeter } from './gap-meter.js';

export interface MeterDef {
  name: string;
  figures: readonly Figure[];
  create(state: ReplayState, options: { recordAddrs: boolean }): Meter;
}

export const METERS: readonly MeterDef[] = [
  { name: 'trace', figures: TRACE_FIGURES, create: (s) => new TraceMeter(s) },
  { name: 'memory', figures: MEMORY_FIGURES, create: (s) => new MemoryMeter(s) },
  { name: 'release', figures: RELEASE_FIGURES, create: (s) => new ReleaseMeter(s) },
  { name: 'releaseCurve', figures: RELEASE_CURVE_FIGURES, create: () => new ReleaseCurveMeter() },
  { name: 'os', figures: OS_FIGURES, create: (s) => new OsMeter(s) },
  { name: 'growth', figures: GROWTH_FIGURES, create: (s) => new GrowthMeter(s) },
  { name: 'rss', figures: RSS_FIGURES, create: (s) => new RssMeter(s) },
  { name: 'address', figures: ADDRESS_FIGURES, create: (_s, o) => new AddressMeter(o.recordAddrs) },
  { name: 'release-match', figures: RELEASE_MATCH_FIGURES, create: (s) => new ReleaseMatchMeter(s) },
  { name: 'limit', figures: LIMIT_FIGURES, create: (s) => new LimitMeter(s) },
  { name: 'fragmentation', figures: FRAGMENTATION_FIGURES, create: (s) => new FragmentationMeter(s) },
  { name: 'gap', figures: GAP_FIGURES, create: (s) => new GapMeter(s) },
  { name: 'latency', figures: LATENCY_FIGURES, create: () => new LatencyMeter() },
];

/** Every declared figure, in registry order. */
export const FIGURES: readonly Figure[] = METERS.flatMap((m) => m.figures);

export function findFigure(key: string): Figure | undefined {
  return FIGURES.find((f) => f.key === key);
}

export { type Figure, type Meter, type ReplayState, type EventRecord, type ReleaseRecord, type Unit, type Section } from './meter.js';
