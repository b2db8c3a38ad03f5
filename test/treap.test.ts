// The Go 1.9 treap search as shipped against its intended best fit (Go issue 31616),
// Go 1.13's own treap tests (treap_test.go) as data, and placement equality of
// treap-bestfit with span-list.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Span } from '../src/heap/span-heap.js';
import { SizeTreap } from '../src/heap/treap/index.js';
import { AddressTreap, ITER_HUGE, ITER_SCAV, treapFilter, type AddrSpan } from '../src/heap/treap-aoff/address-treap.js';
import { SimOS, compareLoaded, findBackend, loadTrace } from '../src/index.js';
import { CHECK_ALL, TRACES, isRecorded, rng } from './helpers.js';

/** A size treap built by inserting spans with the given priorities (smaller is nearer the root). */
function sizeTreap(search: 'shipped' | 'bestfit', spans: [npages: number, priority: number][]): SizeTreap {
  const prios = spans.map(([, p]) => p);
  const t = new SizeTreap(search, () => prios.shift() as number);
  spans.forEach(([n], i) => t.insert(new Span(i * 10000, n)));
  return t;
}

describe('Go 1.9 treap search (Go issue 31616)', () => {
  // root 5000, its left child 4, whose right child is 5: find(5) stops at the root
  // because the left child is too small, never looking at the 5 beneath it.
  const shape: [number, number][] = [
    [5000, 1],
    [4, 2],
    [5, 3],
  ];
  test('as shipped, find(5) returns the 5000-page span although a 5-page span exists', () => {
    expect(sizeTreap('shipped', shape).find(5)?.npages).toBe(5000);
  });
  test('best fit returns the 5-page span', () => {
    expect(sizeTreap('bestfit', shape).find(5)?.npages).toBe(5);
  });
  test('the same with large spans: root 5000, left 200, left-right 300, find(250)', () => {
    const large: [number, number][] = [
      [5000, 1],
      [200, 2],
      [300, 3],
    ];
    expect(sizeTreap('shipped', large).find(250)?.npages).toBe(5000);
    expect(sizeTreap('bestfit', large).find(250)?.npages).toBe(300);
    expect(sizeTreap('shipped', large).find(200)?.npages).toBe(200);
    expect(sizeTreap('shipped', large).find(5001)).toBeNull();
  });
  test('when the left child fits, the shipped search does find the best fit', () => {
    const t = sizeTreap('shipped', [
      [5000, 1],
      [300, 2],
      [200, 3],
    ]);
    expect(t.find(250)?.npages).toBe(300);
  });

  test('on random treaps: best fit is the smallest fitting span (lowest address on ties); shipped fits but is sometimes larger', () => {
    const rand = rng(9);
    let disagreements = 0;
    for (let trial = 0; trial < 300; trial++) {
      const sizes = Array.from({ length: 1 + Math.floor(rand() * 40) }, () => 128 + Math.floor(rand() * 400));
      const shipped = new SizeTreap('shipped', trial + 1);
      const best = new SizeTreap('bestfit', trial + 1);
      sizes.forEach((n, i) => {
        shipped.insert(new Span(i * 1000, n));
        best.insert(new Span(i * 1000, n));
      });
      const want = 128 + Math.floor(rand() * 420);
      const fits = sizes
        .map((n, i) => [n, i * 1000])
        .filter(([n]) => n >= want)
        .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      const b = best.find(want);
      const s = shipped.find(want);
      if (fits.length === 0) {
        expect(b).toBeNull();
        expect(s).toBeNull();
        continue;
      }
      expect([b?.npages, b?.span.page]).toEqual(fits[0]);
      expect(s?.npages).toBeGreaterThanOrEqual(want);
      if (s?.npages !== b?.npages) disagreements++;
    }
    expect(disagreements).toBeGreaterThan(10);
  });

  test('a treap of 100k random large spans stays about twice the ideal depth (Go commit "runtime: redo insert/remove of large spans" (Go 1.9))', () => {
    const t = new SizeTreap('shipped', 1);
    const rand = rng(3);
    for (let i = 0; i < 100000; i++) t.insert(new Span(i * 2000, 128 + Math.floor(rand() * 100000)));
    const shape = t.shape();
    expect(shape.treapNodes).toBe(100000);
    expect(shape.treapDepthOverLog2).toBeGreaterThan(1.2);
    expect(shape.treapDepthOverLog2).toBeLessThan(3.5);
  });
});

