// go1.11 (also Go 1.8-1.10) and go1.12: release by idle time, from sysmon.
//
// Go 1.8-1.12 had no scavenger goroutine. sysmon (proc.go) started with
// lastscavenge = nanotime() and, on any tick where lastscavenge + scavengelimit/2 < now,
// called mheap_.scavenge(k, now, scavengelimit) and set lastscavenge = now, with
// scavengelimit = 5 minutes: so every 2.5 minutes it released each free span for which
// now - s.unusedsince > 5 minutes (scavengelist / scavengetreap in Go 1.11 mheap.go,
// scavengeAll in Go 1.12), skipping spans already wholly released. sysmon ticks at most
// 10 ms apart, so the pass is modelled at the first nanosecond past the deadline, the
// earliest time the strict `<` admits. debug.FreeOSMemory ran a GC and then
// mheap_.scavenge(-1, ^uint64(0), 0): every free span.
//
// Go 1.12.0 added two scavenges on the allocation path, both mheap.scavengeLargest
// (largest free spans first) with the heap lock held:
// - mheap.grow: scavengeLargest(size) before the new arena is freed into the heap, as
//   many bytes as the heap grew;
// - allocSpanLocked: when the span it took was scavenged, after trimming, it sysUsed it
//   and called scavengeLargest(s.npages * pageSize) "to make up for" the RSS it grew.
// The second put madvise calls on the allocation path under the heap lock, and raised
// Kubernetes' p99 API latency 3-4x (Go issue 31678, bisected to commit 8e093e7); Go
// 1.12.5 softened it with a scavenge credit (issue 31679), which this policy, modelling
// 1.12.0, does not have. Both triggers run inside the allocation the engine measures,
// so their madvise calls land in the alloc latency tail. go1.12's era backend is
// treap-go1.12 (src/heap/treap-go112): scavengeLargest releases whole unscavenged spans
// there, and a release never counts pages already released (issue 13's runaway came
// from a heap that forgot a trimmed tail was released).

import { PolicyBase, type PolicyContext } from './types.js';

/** scavengelimit: a span must have been unused for longer than this. */
export const SCAVENGE_IDLE_NS = 5 * 60e9;
/** sysmon scavenges once lastscavenge + scavengelimit/2 has passed. */
export const SCAVENGE_PERIOD_NS = SCAVENGE_IDLE_NS / 2;

export class Go111Policy extends PolicyBase {
  readonly name: string = 'go1.11';
  private lastScavenge = NaN;

  constructor(ctx: PolicyContext) {
    super(ctx);
  }

  override advance(t: number): void {
    if (Number.isNaN(this.lastScavenge)) {
      // sysmon starts with the program: the trace's first event.
      this.lastScavenge = t;
      return;
    }
    while (this.lastScavenge + SCAVENGE_PERIOD_NS < t) {
      const now = this.lastScavenge + SCAVENGE_PERIOD_NS + 1;
      // Released when now - unusedsince > limit, i.e. unusedsince < now - limit.
      this.ctx.releaseIdle(now, now - SCAVENGE_IDLE_NS, 'periodic');
      this.lastScavenge = now;
    }
  }
}

export class Go112Policy extends Go111Policy {
  override readonly name = 'go1.12';

  override onGrow(t: number, grownBytes: number): void {
    this.ctx.release(t, grownBytes, 'growth');
  }

  override afterAlloc(t: number, npages: number, scavengedBytes: number): void {
    if (scavengedBytes > 0) this.ctx.release(t, npages * this.ctx.pageBytes, 'reuse');
  }
}
