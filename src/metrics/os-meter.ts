// The OS meter: the system calls the heap made and the page faults the program took,
// as the simulated OS counted them. It reads the OS's counters once, at the end: the
// OS layer is the one owner of these numbers, so the meter keeps no copy.

import { figure, type Figure, type Meter, type ReplayState } from './meter.js';
import type { ReplayResult } from '../replay/result.js';

export const OS_FIGURES: readonly Figure[] = [
  figure('Summary', 'summary.madviseCalls', 'madvise calls', 'count', 'lower', (r) => r.summary.madviseCalls),
  figure('Summary', 'summary.mmapCalls', 'mmap calls', 'count', 'lower', (r) => r.summary.mmapCalls),
  figure('Summary', 'summary.munmapCalls', 'munmap calls', 'count', 'lower', (r) => r.summary.munmapCalls, { hidden: true }),
  figure('Summary', 'summary.pageFaults', 'page faults', 'count', 'lower', (r) => r.summary.pageFaults),
  figure('Summary', 'summary.refaults', 're-faults of released pages', 'count', 'lower', (r) => r.summary.refaults),
  figure('Summary', 'summary.hugePageFaults', 'huge page faults (THP, 2 MiB each)', 'count', null, (r) => r.summary.hugePageFaults, {
    shown: (r) => r.options.thp !== 'never',
  }),
];

export class OsMeter implements Meter {
  constructor(private readonly state: ReplayState) {}

  contribute(r: ReplayResult): void {
    const os = this.state.os;
    const s = r.summary;
    s.mmapCalls = os.mmapCalls;
    s.madviseCalls = os.madviseCalls;
    s.munmapCalls = os.munmapCalls;
    s.pageFaults = os.pageFaults;
    s.hugePageFaults = os.hugeFaults;
    s.refaults = os.refaults;
  }
}
