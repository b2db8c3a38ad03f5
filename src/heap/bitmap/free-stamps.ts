// Free stamps for the bitmap backend's idle release (a go1.11-style what-if): per 4 MiB
// chunk, the trace time a page in it was last freed.
//
// Kept in blocks of BLOCK_CHUNKS chunks (the chunk map's second level, 32 GiB of address
// space): a block is either one stamp shared by all its chunks, so that freeing a 16 TiB
// span records 512 stamps, not four million, or an array of one stamp per chunk, made
// when a stamp covers part of the block. Stamping a few chunks of a heap with millions
// of stamped chunks is thus a constant-time write, not a shift of a sorted list.
//
// Invariants: NO_STAMP (NaN) is "never freed, or expired"; a block's array, when it has
// one, holds its chunks' stamps and its shared stamp is unused. Expiry visits chunks in
// address order and counts one work unit per stamped chunk, as a per-chunk table would.

const BLOCK_BITS = 13;
const BLOCK_CHUNKS = 1 << BLOCK_BITS;
const NO_STAMP = NaN;

export class FreeStamps {
  /** Per block: the stamp all its chunks share (when it has no array). */
  private readonly shared: number[] = [];
  /** Per block: its chunks' stamps, once a stamp covered part of it. */
  private readonly perChunk: (Float64Array | undefined)[] = [];

  /** Chunks [first, end) were freed at time t. */
  stamp(first: number, end: number, t: number): void {
    for (let b = first >>> BLOCK_BITS; b <= (end - 1) >>> BLOCK_BITS; b++) {
      const lo = Math.max(first, b * BLOCK_CHUNKS) - b * BLOCK_CHUNKS;
      const hi = Math.min(end, (b + 1) * BLOCK_CHUNKS) - b * BLOCK_CHUNKS;
      while (this.shared.length <= b) this.shared.push(NO_STAMP);
      if (lo === 0 && hi === BLOCK_CHUNKS) {
        this.perChunk[b] = undefined;
        this.shared[b] = t;
        continue;
      }
      let chunks = this.perChunk[b];
      if (chunks === undefined) {
        chunks = new Float64Array(BLOCK_CHUNKS).fill(this.shared[b]);
        this.perChunk[b] = chunks;
      }
      chunks.fill(t, lo, hi);
    }
  }

  /**
   * Forgets every chunk stamped before cutoff, calling expired(ci) for each in address
   * order; returns the chunks looked at (stamped ones, expired or not).
   */
  expire(cutoff: number, expired: (ci: number) => void): number {
    let looked = 0;
    for (let b = 0; b < this.shared.length; b++) {
      const chunks = this.perChunk[b];
      const base = b * BLOCK_CHUNKS;
      if (chunks === undefined) {
        const at = this.shared[b];
        if (Number.isNaN(at)) continue;
        looked += BLOCK_CHUNKS;
        if (at >= cutoff) continue;
        for (let k = 0; k < BLOCK_CHUNKS; k++) expired(base + k);
        this.shared[b] = NO_STAMP;
        continue;
      }
      for (let k = 0; k < BLOCK_CHUNKS; k++) {
        const at = chunks[k];
        if (Number.isNaN(at)) continue;
        looked++;
        if (at >= cutoff) continue;
        expired(base + k);
        chunks[k] = NO_STAMP;
      }
    }
    return looked;
  }
}
