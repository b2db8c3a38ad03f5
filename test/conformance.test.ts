// The conformance suite every registered backend runs. A backend that cannot meet a
// case is listed in SKIPS with the reason; a skip without a reason fails the suite.

import { SimOS, backends, type BackendInfo, type PageHeap } from '../src/index.js';
import { rng } from './helpers.js';

const PAGE = 8192;
const BASE = 0xc000000000;
const SKIPS: Record<string, Record<string, string>> = {
  'treap-go1.12': {
    'a release of N bytes releases at least N when that much is free':
      "Go 1.12's scavengeLargest releases whole spans, largest first: here the arena's never-touched rest, so the OS releases more than was resident (test/go112.test.ts checks its order)",
  },
};

/** Resident bytes of the heap itself (backends may keep resident metadata elsewhere). */
function heapRss(os: SimOS, heap: PageHeap): number {
  return heap.heapPages === 0 ? 0 : os.residentBytesIn(BASE, heap.heapPages * PAGE);
}

function fresh(b: BackendInfo, physPageBytes = 4096, clock = { now: 0 }): { os: SimOS; heap: PageHeap } {
  const os = new SimOS({ physPageBytes });
  return { os, heap: b.create({ os, pageBytes: PAGE, seed: 1, clock }) };
}

/** Allocates like the engine does: the program writes every page it gets. */
function alloc(os: SimOS, heap: PageHeap, npages: number, p = -1): number {
  const base = heap.alloc(npages, p);
  os.touch(base, npages * PAGE);
  return base;
}

