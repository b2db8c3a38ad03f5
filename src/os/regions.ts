// Address-space regions: which ranges are reserved (PROT_NONE) and which are mapped.
//
// Invariants: regions are sorted, disjoint, non-empty half-open ranges [start, end);
// two adjacent regions never share a state (they are merged). A process has a few
// dozen mappings at most, so a sorted array with linear edits is the right size of
// tool; lookups are binary searches with a one-entry cache for the hot touch path.

export const UNMAPPED = 0;
export const RESERVED = 1;
export const MAPPED = 2;
export type RegionState = 0 | 1 | 2;

export interface Region {
  start: number;
  end: number;
  state: RegionState;
}

export class RegionMap {
  private regions: Region[] = [];

  /** Bytes in regions of the given state. */
  bytesIn(state: RegionState): number {
    let n = 0;
    for (const r of this.regions) if (r.state === state) n += r.end - r.start;
    return n;
  }

  list(): readonly Region[] {
    return this.regions;
  }

  /** Bytes of [start, end) whose state differs from `state` and is UNMAPPED. */
  unmappedBytes(start: number, end: number): number {
    let covered = 0;
    for (const r of this.regions) {
      const a = Math.max(r.start, start);
      const b = Math.min(r.end, end);
      if (a < b) covered += b - a;
    }
    return end - start - covered;
  }

  /** Index of the first region that ends after `addr` (the list's length if none). */
  indexEndingAfter(addr: number): number {
    const rs = this.regions;
    let lo = 0;
    let hi = rs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (rs[mid].end <= addr) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The region holding `addr`; the caller knows there is one. */
  regionAt(addr: number): Region {
    return this.regions[this.indexEndingAfter(addr)];
  }

  /** True when all of [start, end) is in `state`. */
  covers(start: number, end: number, state: RegionState): boolean {
    const rs = this.regions;
    let at = start;
    for (let i = this.indexEndingAfter(start); i < rs.length && at < end; i++) {
      const r = rs[i];
      if (r.start > at || r.state !== state) return false;
      at = r.end;
    }
    return at >= end;
  }

  /** Sets [start, end) to `state`, splitting and merging neighbours. */
  set(start: number, end: number, state: RegionState): void {
    if (start >= end) return;
    if (state !== UNMAPPED && this.setInGap(start, end, state)) return;
    const out: Region[] = [];
    for (const r of this.regions) {
      if (r.end <= start || r.start >= end) {
        out.push(r);
        continue;
      }
      if (r.start < start) out.push({ start: r.start, end: start, state: r.state });
      if (r.end > end) out.push({ start: end, end: r.end, state: r.state });
    }
    if (state !== UNMAPPED) out.push({ start, end, state });
    out.sort((a, b) => a.start - b.start);
    const merged: Region[] = [];
    for (const r of out) {
      const last = merged[merged.length - 1];
      if (last && last.end === r.start && last.state === r.state) last.end = r.end;
      else merged.push({ ...r });
    }
    this.regions = merged;
  }

  /**
   * set() for a range in a gap between regions (each mmap a heap of 16 TiB makes: a
   * quarter of a million arena records placed one below the other): joins a neighbour of
   * the same state or is inserted, with the result set()'s general path would give.
   * False, changing nothing, when the range overlaps a region.
   */
  private setInGap(start: number, end: number, state: RegionState): boolean {
    const rs = this.regions;
    const i = this.indexEndingAfter(start);
    if (i < rs.length && rs[i].start < end) return false;
    const before = i > 0 ? rs[i - 1] : undefined;
    const after = i < rs.length ? rs[i] : undefined;
    const joinBefore = before !== undefined && before.end === start && before.state === state;
    const joinAfter = after !== undefined && after.start === end && after.state === state;
    if (joinBefore && joinAfter) {
      before.end = after.end;
      rs.splice(i, 1);
    } else if (joinBefore) before.end = end;
    else if (joinAfter) after.start = start;
    else rs.splice(i, 0, { start, end, state });
    return true;
  }
}
