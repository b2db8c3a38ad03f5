// go1.13's pacing arithmetic (go1.13.0 mgcscavenge.go gcPaceScavenger), checked by hand.

import { go113BytesPerNs, go113RetainedGoalBytes } from '../src/policy/go113.js';

const MIB = 1 << 20;

describe('go1.13 gcPaceScavenger', () => {
  test('the goal is next_gc + 10%, rounded up to a physical page; none with GOGC off', () => {
    // 4 MiB (heapminimum) + 419,430 = 4,613,734, rounded up to 4 KiB.
    expect(go113RetainedGoalBytes(4 * MIB, 10, 4096)).toBe(4_616_192);
    expect(go113RetainedGoalBytes(64 * MIB, 10, 4096)).toBe(73_822_208);
    expect(go113RetainedGoalBytes(Infinity, 10, 4096)).toBe(Infinity);
  });

  test('huge pages and regular pages cost the same 1 ms each: huge-page work goes 512x faster', () => {
    // No free huge pages: 16 MiB of 4 KiB pages over 4,096 ms.
    expect(go113BytesPerNs(16 * MIB, 0, 4096)).toBeCloseTo((16 * MIB) / 4096e6, 12);
    // All of it in huge pages: 8 huge pages over 8 ms.
    expect(go113BytesPerNs(16 * MIB, 100, 4096)).toBeCloseTo((16 * MIB) / 8e6, 12);
    // Huge work is capped at the work rounded down to huge pages; the rest is regular.
    expect(go113BytesPerNs(16 * MIB + 8192, 100, 4096)).toBeCloseTo((16 * MIB + 8192) / 10e6, 12);
    // Fewer free huge pages than the work: 2 huge (2 ms) + 12 MiB regular (3,072 ms).
    expect(go113BytesPerNs(16 * MIB, 2, 4096)).toBeCloseTo((16 * MIB) / 3074e6, 12);
    // --scavenger-cpu 10: ten times the CPU, a tenth of the time per page.
    expect(go113BytesPerNs(16 * MIB, 0, 4096, 10)).toBeCloseTo((16 * MIB) / 409.6e6, 12);
  });
});
