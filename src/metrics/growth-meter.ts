// The growth meter: how many allocations found no free run big enough and had to grow
// the heap (map more memory from the OS first). Growth is the slow path of every era's
// allocator — a system call, new metadata, often a scavenge (Go 1.12-1.19 scavenge on
// growth) — so a backend that places spans more tightly grows less often. It compares
// the heap's size before and after each allocation.

import { OP_ALLOC } from '../trace/events.js';
import { figure, type EventRecord, type Figure, type Meter, type ReplayState } from './meter.js';
import type { ReplayResult } from '../replay/result.js';

export const GROWTH_FIGURES: readonly Figure[] = [
  figure('Summary', 'summary.growthAllocs', 'allocations that grew the heap', 'count', 'lower', (r) => r.summary.growthAllocs),
];

export class GrowthMeter implements Meter {
  private heapPagesBefore = 0;
  private growthAllocs = 0;

  constructor(private readonly state: ReplayState) {}

  before(e: EventRecord): void {
    if (e.op === OP_ALLOC) this.heapPagesBefore = this.state.heap.heapPages;
  }

  event(e: EventRecord): void {
    if (e.op === OP_ALLOC && this.state.heap.heapPages > this.heapPagesBefore) this.growthAllocs++;
  }

  contribute(r: ReplayResult): void {
    r.summary.growthAllocs = this.growthAllocs;
  }
}
