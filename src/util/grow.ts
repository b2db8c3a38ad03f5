// Growing the typed arrays the hot loops keep their per-span state in: one rule (double
// until it fits, keep the old contents) instead of a copy of it in every owner.

/** A copy of `a` with room for index `index`, doubled as often as needed, contents kept. */
export function grownFor<T extends Float64Array | Int32Array>(a: T, index: number): T {
  let size = Math.max(1, a.length);
  while (size <= index) size *= 2;
  const out = new (a.constructor as new (n: number) => T)(size);
  out.set(a);
  return out;
}
