// The release-match meter: under the `trace` policy, does the backend release exactly the
// range the recorded runtime released? A `scavenge` row with an `addr` cell says the real
// scavenger released [addr, addr+bytes) in one go; the row matches when replaying it made
// the backend release that one range, in one OS call, and nothing else. releaseMatch is
// the share of such rows that matched (null under other policies, whose releases are not
// the trace's, and when the trace gives no release addresses); the first miss is kept.
//
// It reads the simulated OS's release counter and last released range (SimOS) around
// each row: no allocation per event.

import { OP_SCAVENGE } from '../trace/events.js';
import { figure, type EventRecord, type Figure, type Meter, type ReplayState } from './meter.js';
import type { ReplayResult } from '../replay/result.js';

export const RELEASE_MATCH_FIGURES: readonly Figure[] = [
  figure('Summary', 'summary.releaseMatch', 'release match (vs trace)', 'ratio', 'higher', (r) => r.summary.releaseMatch, {
    shown: (r) => r.summary.releaseMatch !== null,
  }),
  figure('Summary', 'summary.releaseChecked', 'scavenge rows with a recorded address', 'count', null, (r) => r.summary.releaseChecked, {
    role: 'identity',
    hidden: true,
  }),
];

export class ReleaseMatchMeter implements Meter {
  private checked = 0;
  private matched = 0;
  private callsBefore = 0;
  private firstMiss: ReplayResult['summary']['firstReleaseMiss'] = null;

  constructor(private readonly state: ReplayState) {}

  before(e: EventRecord): void {
    if (e.op === OP_SCAVENGE) this.callsBefore = this.state.os.releaseCalls;
  }

  event(e: EventRecord): void {
    if (e.op !== OP_SCAVENGE || e.traceAddr < 0) return;
    const os = this.state.os;
    this.checked++;
    const one = os.releaseCalls === this.callsBefore + 1;
    if (one && os.lastReleaseBase === e.traceAddr && os.lastReleaseBytes === e.bytes && e.releasedBytes === e.bytes) this.matched++;
    else if (this.firstMiss === null) {
      this.firstMiss = { seq: e.seq, line: e.line, want: e.traceAddr, wantBytes: e.bytes, got: one ? os.lastReleaseBase : -1, gotBytes: e.releasedBytes };
    }
  }

  contribute(r: ReplayResult): void {
    const s = r.summary;
    const applies = r.policy === 'trace' && this.checked > 0;
    s.releaseMatch = applies ? this.matched / this.checked : null;
    s.releaseChecked = this.checked;
    s.firstReleaseMiss = applies ? this.firstMiss : null;
  }
}
