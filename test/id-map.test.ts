// IntMap (src/trace/id-map.ts) against Map as the reference, under random inserts and
// deletes across many growths. Every check is made on every step it applies to; the
// disagreements are collected and compared with [] at the end, so a failure lists them
// (the first 20) without one expect call per entry.

import { IntMap } from '../src/trace/id-map.js';
import { rng } from './helpers.js';

test('IntMap agrees with Map under random inserts and deletes, across growth', () => {
  const rand = rng(42);
  const ours = new IntMap(4);
  const ref = new Map<number, number>();
  const keys: number[] = [];
  const wrong: string[] = [];
  let checked = 0;
  const check = (ok: boolean, what: () => string): void => {
    checked++;
    if (!ok && wrong.length < 20) wrong.push(what());
  };
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
      check(ours.delete(key) === true, () => `step ${step}: delete(${key}) of a present key returned false`);
      ref.delete(key);
      check(ours.delete(key) === false, () => `step ${step}: second delete(${key}) returned true`);
    }
    if (step % 997 === 0) {
      const size = ours.size;
      check(size === ref.size, () => `step ${step}: size ${size}, want ${ref.size}`);
      for (const [k, v] of ref) {
        const got = ours.get(k);
        check(got === v, () => `step ${step}: get(${k}) = ${got}, want ${v}`);
      }
      const absent = ours.get(0xc000000000 + 50001 * 8192);
      check(absent === -1, () => `step ${step}: get of an absent key = ${absent}, want -1`);
    }
  }
  expect(wrong).toEqual([]);
  // Two checks per delete, and size, every entry and an absent key at every 997th step:
  // 375,524 checks with this seed.
  expect(checked).toBe(375_524);
});
