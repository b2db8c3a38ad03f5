// A run-length map: every non-negative integer key has a small state, stored as sorted
// runs of equal state, so its size follows the number of edits, not the keys covered.
//
// The simulated OS keeps residency per physical page and THP advice per huge page in
// these. One paint of 2^32 pages costs what a paint of one page costs.
//
// Invariants:
// - runs are kept in two parallel arrays: run i covers keys [starts[i], starts[i+1])
//   with state states[i]; the last run never ends. starts[0] is 0 and starts ascend
//   strictly, so the runs tile [0, Infinity) with no gap and no overlap;
// - two adjacent runs never share a state (edits merge them), so a range of one state
//   is always inside one run: "already in that state" is one lookup;
// - keys and run boundaries are integers below 2^53 (page indices of a 48-bit space).
//
// Cost: a lookup is O(1) when it falls in the run the previous lookup found (the
// replay touches near where it last did) and O(log runs) otherwise. A paint over k
// runs costs O(k) plus moving the runs after it, O(runs) in the worst case: one memmove
// of 9 bytes a run.

/** Runs the map can hold before its arrays first grow. */
const INITIAL_CAPACITY = 64;

export class RunMap {
  private starts: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private states: Uint8Array = new Uint8Array(INITIAL_CAPACITY);
  private n = 1;
  /** The run the last lookup found: the touch path's O(1) case. */
  private hint = 0;
  /** Replacement runs a paint builds before splicing them in (grown, never shrunk). */
  private outStarts: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private outStates: Uint8Array = new Uint8Array(INITIAL_CAPACITY);
  private m = 0;

  /** Every key starts in `initial`. */
  constructor(initial = 0) {
    this.states[0] = initial;
  }

  /** Number of runs (at least 1). */
  get runs(): number {
    return this.n;
  }

  /** Index of the run holding `key`. */
  runAt(key: number): number {
    const starts = this.starts;
    const n = this.n;
    const h = this.hint;
    if (starts[h] <= key && (h + 1 === n || key < starts[h + 1])) return h;
    let lo = 0;
    let hi = n - 1;
    // Largest i with starts[i] <= key; starts[0] = 0 <= key, so it exists.
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid] <= key) lo = mid;
      else hi = mid - 1;
    }
    this.hint = lo;
    return lo;
  }

  /** First key of run i. */
  startOf(i: number): number {
    return this.starts[i];
  }

  /** Key after the last of run i (Infinity for the last run). */
  endOf(i: number): number {
    return i + 1 < this.n ? this.starts[i + 1] : Infinity;
  }

  stateOf(i: number): number {
    return this.states[i];
  }

  /**
   * Adds to counts[s] the number of keys of [from, to) in state s, for every s.
   * counts must have an entry per state; it is added to, not cleared.
   */
  count(from: number, to: number, counts: Float64Array): void {
    if (from >= to) return;
    let i = this.runAt(from);
    for (;;) {
      const end = this.endOf(i);
      counts[this.states[i]] += Math.min(end, to) - Math.max(this.starts[i], from);
      if (end >= to) return;
      i++;
    }
  }

  /**
   * Every key k of [from, to) goes from state s to table[s]. Before that, counts[s] is
   * increased by the keys of the range that were in s (as `count` does).
   */
  paint(from: number, to: number, table: Uint8Array, counts: Float64Array): void {
    if (from >= to) return;
    const starts = this.starts;
    const states = this.states;
    const first = this.runAt(from);
    let last = first;
    let changes = false;
    for (;;) {
      const s = states[last];
      const end = this.endOf(last);
      counts[s] += Math.min(end, to) - Math.max(starts[last], from);
      if (table[s] !== s) changes = true;
      if (end >= to) break;
      last++;
    }
    if (!changes) return;

    // Rebuild runs lo..hi (the painted ones and one unchanged neighbour each side, so
    // merges with them happen in the same pass), then splice the result in.
    const lo = first > 0 ? first - 1 : first;
    const hi = last + 1 < this.n ? last + 1 : last;
    this.m = 0;
    if (lo < first) this.push(starts[lo], states[lo]);
    if (starts[first] < from) this.push(starts[first], states[first]);
    for (let i = first; i <= last; i++) this.push(Math.max(starts[i], from), table[states[i]]);
    if (this.endOf(last) > to) this.push(to, states[last]);
    if (hi > last) this.push(starts[hi], states[hi]);
    this.splice(lo, hi + 1);
  }

  /** Appends a run to the replacement, merged into the one before when states match. */
  private push(start: number, state: number): void {
    const m = this.m;
    if (m > 0 && this.outStates[m - 1] === state) return;
    if (m === this.outStarts.length) {
      this.outStarts = grow64(this.outStarts, 2 * m);
      this.outStates = grow8(this.outStates, 2 * m);
    }
    this.outStarts[m] = start;
    this.outStates[m] = state;
    this.m = m + 1;
  }

  /** Replaces runs [lo, hi) with the replacement runs. */
  private splice(lo: number, hi: number): void {
    const m = this.m;
    const n = this.n;
    const newN = n - (hi - lo) + m;
    if (newN > this.starts.length) {
      this.starts = grow64(this.starts, Math.max(newN, 2 * this.starts.length));
      this.states = grow8(this.states, this.starts.length);
    }
    if (hi < n && lo + m !== hi) {
      this.starts.copyWithin(lo + m, hi, n);
      this.states.copyWithin(lo + m, hi, n);
    }
    for (let k = 0; k < m; k++) {
      this.starts[lo + k] = this.outStarts[k];
      this.states[lo + k] = this.outStates[k];
    }
    this.n = newN;
    this.hint = lo;
  }
}

function grow64(a: Float64Array, capacity: number): Float64Array {
  const b = new Float64Array(capacity);
  b.set(a);
  return b;
}

function grow8(a: Uint8Array, capacity: number): Uint8Array {
  const b = new Uint8Array(capacity);
  b.set(a);
  return b;
}
