// Differential test: heapsim's bitmap backend against the real Go 1.19 page allocator.
// Random op streams (small, medium and huge spans, per-P caches, frees, release requests
// of every size, cache flushes) go through both; every decision must be equal: the
// address and scavenged bytes of each allocation, the bytes each release frees, and
// (on the first stream) both search addresses after every op.
//
// Size: four streams of $HEAPSIM_ORACLE_OPS ops each. `npm test` uses 25k (100k ops in
// all): by then each stream has grown the heap past 6 GiB through some 180 arena
// growths, hit ~700 freeing releases, ~4,700 allocations of scavenged pages and ~250
// cache flushes, and the asserts below hold it to that. The full million-op run
// (250k per stream) is `npm run test:oracle`, a step of its own in .ci/run.
//
// Needs Debian's golang-1.19-go (CI installs it). Without it the test is skipped, saying
// why, except under CI=true or HEAPSIM_REQUIRE_ORACLE=1, where a missing oracle fails.

import { GO, firstDifference, goAvailable, randomOps, runHeapsim, runOracle, streamCoverage } from './oracle/harness.js';

/** Ops per stream: 25k by default; 250k makes the full million-op differential. */
const STREAM_OPS = Number(process.env.HEAPSIM_ORACLE_OPS ?? 25000);
const SEEDS = [2, 3, 4, 5];

const available = goAvailable();
const mustRun = process.env.CI === 'true' || process.env.HEAPSIM_REQUIRE_ORACLE === '1';

if (!Number.isInteger(STREAM_OPS) || STREAM_OPS < 25000) {
  test('HEAPSIM_ORACLE_OPS is a whole number of at least 25000', () => {
    throw new Error(
      `HEAPSIM_ORACLE_OPS=${process.env.HEAPSIM_ORACLE_OPS}: want at least 25000 ops per stream (fewer would not reach the growth, cache and scavenging paths checked below)`,
    );
  });
}

if (!available && mustRun) {
  test('the Go 1.19 oracle is installed', () => {
    throw new Error(`${GO} not found: CI must install golang-1.19-go (apt-get install golang-1.19-go)`);
  });
}

const skipReason = `${GO} is not installed; apt-get install golang-1.19-go`;
if (!available) console.warn(`bitmap-oracle: skipped: ${skipReason}`);
const maybe = available ? describe : describe.skip;
const why = available ? '' : ` (skipped: ${skipReason})`;

maybe(`bitmap backend = Go 1.19 pageAlloc, decision by decision${why}`, () => {
  test('20k ops with the search addresses compared after every op', () => {
    const ops = randomOps(1, 20000);
    const go = runOracle(ops, true);
    const ours = runHeapsim(ops, go.hugePageBytes, true);
    expect(go.lines.length).toBe(20000);
    expect(firstDifference(ops, go.lines, ours.lines)).toBeNull();
  });

  test(`${SEEDS.length} streams of ${STREAM_OPS} ops: zero differing decisions, over growth, caches and scavenging`, () => {
    let total = 0;
    for (const seed of SEEDS) {
      const ops = randomOps(seed, STREAM_OPS);
      const go = runOracle(ops);
      const ours = runHeapsim(ops, go.hugePageBytes);
      expect(go.lines.length).toBe(STREAM_OPS);
      expect(firstDifference(ops, go.lines, ours.lines)).toBeNull();
      // The stream reached the paths it is here for (figures at 25k ops: see the top).
      const c = streamCoverage(go.lines);
      expect(c.topMiB).toBeGreaterThan(4096);
      expect(c.freeingReleases).toBeGreaterThan(500);
      expect(c.scavengedAllocs).toBeGreaterThan(4000);
      expect(c.flushes).toBeGreaterThan(200);
      total += go.lines.length;
    }
    expect(total).toBe(SEEDS.length * STREAM_OPS);
  });
});
