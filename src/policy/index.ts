// Release policies decide when, and how many bytes, to release; the backend decides
// which pages. The engine calls a policy at the events it may react to.

import { UsageError } from '../errors.js';

export interface ReleasePolicy {
  readonly name: string;
  /**
   * A `scavenge` row asked for `bytes` (-1: everything, debug.FreeOSMemory). Returns the
   * bytes to release now: -1 for everything, 0 for nothing.
   */
  onScavengeRow(bytes: number): number;
}

/** `trace`: the trace's own scavenge rows are the release requests, nothing else. */
export class TracePolicy implements ReleasePolicy {
  readonly name = 'trace';
  onScavengeRow(bytes: number): number {
    return bytes;
  }
}

/** `none`: never release (the upper bound on RSS); FreeOSMemory is ignored too. */
export class NoReleasePolicy implements ReleasePolicy {
  readonly name = 'none';
  onScavengeRow(): number {
    return 0;
  }
}

export const POLICY_NAMES = ['trace', 'none'] as const;

export function createPolicy(name: string): ReleasePolicy {
  switch (name) {
    case 'trace':
      return new TracePolicy();
    case 'none':
      return new NoReleasePolicy();
    default:
      throw new UsageError(`unknown policy "${name}" (known: ${POLICY_NAMES.join(', ')})`);
  }
}
