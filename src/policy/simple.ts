// The two reference policies: the trace's own releases, and none at all.

import { PolicyBase } from './types.js';

/** `trace`: the trace's scavenge rows are the release requests, nothing else. */
export class TracePolicy extends PolicyBase {
  readonly name = 'trace';
  override onScavengeRow(t: number, bytes: number): number {
    return bytes < 0 ? this.ctx.release(t, -1, 'explicit') : this.ctx.release(t, bytes, 'trace');
  }
}

/** `none`: never release (the upper bound on RSS); FreeOSMemory is ignored too. */
export class NoReleasePolicy extends PolicyBase {
  readonly name = 'none';
  override onScavengeRow(): number {
    return 0;
  }
}
