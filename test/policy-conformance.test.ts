// Policy conformance: every backend runs every release policy on small hand-made traces
// whose expected releases are worked out from the Go sources of each version (cited at
// each case). A policy owns *when* and *how much*; where the answer also depends on the
// backend's page order or release granularity (whole spans in the span era, pages with
// the bitmap), the case says so and expects each era's answer.
//
// Units: 8 KiB runtime pages, 4 KiB physical pages; 8192 pages = 64 MiB.

import { join } from 'node:path';
import { COST, Timeline, backends, openTraceText, replayReader, type ReplayResult } from '../src/index.js';
import { TRACES, cli } from './helpers.js';

const MIB = 1 << 20;
const S = 1e9;
/** Backends whose spans are released whole (Go 1.8-1.12's mspan.scavenge). */
const SPAN_ERA = new Set(['span-list', 'treap', 'treap-bestfit', 'treap-go1.12']);

/** Records memory figures at every event and every policy release. */
class Probe extends Timeline {
  readonly seen: { time: number; rss: number; retained: number }[] = [];
  override sample(time: number, inUse: number, heap: number, rss: number, released: number, vsize: number, limit: number): void {
    this.seen.push({ time, rss, retained: heap - released });
    super.sample(time, inUse, heap, rss, released, vsize, limit);
  }
  /** The last figures recorded at or before `time`. */
  at(time: number): { rss: number; retained: number } {
    let last = { rss: 0, retained: 0 };
    for (const r of this.seen) if (r.time <= time) last = r;
    return last;
  }
}

async function run(rows: string[], backend: string, policy: string, options: Record<string, unknown> = {}): Promise<{ r: ReplayResult; probe: Probe }> {
  const probe = new Probe();
  const text = ['time,op,id,pages,bytes', ...rows].join('\n');
  const r = await replayReader(await openTraceText(text, `${policy}.csv`), { backend, policy, timing: false, timeline: probe, ...options });
  expect(r.outcome).toBe('ok');
  return { r, probe };
}

const released = (r: ReplayResult, trigger: string): number => r.summary.releases[trigger]?.bytes ?? 0;
/** A free 64 MiB span beside a live one: 128 MiB retained, 64 MiB of it free. */
const TWO_SPANS = ['0,alloc,a,8192,', '0,alloc,b,8192,'];
/** A probe row: a `limit` row with no limit changes nothing the policies below react to. */
const probe = (t: number) => `${t},limit,,,`;

