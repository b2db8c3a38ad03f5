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
  create(ctx: PolicyContext, options: PolicyOptions): ReleasePolicy;
}

export const POLICIES: PolicyInfo[] = [
  { name: 'trace', summary: "the trace's own scavenge rows, nothing else (replays what the recorded runtime did)", create: (c) => new TracePolicy(c) },
  { name: 'none', summary: 'never release, not even on FreeOSMemory (the upper bound)', create: (c) => new NoReleasePolicy(c) },
  { name: 'go1.11', summary: 'Go 1.8-1.11: sysmon releases spans idle > 5 min, every 2.5 min', create: (c) => new Go111Policy(c) },
  {
    name: 'go1.12',
    summary: 'go1.11 + scavengeLargest on heap growth and inline when an allocation reuses released memory',
    create: (c) => new Go112Policy(c),
  },
  {
    name: 'go1.13',
    summary: 'background scavenger paced at 1 page/ms to the heap goal + 10%; scavenge on growth/reuse only over the goal',
    create: (c) => new Go113Policy(c),
  },
  {
    name: 'go1.19',
    summary:
      "Go 1.19.8's background scavenger: 1 ms batches of 64 KiB calls, sleeps set by its PI controller (1% of GOMAXPROCS CPUs, cooldown), woken at each gc row, " +
      'down to the heap goal + 10% (with heap minimum and memory-limit goal); scavenging on growth; the memory limit held on the allocation path. ' +
      'Leaves out: the GC CPU limiter, stacks and globals in the heap goal, the limit moving GC cycles, timer slack, the wake-up delay after sweeping',
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
