// Free stamps for the bitmap backend's idle release (a go1.11-style what-if): per 4 MiB
// chunk, the trace time a page in it was last freed, kept as runs of chunks sharing a
// stamp so that freeing a 16 TiB span records one run, not four million entries.
//
// Invariants: runs are sorted by chunk index, non-empty and disjoint ([first, end),
// half-open); a chunk in no run has no stamp. Stamping overwrites, splitting the runs
// it cuts. Expiry visits runs in address order and counts one work unit per chunk, as a
// per-chunk table would.

export class FreeStamps {
  private first: number[] = [];
  private end: number[] = [];
  private at: number[] = [];

  /** Chunks [first, end) were freed at time t. */
  stamp(first: number, end: number, t: number): void {
    const n = this.end.length;
    // The first run ending after `first`.
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.end[mid] > first) hi = mid;
      else lo = mid + 1;
    }
    const i = lo;
    if (i < n && this.first[i] === first && this.end[i] === end) {
      this.at[i] = t;
      return;
    }
    let j = i;
    while (j < n && this.first[j] < end) j++;
    // The runs [i, j) overlap: keep the parts sticking out on either side.
    const leftFirst = i < j && this.first[i] < first ? this.first[i] : first;
    const leftAt = i < j ? this.at[i] : t;
    const rightEnd = i < j && this.end[j - 1] > end ? this.end[j - 1] : end;
    const rightAt = i < j ? this.at[j - 1] : t;
    this.replace(i, j - i, first, end, t);
    if (leftFirst < first) this.replace(i, 0, leftFirst, first, leftAt);
    if (rightEnd > end) this.replace(i + (leftFirst < first ? 2 : 1), 0, end, rightEnd, rightAt);
  }

  /** Replaces `count` runs from index i by the one run [first, end) at t. */
  private replace(i: number, count: number, first: number, end: number, t: number): void {
    this.first.splice(i, count, first);
    this.end.splice(i, count, end);
    this.at.splice(i, count, t);
  }

  /**
   * Forgets every chunk stamped before cutoff, calling expired(ci) for each in address
   * order; returns the chunks looked at (stamped ones, expired or not).
   */
  expire(cutoff: number, expired: (ci: number) => void): number {
    let looked = 0;
    let kept = 0;
    for (let r = 0; r < this.end.length; r++) {
      looked += this.end[r] - this.first[r];
      if (this.at[r] < cutoff) {
        for (let ci = this.first[r]; ci < this.end[r]; ci++) expired(ci);
        continue;
      }
      this.first[kept] = this.first[r];
      this.end[kept] = this.end[r];
      this.at[kept] = this.at[r];
      kept++;
    }
    this.first.length = this.end.length = this.at.length = kept;
    return looked;
  }
}