describe.each(backends().map((b) => [b.name] as const))('policy conformance: %s', (backend) => {
  const spanEra = SPAN_ERA.has(backend);

  describe('go1.11: sysmon every 2.5 min releases spans idle > 5 min', () => {
    // Go 1.11 proc.go sysmon: `if lastscavenge+scavengelimit/2 < now` with scavengelimit
    // = 5*60*1e9 and lastscavenge = nanotime() at start: passes at 150 s+1ns, 300 s+2ns,
    // 450 s+3ns, 600 s+4ns. mheap.go scavengelist skips a span when
    // `(now - uint64(s.unusedsince)) <= limit`. freeSpanLocked stamps the freed span
    // before coalescing, so the span a coalesces into takes the newest stamp.
    const rows = [...TWO_SPANS, `${1 * S},free,a,,`, `${200 * S},free,b,,`, ...[299, 301, 449, 451, 599, 601, 700].map((t) => probe(t * S))];

    test('the coalesced a+b span is stamped 200 s: released by the 600 s pass, not before', async () => {
      const { r, probe: p } = await run(rows, backend, 'go1.11');
      expect(r.summary.releases.periodic.calls).toBe(4);
      expect(released(r, 'periodic')).toBe(128 * MIB);
      expect(p.at(599 * S).rss).toBeGreaterThanOrEqual(64 * MIB);
      expect(p.at(601 * S).rss).toBeLessThan(1 * MIB);
      if (backend === 'bitmap') {
        // The bitmap has no spans: it stamps 4 MiB chunks (src/heap/bitmap/index.ts), so
        // a's chunks, last freed at 1 s, go at the 450 s pass, b's at the 600 s one.
        expect(p.at(449 * S).rss).toBeGreaterThanOrEqual(128 * MIB);
        expect(p.at(451 * S).rss).toBeLessThan(65 * MIB);
      } else {
        expect(p.at(451 * S).rss).toBeGreaterThanOrEqual(128 * MIB);
      }
    });

    test('nothing is released 5 minutes to the nanosecond after a free (the `<=` in scavengelist)', async () => {
      // Passes at 150 s+1ns and 300 s+2ns. Freed at 2 ns: at 300 s+2ns it has been unused
      // exactly 300 s, which `<= limit` keeps. Freed at 1 ns: 300 s+1ns, released.
      const keep = await run(['0,alloc,a,8192,', '2,free,a,,', probe(301 * S)], backend, 'go1.11');
      expect(released(keep.r, 'periodic')).toBe(0);
      const drop = await run(['0,alloc,a,8192,', '1,free,a,,', probe(301 * S)], backend, 'go1.11');
      expect(released(drop.r, 'periodic')).toBe(64 * MIB);
    });

    test('debug.FreeOSMemory (an empty scavenge row) releases every free page at once', async () => {
      // runtime_debug_freeOSMemory: mheap_.scavenge(-1, ^uint64(0), 0).
      const { r, probe: p } = await run([...TWO_SPANS, `${S},free,b,,`, `${2 * S},scavenge,,,`, probe(3 * S)], backend, 'go1.11');
      expect(released(r, 'explicit')).toBe(64 * MIB);
      expect(p.at(2 * S).rss).toBeGreaterThanOrEqual(64 * MIB);
      expect(p.at(2 * S).rss).toBeLessThan(65 * MIB);
    });
  });

  describe('go1.12: scavengeLargest on growth and when an allocation reuses released memory', () => {
    // Go 1.12.0 mheap.go: grow() calls h.scavengeLargest(size) before freeing the new
    // span in; allocSpanLocked, when the span it took was scavenged, calls
    // h.scavengeLargest(s.npages * pageSize) after trimming (commit 8e093e7, issue 31678).
    const grow = ['0,alloc,a,8192,', `${S},free,a,,`, `${2 * S},alloc,b,16384,`, probe(3 * S)];
    // a released by FreeOSMemory, b freed resident, then c lands on a's released pages.
    const rows = [...TWO_SPANS, `${S},free,a,,`, `${2 * S},scavenge,,,`, `${3 * S},free,b,,`, `${4 * S},alloc,c,8192,`, probe(5 * S)];

    test('growing by 128 MiB releases the only free span, a (64 MiB), before the new memory joins', async () => {
      const { r, probe: p } = await run(grow, backend, 'go1.12');
      expect(released(r, 'growth')).toBe(64 * MIB);
      // b is written (128 MiB), a was released: RSS after b's allocation (plus the
      // bitmap's own metadata).
      expect(p.at(2 * S).rss).toBeGreaterThanOrEqual(128 * MIB);
      expect(p.at(2 * S).rss).toBeLessThan(129 * MIB);
    });

    test('c reuses released pages: as many bytes again (64 MiB) are released inline, from b', async () => {
      const { r, probe: p } = await run(rows, backend, 'go1.12');
      expect(released(r, 'explicit')).toBe(64 * MIB);
      if (backend === 'treap-go1.12') {
        // Go 1.12.0's heap keeps a (scavenged) and b apart, and pickFreeSpan prefers the
        // unscavenged span on a tie: c takes b, reuses nothing, and nothing is released.
        expect(r.summary.releases.reuse).toBeUndefined();
        expect(p.at(4 * S).rss).toBeLessThan(65 * MIB);
        return;
      }
      expect(released(r, 'reuse')).toBe(64 * MIB);
      // Go 1.13+ backends count fresh memory as scavenged, so a and b asked too (with
      // nothing free to release); Go 1.12's own fresh spans were not scavenged.
      expect(r.summary.releases.reuse.calls).toBe(spanEra ? 1 : 3);
      // c's 64 MiB written again, b's 64 MiB released: RSS stays flat, as intended.
      expect(p.at(4 * S).rss).toBeLessThan(65 * MIB);
    });

    test('the inline release is paid by the allocation: the alloc latency tail grows', async () => {
      // Same faults either way (c re-faults a's pages under both); go1.12 adds the
      // release of 64 MiB inside c's allocation.
      const trace = await run(rows, backend, 'trace');
      const go112 = await run(rows, backend, 'go1.12');
      expect(Object.keys(trace.r.summary.releases)).toEqual(['explicit']);
      const extra = go112.r.latency.alloc.modelMaxNs - trace.r.latency.alloc.modelMaxNs;
      // On treap-go1.12, c takes the unscavenged b (see above): nothing inline.
      if (backend === 'treap-go1.12') expect(extra).toBe(0);
      else expect(extra).toBeGreaterThanOrEqual(0.95 * ((64 * MIB) / 4096) * COST.releasePer4KiBNs);
    });
  });

  describe('go1.13: background scavenger paced by page and by huge page down to next_gc + 10%', () => {
    // go1.13.0 mgcscavenge.go gcPaceScavenger: goal = next_gc + 10% (retainExtraPercent).
    // The first GC marks 128 MiB: next_gc = 256 MiB, over retained (192 MiB): parked. The
    // second marks 32 MiB: next_gc = 64 MiB, goal 73,819,750 rounded up to 4 KiB =
    // 73,822,208; totalWork = 192 MiB - goal = 127,504,384 B. b and c (128 MiB, free and
    // unscavenged) hold 64 huge pages, more than the work: hugeWork = 60 huge pages
    // (60 ms), regular work 1,675,264 B = 409 pages (409 ms): the line reaches the goal
    // 469 ms after the GC. Paced by 4 KiB pages alone it would take 31.1 s.
    const GOAL = 73_822_208;
    const RATE = 127_504_384 / 469e6; // bytes per ns
    const rows = [
      ...TWO_SPANS,
      '0,alloc,c,8192,',
      `${S},gc,,,${128 * MIB}`,
      `${2 * S},free,b,,`,
      `${2 * S},free,c,,`,
      `${10 * S},gc,,,${32 * MIB}`,
      ...[10.1, 10.2, 10.3, 11, 12].map((t) => probe(t * S)),
    ];
    const line = (t: number) => 192 * MIB - RATE * (t - 10 * S);

    test('retained memory follows the huge-page line, then parks at the goal', async () => {
      const { r, probe: p } = await run(rows, backend, 'go1.13');
      expect(p.at(9 * S).retained).toBe(192 * MIB);
      if (spanEra) {
        // mspan.scavenge releases whole spans: the first step releases all of b and c.
        expect(p.at(10.1 * S).retained).toBe(64 * MIB);
      } else if (backend === 'bitmap') {
        // The bitmap backend does not count free huge pages (PageHeap.unscavengedHugePages):
        // its what-if paces by 4 KiB pages, 127,504,384 B over 31,129 ms.
        const slow = (t: number) => 192 * MIB - (127_504_384 / 31_129e6) * (t - 10 * S);
        expect(p.at(11 * S).retained).toBeLessThanOrEqual(slow(11 * S));
        expect(p.at(11 * S).retained).toBeGreaterThanOrEqual(slow(11 * S) - 2 * MIB);
      } else {
        // Pages are released down to the line, overshooting by at most a 2 MiB huge page.
        for (const t of [10.1, 10.2, 10.3]) {
          expect(p.at(t * S).retained).toBeLessThanOrEqual(line(t * S));
          expect(p.at(t * S).retained).toBeGreaterThanOrEqual(line(t * S) - 2 * MIB);
        }
        expect(p.at(11 * S).retained).toBeLessThanOrEqual(GOAL);
        expect(p.at(11 * S).retained).toBeGreaterThanOrEqual(GOAL - 2 * MIB);
      }
      expect(released(r, 'background')).toBeGreaterThan(0);
      expect(released(r, 'growth') + released(r, 'reuse')).toBe(0);
    });

    test('before the first GC the goal is heapminimum + 10% (4.4 MiB): growth scavenges', async () => {
      // gcinit paces once with next_gc = heapminimum = 4 MiB, so growAddSpan's
      // scavengeIfNeededLocked(size) releases min(size, retained + size - 4,616,192): all
      // of a, the only free memory (Go 1.19 has no goal before its second cycle).
      const grow = ['0,alloc,a,8192,', `${S},free,a,,`, `${2 * S},alloc,b,16384,`];
      const go113 = await run(grow, backend, 'go1.13');
      expect(released(go113.r, 'growth')).toBe(64 * MIB);
      const go119 = await run(grow, backend, 'go1.19');
      expect(go119.r.summary.releases).toEqual({});
    });
  });

  describe('go1.19: background scavenger at 1% CPU, growth scavenging, the memory limit', () => {
    // go1.19.8 mgcscavenge.go 141-215 (gcPaceScavenger): the same 73,822,208-byte goal as
    // above; run() releases 64 KiB quanta until shouldStop (line 368) or 1 ms of work;
    // sleep() aims at scavengePercent (1%) of GOMAXPROCS CPUs (line 501) through its PI
    // controller (test/go119-pacing.test.ts holds it to the real one).
    const GOAL = 73_822_208;
    const rows = [...TWO_SPANS, `${S},gc,,,${64 * MIB}`, `${2 * S},free,b,,`, `${10 * S},gc,,,${64 * MIB}`, probe(10.1 * S), probe(12 * S)];

    test('released down to the goal, within 1% of GOMAXPROCS CPUs plus one 1 ms batch', async () => {
      const { r, probe: p } = await run(rows, backend, 'go1.19');
      expect(p.at(12 * S).retained).toBeLessThanOrEqual(GOAL);
      const bg = r.summary.releases.background;
      expect(bg.bytes).toBeGreaterThanOrEqual(128 * MIB - GOAL);
      expect(bg.modelNs).toBeLessThanOrEqual(0.01 * (2 * S) + 1e6);
    });

    test('one batch of about 1 ms of work, then a 1 s sleep (the starting sleep ratio, 0.001)', async () => {
      // mgcscavenge.go run(): 64 KiB calls until 1 ms of work (minScavWorkTime); sleep():
      // worked / sleepRatio with sleepRatio starting at 0.001. A free 1 GiB span: far more
      // than one batch releases with the page allocator's calls (2 MiB huge pages of resident
      // 4 KiB pages, about 180 us each in the cost model); a span-era backend releases the
      // whole span in one call.
      const big = ['0,alloc,a,8192,', '0,alloc,b,131072,', `${S},gc,,,${64 * MIB}`, `${2 * S},free,b,,`, `${10 * S},gc,,,${64 * MIB}`];
      const { r, probe: p } = await run([...big, probe(10.5 * S), probe(10.95 * S), probe(11.5 * S), probe(30 * S)], backend, 'go1.19');
      const first = 1088 * MIB - p.at(10.5 * S).retained;
      if (spanEra) {
        expect(first).toBe(1024 * MIB);
        return;
      }
      expect(first).toBeGreaterThan(0);
      expect(first).toBeLessThan(200 * MIB);
      expect(p.at(10.95 * S).retained).toBe(p.at(10.5 * S).retained);
      expect(p.at(11.5 * S).retained).toBeLessThan(p.at(10.95 * S).retained);
      expect(p.at(30 * S).retained).toBeLessThanOrEqual(73_822_208);
      expect(r.summary.releases.background.modelNs).toBeGreaterThan(1e6);
    });

    test('a gc row during a sleep wakes the scavenger: the sleep ends there', async () => {
      // mgcscavenge.go wake(): the sleeping scavenger counts as parked, so the wake-up at
      // the next sweep readies it before its 1 s timer fires.
      const big = ['0,alloc,a,8192,', '0,alloc,b,131072,', `${S},gc,,,${64 * MIB}`, `${2 * S},free,b,,`, `${10 * S},gc,,,${64 * MIB}`];
      const probes = [probe(10.5 * S), probe(10.6 * S)];
      const asleep = await run([...big, ...probes], backend, 'go1.19');
      const woken = await run([...big, `${10.5 * S},gc,,,${64 * MIB}`, ...probes], backend, 'go1.19');
      if (spanEra) return expect(woken.probe.at(10.6 * S).retained).toBe(asleep.probe.at(10.6 * S).retained);
      expect(woken.probe.at(10.6 * S).retained).toBeLessThan(asleep.probe.at(10.6 * S).retained);
    });

    test('a heap growth over the goal scavenges inline: min(growth, retained + growth - goal)', async () => {
      // mheap.go 1290-1310: c (128 MiB) grows the heap by about 128 MiB with retained at
      // about 128 MiB, far over the goal: todo = the growth; b's 64 MiB are what is free
      // (d keeps c from extending b). The span era also frees the remainder of d's
      // 1 MiB growth (127 pages).
      const grow = [...TWO_SPANS, `0,alloc,d,1,`, `${S},gc,,,${64 * MIB}`, `${2 * S},free,b,,`, `${10 * S},gc,,,${64 * MIB}`, `${10 * S},alloc,c,16384,`];
      // treap-go1.12 grows in whole 64 MiB arenas, counted as retained: d's arena is free
      // but for d's page, and goes too.
      const { r } = await run(grow, backend, 'go1.19');
      expect(released(r, 'growth')).toBeGreaterThanOrEqual(64 * MIB);
      expect(released(r, 'growth')).toBeLessThanOrEqual(backend === 'treap-go1.12' ? 128 * MIB : 65 * MIB);
    });

    test('the memory limit is held on the allocation path; time above it is measured', async () => {
      // mheap.go 1279-1288: bytesToScavenge = scav + mappedReady - limit when positive.
      const limit = 100 * MIB;
      const lim = [...TWO_SPANS, `${S},free,b,,`, `${2 * S},limit,,,${limit}`, `${3 * S},alloc,c,1,`, probe(4 * S)];
      const { r, probe: p } = await run(lim, backend, 'go1.19');
      expect(released(r, 'limit')).toBeGreaterThanOrEqual(28 * MIB);
      // Held: mappedReady (retained heap + Ready metadata) at or under the limit.
      expect(r.summary.mappedReadyBytes).toBeLessThanOrEqual(limit);
      expect(p.at(3 * S).retained).toBeLessThanOrEqual(limit);
      // RSS 128 MiB was above the limit from 2 s until the allocation at 3 s.
      expect(r.summary.timeAboveLimitNs).toBe(1 * S);
    });

    test('as shipped, the background scavenger ignores the limit (its goal is 95x the limit)', async () => {
      // mgcscavenge.go line 149: limit * (100.0 - reduceExtraPercent), not / 100. With
      // retained at 98% of the limit and no allocation, nothing is released.
      const lim = [...TWO_SPANS, `${S},free,b,,`, `${2 * S},limit,,,${131 * MIB}`, `${3 * S},gc,,,${64 * MIB}`, probe(60 * S)];
      const { r } = await run(lim, backend, 'go1.19');
      expect(r.summary.releases).toEqual({});
    });
  });

  test('trace and none: the scavenge rows, or nothing', async () => {
    const rows = [...TWO_SPANS, `${S},free,b,,`, `${2 * S},scavenge,,,${MIB}`, `${3 * S},scavenge,,,`];
    const t = await run(rows, backend, 'trace');
    expect(released(t.r, 'trace')).toBeGreaterThanOrEqual(MIB);
    expect(released(t.r, 'trace') + released(t.r, 'explicit')).toBe(64 * MIB);
    const n = await run(rows, backend, 'none');
    expect(n.r.summary.releasedBytes).toBe(0);
  });
});

