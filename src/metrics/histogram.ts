// A log-linear histogram with a fixed number of buckets, so latency and work
// distributions stay bounded in memory however long the trace is.
//
// Values below EXACT are counted exactly; above, each power of two is split into
// SUB buckets, so a quantile is reported within 1/SUB (3%) of the true value, and never
// above the true maximum (which, like the count and sum, is kept exactly).

const SUB_BITS = 5;
const SUB = 1 << SUB_BITS;
const EXACT = 2 * SUB;
/** Buckets for values up to 2^53: EXACT + (53 - log2(EXACT)) * SUB. */
const BUCKETS = EXACT + (53 - (SUB_BITS + 1)) * SUB;

function bucketOf(v: number): number {
  if (v < EXACT) return v < 0 ? 0 : Math.floor(v);
  const e = v < 2 ** 32 ? 31 - Math.clz32(v) : Math.floor(Math.log2(v));
  // Below 2^32, v >>> k is floor(v / 2^k) without a power or a division.
  const sub = (v < 2 ** 32 ? v >>> (e - SUB_BITS) : Math.floor(v / 2 ** (e - SUB_BITS))) - SUB;
  return EXACT + (e - SUB_BITS - 1) * SUB + sub;
}

/** The largest value that falls in bucket b. */
function bucketTop(b: number): number {
  if (b < EXACT) return b;
  const e = Math.floor((b - EXACT) / SUB) + SUB_BITS + 1;
  const sub = (b - EXACT) % SUB;
  return (SUB + sub + 1) * 2 ** (e - SUB_BITS) - 1;
}

export class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  count = 0;
  sum = 0;
  max = 0;

  add(v: number): void {
    this.counts[bucketOf(v)]++;
    this.count++;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  get mean(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  /** The distribution as [bucket top (at most the maximum), share of values at or below it], one pair per non-empty bucket. */
  cdf(): [number, number][] {
    const out: [number, number][] = [];
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      if (this.counts[b] === 0) continue;
      seen += this.counts[b];
      out.push([Math.min(bucketTop(b), this.max), seen / this.count]);
    }
    return out;
  }

  /** The q-quantile (0 < q <= 1): the smallest bucket top covering q of the values. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const want = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.counts[b];
      if (seen >= want) return Math.min(bucketTop(b), this.max);
    }
    return this.max;
  }
}
