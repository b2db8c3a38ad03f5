// Release policies by Go version. A policy decides when to release and how much; the
// backend decides which pages (see types.ts for the seam).

import { UsageError } from '../errors.js';
import { Go111Policy, Go112Policy } from './go111.js';
import { Go113Policy } from './go113.js';
import { Go119Policy } from './go119.js';
import { NoReleasePolicy, TracePolicy } from './simple.js';
import type { PolicyContext, ReleasePolicy } from './types.js';

export { TRIGGERS, TRIGGER_DOC, heapGoalBytes, type PolicyContext, type ReleasePolicy, type Trigger } from './types.js';

export interface PolicyOptions {
  /** The memory limit at start (--memory-limit); `limit` rows change it. */
  memoryLimitBytes?: number;
}

export interface PolicyInfo {
  name: string;
  summary: string;
  /** What of its Go version's release behaviour the policy models (`heapsim policies`). */
  models: string;
  /** What it leaves out. */
  leavesOut: string;
  create(ctx: PolicyContext, options: PolicyOptions): ReleasePolicy;
}

export const POLICIES: PolicyInfo[] = [
  {
    name: 'trace',
    summary: "the trace's own scavenge rows, nothing else (replays what the recorded runtime did)",
    models: "each scavenge row as a release of its bytes in the backend's page order; an empty row as debug.FreeOSMemory",
    leavesOut: 'which pages the recorded runtime released (the backend picks), and any release the recorder did not see',
    create: (c) => new TracePolicy(c),
  },
  {
    name: 'none',
    summary: 'never release, not even on FreeOSMemory (the upper bound)',
    models: 'nothing: every page stays retained',
    leavesOut: 'every release, FreeOSMemory included',
    create: (c) => new NoReleasePolicy(c),
  },
  {
    name: 'go1.11',
    summary: 'Go 1.8-1.11: sysmon releases spans idle > 5 min, every 2.5 min',
    models:
      "sysmon's scavenge every 2.5 min of spans unused for over 5 min (scavengelimit), skipping spans already wholly released; FreeOSMemory releases every free span",
    leavesOut:
      "sysmon's 10 ms tick jitter (the pass runs 1 ns after its deadline), forced GCs every 2 min, and the OS-level effects of Go 1.8-1.11 forgetting a trimmed span's released pages (heapsim's span heaps keep the count)",
    create: (c) => new Go111Policy(c),
  },
  {
    name: 'go1.12',
    summary: 'go1.11 + scavengeLargest on heap growth and inline when an allocation reuses released memory',
    models:
      "Go 1.12.0 (era backend treap-go1.12): go1.11's sysmon pass (scavengeAll), plus scavengeLargest(grown bytes) in mheap.grow before the new arena joins, and scavengeLargest(npages) inside an allocation that took a scavenged span (commit 8e093e7, the Go issue 31678 regression), both counted in the allocation's latency",
    leavesOut:
      "Go 1.12.5's scavenge credit and the later 1.12.x removal of scavenging on reuse, heap-lock contention (the 31678 slowdown came from other Ps waiting on the lock: heapsim has one thread and shows the inline work, not the queue), and the GC's own pacing (the trace's gc rows say when it ran)",
    create: (c) => new Go112Policy(c),
  },
  {
    name: 'go1.13',
    summary: 'background scavenger paced by huge page and by page to next_gc + 10%; scavenge on growth/reuse only over the goal',
    models:
      "Go 1.13.0 (era backend treap-aoff): gcPaceScavenger after gcinit and every GC, goal next_gc + retainExtraPercent (10%) from heapminimum on; the background scavenger's line with free unscavenged huge pages (2 MiB) and regular pages charged 1 ms each, so huge-page work goes 512x faster; scavengeIfNeededLocked on growth and when an allocation reuses scavenged memory; FreeOSMemory releases everything",
    leavesOut:
      "the scavenger's sleeps and exponential retry back-off (it works at each 100 ms step of simulated time), the 1.13.x backports (goal from heap_inuse, no scavenging on reuse), heap-lock contention, and huge pages on backends that do not count them (bitmap paces by 4 KiB page)",
    create: (c) => new Go113Policy(c),
  },
  {
    name: 'go1.19',
    summary:
      "Go 1.19.8's background scavenger (1 ms batches, PI-controlled sleeps at 1% CPU) to the goal + 10%, scavenge on growth, memory limit held on the allocation path",
    models:
      "Go 1.19.8: the background scavenger's 1 ms batches of 64 KiB calls and its sleeps set by the PI controller (1% of GOMAXPROCS CPUs, cooldown), sleeps lasting as Linux epoll timers do (whole ms, 147 us late), woken 5.6 ms after each gc row (the end of the sweep, via sysmon; measured); the gcPercent goal (heap_inuse scaled by the heap goal, with the heap minimum and the memory-limit heap goal, + 10%) and the memory-limit goal as shipped; growth scavenging over the goal and the limit held inline on the allocation path",
    leavesOut:
      'the GC CPU limiter, stacks and globals in the heap goal, the limit moving GC cycles, sweeps of varying length (one measured wake-up delay), timers a busy P fires sooner, non-heap memory in mappedReady',
    create: (c, o) => new Go119Policy(c, o.memoryLimitBytes ?? Infinity),
  },
];

export const POLICY_NAMES = POLICIES.map((p) => p.name);

export function findPolicy(name: string): PolicyInfo {
  const p = POLICIES.find((x) => x.name === name);
  if (p === undefined) throw new UsageError(`unknown policy "${name}" (known: ${POLICY_NAMES.join(', ')})`);
  return p;
}

export function createPolicy(name: string, ctx: PolicyContext, options: PolicyOptions = {}): ReleasePolicy {
  return findPolicy(name).create(ctx, options);
}
