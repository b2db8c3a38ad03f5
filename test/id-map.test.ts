import { IntMap } from '../src/trace/id-map.js';
import { rng } from './helpers.js';

test('IntMap agrees with Map under random inserts and deletes, across growth', () => {
  const rand = rng(42);
  const ours = new IntMap(4);
  const ref = new Map<number, number>();
  const keys: number[] = [];
  for (let step = 0; step < 200000; step++) {
    const r = rand();
    if (r < 0.55 || keys.length === 0) {
      // Page-aligned 40-bit addresses, and a few small keys, some colliding often.
      const key = rand() < 0.8 ? 0xc000000000 + Math.floor(rand() * 50000) * 8192 : Math.floor(rand() * 64);
      const v = Math.floor(rand() * 1e6);
      ours.set(key, v);
      if (!ref.has(key)) keys.push(key);
      ref.set(key, v);
    } else {
      const k = Math.floor(rand() * keys.length);
      const key = keys[k];
      keys[k] = keys[keys.length - 1];
      keys.pop();
      expect(ours.delete(key)).toBe(true);
      ref.delete(key);
      expect(ours.delete(key)).toBe(false);
    }
    if (step % 997 === 0) {
      expect(ours.size).toBe(ref.size);
      for (const [k, v] of ref) expect(ours.get(k)).toBe(v);
      expect(ours.get(0xc000000000 + 50001 * 8192)).toBe(-1);
    }
  }
});