describe('the heap-spike demo (traces/gen-spike.csv.gz: 512 MiB spikes every 2 minutes)', () => {
  let byPolicy: Record<string, ReplayResult>;
  beforeAll(() => {
    const run = cli(['compare', join(TRACES, 'gen-spike.csv.gz'), '--policies', 'none,go1.11,go1.13,go1.19', '--json', '--no-timing']);
    expect(run.status).toBe(0);
    const results = JSON.parse(run.stdout) as ReplayResult[];
    byPolicy = Object.fromEntries(results.map((r) => [r.policy, r]));
    expect(Object.keys(byPolicy)).toEqual(['none', 'go1.11', 'go1.13', 'go1.19']);
  });

  test('go1.11 never releases: no span stays idle 5 minutes between spikes', () => {
    const g = byPolicy['go1.11'].summary;
    expect(g.releases.periodic.calls).toBeGreaterThanOrEqual(3);
    expect(g.releasedBytes).toBe(0);
    expect(g.meanRssBytes).toBe(byPolicy.none.summary.meanRssBytes);
  });

  test('go1.13 and go1.19 track the goal: lower mean RSS, go1.19 back near the steady heap', () => {
    const none = byPolicy.none.summary;
    expect(byPolicy['go1.13'].summary.meanRssBytes).toBeLessThan(0.9 * none.meanRssBytes);
    expect(byPolicy['go1.19'].summary.meanRssBytes).toBeLessThan(byPolicy['go1.13'].summary.meanRssBytes);
    expect(byPolicy['go1.19'].summary.finalRssBytes).toBeLessThan(0.2 * none.finalRssBytes);
    // ...paying for it in re-faults.
    expect(byPolicy['go1.19'].summary.refaults).toBeGreaterThan(none.refaults);
  });
});

