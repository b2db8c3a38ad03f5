// The release meter: what went back to the OS, why, and at what modelled CPU cost.
//
// Every release a policy makes arrives here with its trigger (src/policy/types.ts
// TRIGGERS), so the bytes, calls and modelled CPU time are kept per trigger; their sum
// is what the runtime released by its own count. The OS's own count (osReleasedBytes)
// can differ: the OS rounds a release to whole physical pages and counts a page released
// twice twice. Allocations that reuse released pages fault them back in: that is
// scavengedBytesReused, the price of releasing memory the program needed again.
// releaseCpuShare is release CPU / (trace duration + release CPU): at most 1 whatever the
// trace's time axis.

import { OP_ALLOC } from '../trace/events.js';
import { TRIGGERS, type Trigger } from '../policy/types.js';
import { figure, type EventRecord, type Figure, type Meter, type ReleaseRecord, type ReplayState } from './meter.js';
import type { ReplayResult } from '../replay/result.js';

const cpuShown = (r: ReplayResult) => r.summary.scavengerCpuNs > 0;

export const RELEASE_FIGURES: readonly Figure[] = [
  figure('Summary', 'summary.releasedBytes', 'released (runtime count)', 'bytes', null, (r) => r.summary.releasedBytes),
  figure('Summary', 'summary.runtimeReleasedBytes', 'released, runtime view at end', 'bytes', null, (r) => r.summary.runtimeReleasedBytes),
  figure('Summary', 'summary.osReleasedBytes', 'released, OS count (physical pages)', 'bytes', null, (r) => r.summary.osReleasedBytes, { hidden: true }),
  figure('Summary', 'summary.scavengedBytesReused', 'released bytes reused (faulted back in)', 'bytes', null, (r) => r.summary.scavengedBytesReused, {
    hidden: true,
  }),
  ...TRIGGERS.flatMap((t) => [
    // A trigger that never fired released 0 bytes in 0 calls: baselines keep the zeros, so
    // a trigger that starts firing is compared (tables show only the triggers that fired).
    figure('Releases', `releases.${t}.bytes`, `released: ${t}`, 'bytes', null, (r) => r.summary.releases[t]?.bytes ?? 0, {
      shown: (r) => t in r.summary.releases,
    }),
    figure('Releases', `releases.${t}.calls`, `release calls: ${t}`, 'count', 'lower', (r) => r.summary.releases[t]?.calls ?? 0, { hidden: true }),
    figure('Releases', `releases.${t}.modelNs`, `release CPU: ${t}`, 'ns', 'lower', (r) => r.summary.releases[t]?.modelNs ?? 0, { hidden: true }),
  ]),
  figure('Releases', 'summary.scavengerCpuNs', 'release CPU (modelled)', 'ns', 'lower', (r) => r.summary.scavengerCpuNs, { shown: cpuShown }),
  figure(
    'Releases',
    'summary.releaseCpuShare',
    'release CPU share of one CPU (of trace time + release CPU)',
    'ratio',
    'lower',
    (r) => r.summary.releaseCpuShare,
    {
      shown: cpuShown,
    },
  ),
];

/** Per trigger: bytes released, calls, modelled CPU time. */
class TriggerStats {
  bytes = 0;
  calls = 0;
  modelNs = 0;
}

export class ReleaseMeter implements Meter {
  private readonly byTrigger = new Map<Trigger, TriggerStats>(TRIGGERS.map((t) => [t, new TriggerStats()]));
  private releasedBytes = 0;
  private scavengedPagesReused = 0;

  constructor(private readonly state: ReplayState) {}

  event(e: EventRecord): void {
    if (e.op === OP_ALLOC) this.scavengedPagesReused += e.scavengedPages;
  }

  release(r: ReleaseRecord): void {
    const st = this.byTrigger.get(r.trigger) as TriggerStats;
    st.bytes += r.bytes;
    st.calls++;
    st.modelNs += r.modelNs;
    this.releasedBytes += r.bytes;
  }

  contribute(r: ReplayResult): void {
    const s = r.summary;
    const { os, heap, pageBytes: pb } = this.state;
    let cpuNs = 0;
    s.releases = {};
    for (const [t, st] of this.byTrigger) {
      cpuNs += st.modelNs;
      if (st.calls > 0) s.releases[t] = { bytes: st.bytes, calls: st.calls, modelNs: Math.round(st.modelNs) };
    }
    s.releasedBytes = this.releasedBytes;
    s.runtimeReleasedBytes = heap.releasedPages * pb;
    s.osReleasedBytes = os.releasedBytes;
    s.scavengedBytesReused = this.scavengedPagesReused * pb;
    s.scavengerCpuNs = Math.round(cpuNs);
    // The trace's clock did not include this replay's releases, so the run lasts at least
    // trace time + release CPU on one CPU: the share is of that, and never exceeds 1.
    const runNs = s.traceDurationNs + cpuNs;
    s.releaseCpuShare = runNs > 0 ? cpuNs / runNs : null;
  }
}