describe('Go 1.13 treap_test.go, ported as data', () => {
  // spanDesc: base address -> pages, scavenged.
  const spanDesc: [number, number, boolean][] = [
    [0xc0000000, 2, false],
    [0xc0006000, 1, false],
    [0xc0010000, 8, false],
    [0xc0022000, 7, false],
    [0xc0034000, 4, true],
    [0xc0040000, 5, false],
    [0xc0050000, 5, true],
    [0xc0060000, 5000, false],
  ];
  const PAGE = 8192;
  const HUGE = 2 << 20;
  const holdsHuge = (s: AddrSpan) => {
    const start = Math.ceil((s.page * PAGE) / HUGE) * HUGE;
    const end = Math.floor(((s.page + s.npages) * PAGE) / HUGE) * HUGE;
    return s.npages >= HUGE / PAGE && start < end;
  };
  const spans = (): AddrSpan[] => spanDesc.map(([base, npages, scavenged]) => ({ page: base / PAGE, npages, scavenged, unusedSince: 0, node: null }));
  const kind = (s: AddrSpan) => (s.scavenged ? ITER_SCAV : 0) | (holdsHuge(s) ? ITER_HUGE : 0);
  const matches = (s: AddrSpan, mask: number, match: number) => (kind(s) & mask) === match;
  const build = (seed = 1) => {
    const t = new AddressTreap(seed, holdsHuge);
    const ss = spans();
    for (const s of ss) {
      t.insert(s);
      t.validate();
    }
    return { t, ss };
  };

  test('TestTreapFilter', () => {
    const cases: [number, number, number][] = [
      [0, 0, 0xf],
      [ITER_SCAV, 0, 0x5],
      [ITER_SCAV, ITER_SCAV, 0xa],
      [ITER_SCAV | ITER_HUGE, ITER_HUGE, 0x4],
      [ITER_SCAV | ITER_HUGE, 0, 0x1],
      [0, ITER_SCAV, 0x0],
    ];
    for (const [mask, match, filter] of cases) expect(treapFilter(mask, match)).toBe(filter);
  });

  test('TypeCountsSanity', () => {
    const count = (mask: number, match: number) => spans().filter((s) => matches(s, mask, match)).length;
    expect(count(0, 0)).toBe(8);
    expect(count(ITER_SCAV, 0)).toBe(6);
    expect(count(ITER_SCAV, ITER_SCAV)).toBe(2);
  });

  test('Insert, FindTrivial', () => {
    const t = new AddressTreap(1, holdsHuge);
    const [s] = spans();
    t.insert(s);
    expect(t.find(1)?.span).toBe(s);
    t.removeSpan(s);
    expect(t.count).toBe(0);
  });

  test('FindFirstFit: find(5) is the lowest address that fits, 0xc0010000, whatever the shape', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const { t, ss } = build(seed);
      expect((t.find(5)?.span.page ?? 0) * PAGE).toBe(0xc0010000);
      for (const s of ss) {
        t.removeSpan(s);
        t.validate();
      }
      expect(t.count).toBe(0);
    }
  });

  test('Iterate: StartToEnd and EndToStart visit exactly the matching spans, in order', () => {
    for (let mask = 0; mask < 4; mask++) {
      for (let match = 0; match < 4; match++) {
        const { t } = build();
        const f = treapFilter(mask, match);
        const want = spans()
          .filter((s) => matches(s, mask, match))
          .map((s) => s.page);
        const forward: number[] = [];
        for (let i = t.start(f); i !== null; i = t.succ(i, f)) forward.push(i.span.page);
        const backward: number[] = [];
        for (let i = t.end(f); i !== null; i = t.pred(i, f)) backward.push(i.span.page);
        expect(forward).toEqual(want);
        expect(backward).toEqual([...want].reverse());
      }
    }
  });

  test('Prev and Next are inverse; EraseOne keeps neighbours linked; EraseAll empties', () => {
    const all = treapFilter(0, 0);
    const { t } = build();
    const start = t.start(all)!;
    const i = t.succ(t.succ(start, all)!, all)!;
    expect(t.succ(t.pred(i, all)!, all)).toBe(i);
    expect(t.pred(t.succ(i, all)!, all)).toBe(i);
    const third = t.succ(i, all)!;
    const n = t.succ(third, all)!;
    const p = t.pred(third, all)!;
    t.erase(third);
    t.validate();
    expect(t.pred(n, all)).toBe(p);
    expect(t.succ(p, all)).toBe(n);
    for (let x = t.start(all); x !== null;) {
      const next = t.succ(x, all);
      t.erase(x);
      x = next;
    }
    expect(t.count).toBe(0);
  });
});

