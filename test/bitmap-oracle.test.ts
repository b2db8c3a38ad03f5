// Differential test: heapsim's bitmap backend against the real Go 1.19 page allocator.
// Random op streams (small, medium and huge spans, per-P caches, frees, release requests
// of every size, cache flushes) go through both; every decision must be equal: the
// address and scavenged bytes of each allocation, the bytes each release frees, and
// (on the first stream) both search addresses after every op.
//
// Needs Debian's golang-1.19-go (CI installs it). Without it the test is skipped, with
// that reason, except under CI=true, where a missing oracle is a failure.

import { GO, firstDifference, goAvailable, randomOps, runHeapsim, runOracle } from './oracle/harness.js';

const available = goAvailable();
const mustRun = process.env.CI === 'true' || process.env.HEAPSIM_REQUIRE_ORACLE === '1';

if (!available && mustRun) {
  test('the Go 1.19 oracle is installed', () => {
    throw new Error(`${GO} not found: CI must install golang-1.19-go (apt-get install golang-1.19-go)`);
  });
}

const maybe = available ? describe : describe.skip;
const why = available ? '' : ` (skipped: ${GO} is not installed; apt-get install golang-1.19-go)`;

maybe(`bitmap backend = Go 1.19 pageAlloc, decision by decision${why}`, () => {
  test('20k ops with the search addresses compared after every op', () => {
    const ops = randomOps(1, 20000);
    const go = runOracle(ops, true);
    const ours = runHeapsim(ops, go.hugePageBytes, true);
    expect(go.lines.length).toBe(20000);
    expect(firstDifference(ops, go.lines, ours.lines)).toBeNull();
  });

  test('1M ops over four streams: zero differing decisions', () => {
    let total = 0;
    for (const seed of [2, 3, 4, 5]) {
      const ops = randomOps(seed, 250000);
      const go = runOracle(ops);
      const ours = runHeapsim(ops, go.hugePageBytes);
      expect(go.lines.length).toBe(250000);
      expect(firstDifference(ops, go.lines, ours.lines)).toBeNull();
      total += go.lines.length;
    }
    expect(total).toBeGreaterThanOrEqual(1_000_000);
  });
});