test('policy usage: unknown policy and --policy with --policies are usage errors; `policies` lists them', () => {
  const trace = join(TRACES, 'go1-Gob.csv');
  expect(cli(['replay', trace, '--policy', 'go1.99']).status).toBe(2);
  expect(cli(['replay', trace, '--policy', 'go1.99']).stderr).toMatch(/unknown policy "go1.99"/);
  expect(cli(['compare', trace, '--policy', 'none', '--policies', 'none,go1.19']).status).toBe(2);
  const list = cli(['policies']);
  expect(list.status).toBe(0);
  for (const p of ['trace', 'none', 'go1.11', 'go1.12', 'go1.13', 'go1.19']) expect(list.stdout).toMatch(new RegExp(`^${p.replace('.', '\\.')} `, 'm'));
  // Each states what it models and what it leaves out.
  expect(list.stdout.match(/^ +models: \S/gm)?.length).toBe(6);
  expect(list.stdout.match(/^ +leaves out: \S/gm)?.length).toBe(6);
});

describe('go1.19 against the real Go 1.19.8 scavenger (traces/spike-gogc100-768.csv.gz)', () => {
  // The recorded scavenge rows are what the real scavenger released (2254 MiB in the
  // trace README); the go1.19 policy ignores them and decides for itself from the gc
  // rows and trace time, on the recorded machine's GOMAXPROCS=2 (the trace's metadata).
  // test/go119-pacing.test.ts holds the closer figures of issue 13. The recording machine's
  // transparent huge pages were `madvise` (bench/release-fidelity.ts RECORDING_THP says why).
  test('released bytes within 10% and mean RSS within 15% of the recorded run', () => {
    const run = cli(['compare', join(TRACES, 'spike-gogc100-768.csv.gz'), '--policies', 'trace,go1.19', '--thp', 'madvise', '--json', '--no-timing']);
    expect(run.status).toBe(0);
    const [real, model] = JSON.parse(run.stdout) as ReplayResult[];
    expect(real.summary.releases.trace.bytes).toBeGreaterThan(2200 * MIB);
    expect(Math.abs(model.summary.releasedBytes / real.summary.releasedBytes - 1)).toBeLessThan(0.1);
    expect(Math.abs(model.summary.meanRssBytes / real.summary.meanRssBytes - 1)).toBeLessThan(0.15);
    expect(Object.keys(model.summary.releases)).toEqual(['background']);
  });
});