describe.each(backends().map((b) => [b.name, b] as const))('conformance: %s', (name, b) => {
  const skip = (caseName: string) => SKIPS[name]?.[caseName];
  const maybe = (caseName: string, fn: () => void) => {
    const why = skip(caseName);
    if (why !== undefined) {
      test.skip(`${caseName} (skipped: ${why})`, fn);
      if (why.trim() === '') throw new Error(`skip of ${name}/${caseName} has no reason`);
    } else test(caseName, fn);
  };

  maybe('the first span is at the arena base, the next one right after it', () => {
    const { os, heap } = fresh(b);
    expect(alloc(os, heap, 1)).toBe(BASE);
    expect(alloc(os, heap, 1)).toBe(BASE + PAGE);
    expect(alloc(os, heap, 3)).toBe(BASE + 2 * PAGE);
  });

  maybe('a freed span is reused for the same size', () => {
    const { os, heap } = fresh(b);
    alloc(os, heap, 4);
    const x = alloc(os, heap, 4);
    alloc(os, heap, 4);
    heap.free(x, 4, -1);
    expect(alloc(os, heap, 4)).toBe(x);
  });

  maybe('freeing everything leaves one free run as large as the heap', () => {
    const { os, heap } = fresh(b);
    const spans = [1, 7, 130, 2, 600, 64].map((n) => [alloc(os, heap, n), n] as const);
    for (const [base, n] of spans.reverse()) heap.free(base, n, -1);
    const fs = heap.freeStats();
    expect(fs.freePages).toBe(heap.heapPages);
    expect(fs.freeRuns).toBe(1);
    expect(fs.largestFreeRunPages).toBe(heap.heapPages);
  });

  maybe('a span larger than the heap grows it', () => {
    const { os, heap } = fresh(b);
    alloc(os, heap, 1);
    const before = heap.heapPages;
    const big = alloc(os, heap, before + 10);
    expect(heap.heapPages).toBeGreaterThanOrEqual(before + 10 + 1);
    expect(big).toBeGreaterThanOrEqual(BASE);
    expect(os.committedBytes).toBeGreaterThanOrEqual(heap.heapPages * PAGE);
  });

  maybe('releasing everything returns all free memory to the OS and keeps in-use memory resident', () => {
    const { os, heap } = fresh(b);
    const keep = alloc(os, heap, 3);
    const gone = alloc(os, heap, 200);
    heap.free(gone, 200, -1);
    const released = heap.release(-1);
    expect(released).toBeGreaterThanOrEqual(200 * PAGE);
    expect(heap.releasedPages).toBe(heap.freeStats().freePages);
    expect(heapRss(os, heap)).toBe(3 * PAGE);
    expect(os.residentBytesIn(keep, 3 * PAGE)).toBe(3 * PAGE);
  });

  maybe('reallocating released memory reports its scavenged pages', () => {
    const { os, heap } = fresh(b);
    const x = alloc(os, heap, 16);
    heap.free(x, 16, -1);
    heap.release(-1);
    alloc(os, heap, 16);
    expect(heap.lastScavengedPages).toBe(16);
    alloc(os, heap, 1);
    expect(heap.lastScavengedPages).toBeLessThanOrEqual(1);
  });

  maybe('a release of N bytes releases at least N when that much is free', () => {
    const { os, heap } = fresh(b);
    const x = alloc(os, heap, 300);
    alloc(os, heap, 1);
    heap.free(x, 300, -1);
    const r = heap.release(64 * 1024);
    expect(r).toBeGreaterThanOrEqual(64 * 1024);
    expect(heapRss(os, heap)).toBe(301 * PAGE - os.releasedBytes);
  });

  maybe('a release from inside onGrow (scavenging on growth, Go 1.12+) leaves the heap consistent', () => {
    const os = new SimOS({ physPageBytes: 4096 });
    const grown: number[] = [];
    let releasedOnGrow = 0;
    const heap: PageHeap = b.create({
      os,
      pageBytes: PAGE,
      seed: 1,
      onGrow: (bytes) => {
        grown.push(bytes);
        releasedOnGrow += heap.release(bytes);
      },
    });
    const keep = alloc(os, heap, 1);
    heap.free(alloc(os, heap, 100), 100, -1);
    const before = heap.heapPages;
    const big = alloc(os, heap, before + 10);
    expect(grown.length).toBeGreaterThanOrEqual(2);
    expect(grown.every((bytes) => bytes > 0)).toBe(true);
    expect(releasedOnGrow).toBeGreaterThanOrEqual(100 * PAGE);
    expect(big >= keep + PAGE || big + (before + 10) * PAGE <= keep).toBe(true);
    const fs = heap.freeStats();
    expect(fs.freePages + 1 + before + 10).toBe(heap.heapPages);
    expect(heap.releasedPages).toBeLessThanOrEqual(fs.freePages);
    expect(os.residentBytesIn(keep, PAGE)).toBe(PAGE);
    expect(os.residentBytesIn(big, (before + 10) * PAGE)).toBe((before + 10) * PAGE);
  });

  maybe('work is counted', () => {
    const { os, heap } = fresh(b);
    const w0 = heap.work;
    alloc(os, heap, 1);
    expect(heap.work).toBeGreaterThan(w0);
  });

  maybe('random op streams keep the heap consistent', () => {
    for (const seed of [1, 2, 3]) {
      const rand = rng(seed);
      const clock = { now: 0 };
      const { os, heap } = fresh(b, seed === 3 ? 16384 : 4096, clock);
      const live: [number, number][] = [];
      let inUse = 0;
      for (let step = 0; step < 1500; step++) {
        clock.now = step * 1000;
        const r = rand();
        if (r < 0.55 || live.length === 0) {
          const kind = rand();
          const n = kind < 0.7 ? 1 + Math.floor(rand() * 8) : kind < 0.93 ? 9 + Math.floor(rand() * 119) : 128 + Math.floor(rand() * 1500);
          live.push([alloc(os, heap, n, Math.floor(rand() * 3) - 1), n]);
          inUse += n;
        } else if (r < 0.97) {
          const [base, n] = live.splice(Math.floor(rand() * live.length), 1)[0];
          heap.free(base, n, -1);
          inUse -= n;
        } else {
          heap.release(rand() < 0.2 ? -1 : Math.floor(rand() * 4 * 1024 * 1024));
        }
        if (step % 50 === 0 || step === 1499) {
          // Per-span checks are gathered and compared with [] once per checkpoint: the
          // same checks, without an expect call per live span.
          const bad: string[] = [];
          const sorted = [...live].sort((a, c) => a[0] - c[0]);
          for (let i = 1; i < sorted.length; i++) {
            if (sorted[i][0] < sorted[i - 1][0] + sorted[i - 1][1] * PAGE)
              bad.push(`step ${step}: span at ${sorted[i][0]} overlaps the one at ${sorted[i - 1][0]}`);
          }
          const fs = heap.freeStats();
          expect(fs.freePages + inUse).toBe(heap.heapPages);
          expect(fs.largestFreeRunPages).toBeLessThanOrEqual(fs.freePages);
          expect(fs.freeRuns === 0).toBe(fs.freePages === 0);
          expect(heap.releasedPages).toBeLessThanOrEqual(fs.freePages);
          expect(os.rssBytes).toBeLessThanOrEqual(os.committedBytes);
          // Released pages are free pages: every live span is still fully resident.
          const phys = os.physPageBytes;
          for (const [base, n] of live) {
            const first = Math.floor(base / phys);
            const last = Math.floor((base + n * PAGE - 1) / phys);
            const rss = os.residentBytesIn(base, n * PAGE);
            if (rss !== (last - first + 1) * phys)
              bad.push(`step ${step}: live span at ${base} (${n} pages) has ${rss} resident bytes, want ${(last - first + 1) * phys}`);
          }
          expect(bad).toEqual([]);
        }
      }
    }
  });
});

test('every skip names its reason', () => {
  for (const [backend, cases] of Object.entries(SKIPS)) {
    for (const [c, why] of Object.entries(cases)) expect(`${backend}/${c}: ${why.trim()}`).not.toMatch(/: $/);
  }
});