describe('treap-bestfit places every span where span-list does', () => {
  function randomTrace(seed: number, events: number): string {
    const rand = rng(seed);
    const rows = ['time,op,id,pages,bytes'];
    const live: number[] = [];
    let next = 0;
    for (let i = 0; i < events; i++) {
      const r = rand();
      if (i % 97 === 96) rows.push(`${i},scavenge,,,${Math.floor(rand() * 8) << 16}`);
      else if (r < 0.55 || live.length === 0) {
        const k = rand();
        const n = k < 0.6 ? 1 + Math.floor(rand() * 8) : k < 0.85 ? 9 + Math.floor(rand() * 119) : 128 + Math.floor(rand() * 900);
        rows.push(`${i},alloc,s${next},${n},`);
        live.push(next++);
      } else {
        const j = Math.floor(rand() * live.length);
        rows.push(`${i},free,s${live[j]},,`);
        live[j] = live[live.length - 1];
        live.pop();
      }
    }
    return rows.join('\n');
  }

  const same = async (text: string | null, path?: string) => {
    const trace = text !== null ? await loadTrace('-', { stdin: Readable.from([text]) }) : await loadTrace(path as string);
    const [list, best, shipped] = compareLoaded(trace, ['span-list', 'treap-bestfit', 'treap'], { timing: false });
    expect(best.placementMatch).toBe(1);
    for (const k of ['peakHeapBytes', 'peakRssBytes', 'finalRssBytes', 'meanRssBytes', 'releasedBytes', 'pageFaults', 'refaults', 'madviseCalls'] as const) {
      expect([k, best.summary[k]]).toEqual([k, list.summary[k]]);
    }
    expect(best.fragmentation).toEqual(list.fragmentation);
    return { list, best, shipped };
  };

  test.each([1, 2, 3, 4])('random stream %i', async (seed) => {
    await same(randomTrace(seed, 4000));
  });

  // The random streams above cover the size classes; the recorded traces add real programs
  // (HEAPSIM_CHECK_ALL=1, `npm run test:exhaustive`: the generated ones too).
  const traces = readdirSync(TRACES)
    .filter((f) => /\.csv(\.gz)?$/.test(f) && (CHECK_ALL || isRecorded(f)))
    .map((f) => join(TRACES, f));
  const traceSet = CHECK_ALL ? 'every bundled trace' : 'subset: the recorded traces; HEAPSIM_CHECK_ALL=1 runs every bundled trace';
  test.each(traces)(`%s [${traceSet}]`, async (file) => {
    await same(null, file);
  });

  test('the shipped treap places large spans differently on a large-span stream', async () => {
    const { shipped } = await same(randomTrace(11, 6000));
    expect(shipped.placementMatch).toBeLessThan(1);
  });
});

describe('treap-aoff (Go 1.13) decisions', () => {
  const PAGE = 8192;
  const BASE = 0xc000000000;
  const make = (phys = 4096) => {
    const os = new SimOS({ physPageBytes: phys });
    return { os, heap: findBackend('treap-aoff').create({ os, pageBytes: PAGE, seed: 1 }) };
  };

  test('grows by whole 64 MiB arenas, reserved and mapped; fresh memory counts as scavenged', () => {
    const { os, heap } = make();
    expect(heap.alloc(1, -1)).toBe(BASE);
    expect(heap.heapPages).toBe(8192);
    expect(os.vsizeBytes).toBe(64 << 20);
    expect(heap.lastScavengedPages).toBe(1);
    expect(heap.releasedPages).toBe(8191);
    heap.alloc(8192, -1); // does not fit in what is left: one more arena, coalesced
    expect(heap.heapPages).toBe(16384);
  });

  test('first fit by address, not best fit', () => {
    const { heap } = make();
    const a = heap.alloc(10, -1);
    heap.alloc(1, -1);
    const b = heap.alloc(3, -1);
    heap.alloc(1, -1);
    heap.free(a, 10, -1);
    heap.free(b, 3, -1);
    // span-list would take the 3-page hole (best fit); Go 1.13 takes the lowest that fits.
    expect(heap.alloc(3, -1)).toBe(a);
    expect(heap.alloc(3, -1)).toBe(a + 3 * PAGE);
  });

  test('free spans of different scavenged state stay apart; equal ones merge', () => {
    const { heap } = make();
    const a = heap.alloc(4, -1);
    const b = heap.alloc(4, -1);
    heap.free(a, 4, -1); // unscavenged, next to b (in use)
    heap.free(b, 4, -1); // merges with a, not with the scavenged rest of the arena
    const fs = heap.freeStats();
    expect(fs.freeRuns).toBe(1);
    expect(heap.shape().freeSpans).toBe(2);
    expect(heap.alloc(8, -1)).toBe(a);
    expect(heap.lastScavengedPages).toBe(0);
  });

  test('release: highest address first, spans holding a huge page first, split to size', () => {
    const { os, heap } = make();
    const touched = (n: number) => {
      const base = heap.alloc(n, -1);
      os.touch(base, n * PAGE);
      return base;
    };
    const big = touched(600); // 4.7 MiB: holds a 2 MiB huge page
    const pin = touched(1);
    const small = touched(100);
    touched(1);
    heap.free(big, 600, -1);
    heap.free(small, 100, -1);
    expect(pin).toBe(big + 600 * PAGE);
    // The small span is higher but holds no huge page: the big one goes first. Asking
    // for 64 KiB splits at the huge-page boundary below the span's end.
    const got = heap.release(64 << 10);
    const end = big + 600 * PAGE;
    const splitAt = Math.floor((end - (64 << 10)) / (2 << 20)) * (2 << 20);
    expect(got).toBe(end - splitAt);
    expect(os.residentBytesIn(small, 100 * PAGE)).toBe(100 * PAGE);
    expect(os.residentBytesIn(splitAt, end - splitAt)).toBe(0);
    expect(os.residentBytesIn(big, splitAt - big)).toBe(splitAt - big);
    // Everything: the rest of big, then small.
    heap.release(-1);
    expect(os.residentBytesIn(small, 100 * PAGE)).toBe(0);
    expect(heap.releasedPages).toBe(heap.freeStats().freePages);
  });
});
