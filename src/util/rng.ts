// mulberry32: a small, fast 32-bit generator that gives the same sequence on every
// machine. Everything in heapsim that draws random numbers (treap priorities, workload
// generators, benchmarks, property tests) uses it, seeded, so runs are reproducible.

/** Returns a generator of uniform numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  const next = mulberry32u(seed);
  return () => next() / 4294967296;
}

/** Returns a generator of uniform unsigned 32-bit integers. */
export function mulberry32u(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}
