// The address meter: does the backend put each span where the recorded program's
// runtime put it? On an `alloc` row with an `addr` cell, the backend's address is
// compared with the trace's. addrMatch is the share that matched (null when the trace
// gives no addresses); the first miss is kept with its line, to start a diagnosis.
//
// With `record` on, it also keeps every allocation's address in trace order, for
// compare's placementMatch between backends (an 8-byte double per allocation).

import { OP_ALLOC } from '../trace/events.js';
import { figure, type EventRecord, type Figure, type Meter } from './meter.js';
import type { ReplayResult } from '../replay/result.js';
import { grownFor } from '../util/grow.js';

export const ADDRESS_FIGURES: readonly Figure[] = [
  figure('Summary', 'summary.addrMatch', 'addr match (vs trace)', 'ratio', 'higher', (r) => r.summary.addrMatch),
  figure('Summary', 'summary.addrChecked', 'allocations with a recorded address', 'count', null, (r) => r.summary.addrChecked, {
    role: 'identity',
    hidden: true,
  }),
];

export class AddressMeter implements Meter {
  private checked = 0;
  private matched = 0;
  private firstMiss: ReplayResult['summary']['firstAddrMiss'] = null;
  private addrs = new Float64Array(0);
  private naddrs = 0;

  constructor(private readonly record = false) {
    if (record) this.addrs = new Float64Array(1024);
  }

  event(e: EventRecord): void {
    if (e.op !== OP_ALLOC) return;
    if (this.record) this.keep(e.addr);
    if (e.traceAddr < 0) return;
    this.checked++;
    if (e.traceAddr === e.addr) this.matched++;
    else if (this.firstMiss === null) this.firstMiss = { seq: e.seq, line: e.line, want: e.traceAddr, got: e.addr };
  }

  private keep(addr: number): void {
    if (this.naddrs === this.addrs.length) this.addrs = grownFor(this.addrs, this.naddrs);
    this.addrs[this.naddrs++] = addr;
  }

  /** Every allocation's address in trace order (empty unless recording). */
  get addresses(): Float64Array {
    return this.addrs.subarray(0, this.naddrs);
  }

  contribute(r: ReplayResult): void {
    const s = r.summary;
    s.addrMatch = this.checked > 0 ? this.matched / this.checked : null;
    s.addrChecked = this.checked;
    s.firstAddrMiss = this.firstMiss;
  }
}
