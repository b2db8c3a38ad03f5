// Go 1.19's page allocator tests (mpagealloc_test.go: TestPageAllocGrow, TestPageAllocAlloc,
// TestPageAllocExhaust (its loop written out here),
// TestPageAllocFree, TestPageAllocAllocAndFree; mgcscavenge_test.go:
// TestPageAllocScavenge; mpagecache_test.go: TestPageAllocAllocToCache), their tables
// extracted as data into test/fixtures/go/*.json (chunk indices and addresses in the
// offset address space, BaseChunkIdx = 0x200c000, PhysPageSize 4096), and
// TestPageCacheFlush, run against
// heapsim's PageAlloc the way Go's tests run against the runtime's.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHUNK_BYTES, CHUNK_WORDS, PALLOC_CHUNK_PAGES, allocRange, chunkBase, clearRange, setRange } from '../src/heap/bitmap/palloc-bits.js';
import { PageAlloc } from '../src/heap/bitmap/page-alloc.js';
import { PageCache, allocToCache } from '../src/heap/bitmap/page-cache.js';
import { candidateSize, findScavengeCandidate, scavenge } from '../src/heap/bitmap/scavenge.js';
import { FIXTURES, rng } from './helpers.js';

type Ranges = Record<string, [number, number][]>;
const load = (name: string) => JSON.parse(readFileSync(join(FIXTURES, 'go', `${name}.json`), 'utf8')).cases as Record<string, Record<string, unknown>>;
const HUGE = 2 << 20;
const noHooks = { grew() {}, chunkArray() {}, release() {} };

/** NewPageAlloc: grow each chunk, set its scavenged and allocated ranges, index it, summarise. */
function newPageAlloc(chunks: Ranges, scav?: Ranges): PageAlloc {
  const p = new PageAlloc(4096, HUGE, noHooks);
  for (const [key, alloc] of Object.entries(chunks)) {
    const ci = Number(key);
    const addr = chunkBase(ci);
    p.grow(addr, CHUNK_BYTES);
    const w = p.chunkWords(ci);
    const o = p.chunkOffset(ci);
    clearRange(w, o + CHUNK_WORDS / 2, 0, PALLOC_CHUNK_PAGES);
    for (const [i, n] of scav?.[key] ?? []) if (n !== 0) setRange(w, o + CHUNK_WORDS / 2, i, n);
    for (const [i, n] of alloc) if (n !== 0) allocRange(w, o, i, n);
    findScavengeCandidate(w, o, PALLOC_CHUNK_PAGES - 1, 1, 1, HUGE / 8192);
    if (candidateSize !== 0) p.scav.mark(addr, addr + CHUNK_BYTES);
    p.update(addr, PALLOC_CHUNK_PAGES, false, false);
  }
  return p;
}

/** checkPageAlloc: the same bounds, and equal bitmaps in every chunk both have. */
function checkPageAlloc(want: PageAlloc, got: PageAlloc): void {
  expect([got.start, got.end]).toEqual([want.start, want.end]);
  const bad: string[] = [];
  // The very discontiguous cases span a million chunk indices: compare without expect().
  for (let ci = got.start; ci < got.end && bad.length < 5; ci++) {
    if (got.hasChunk(ci) !== want.hasChunk(ci)) {
      bad.push(`chunk ${ci}: presence differs`);
      continue;
    }
    if (!got.hasChunk(ci)) continue;
    const g = got.chunkWords(ci);
    const go = got.chunkOffset(ci);
    const w = want.chunkWords(ci);
    const wo = want.chunkOffset(ci);
    for (let k = 0; k < CHUNK_WORDS; k++) {
      if (g[go + k] !== w[wo + k]) {
        bad.push(
          `chunk ${ci} ${k < CHUNK_WORDS / 2 ? 'alloc' : 'scavenged'} word ${k % (CHUNK_WORDS / 2)}: got ${g[go + k].toString(16)}, want ${w[wo + k].toString(16)}`,
        );
        break;
      }
    }
  }
  expect(bad).toEqual([]);
}

describe('mpagealloc_test.go', () => {
  const grow = load('TestPageAllocGrow');
  test.each(Object.keys(grow))('TestPageAllocGrow/%s', (name) => {
    const c = grow[name] as { chunks: number[]; inUse: [number, number][] };
    const b = newPageAlloc(Object.fromEntries(c.chunks.map((ci) => [String(ci), []])));
    expect(b.inUse.base.map((base, i) => [base, b.inUse.limit[i]])).toEqual(c.inUse);
  });

  const alloc = load('TestPageAllocAlloc');
  test.each(Object.keys(alloc))('TestPageAllocAlloc/%s', (name) => {
    const c = alloc[name] as { before: Ranges; scav?: Ranges; hits: [number, number, number][]; after: Ranges };
    const b = newPageAlloc(c.before, c.scav);
    c.hits.forEach(([npages, base, scav], k) => {
      const got = b.alloc(npages);
      expect([k, got, b.lastScav]).toEqual([k, base, scav]);
    });
    checkPageAlloc(newPageAlloc(c.after, c.scav), b);
  });

  // TestPageAllocExhaust: four empty chunks filled by allocations of one size, in address
  // order, until the next one fails; the inputs are Go's, the loop is this test's.
  test.each([1, 2, 3, 4, 5, 8, 16, 64, 1024, 1025, 2048, 2049])('TestPageAllocExhaust/%i', (npages) => {
    const BASE = 0x200c000;
    const chunks = (fill: (k: number) => [number, number][]) => Object.fromEntries([0, 1, 2, 3].map((k) => [String(BASE + k), fill(k)]));
    const b = newPageAlloc(chunks(() => []));
    const n = Math.floor((PALLOC_CHUNK_PAGES * 4) / npages);
    for (let i = 0; i < n; i++) expect([i, b.alloc(npages)]).toEqual([i, chunkBase(BASE) + i * npages * 8192]);
    expect(b.alloc(npages)).toBe(0);
    let left = n * npages;
    const want = newPageAlloc(
      chunks(() => {
        const take = Math.min(left, PALLOC_CHUNK_PAGES);
        left -= take;
        return take > 0 ? [[0, take]] : [];
      }),
    );
    checkPageAlloc(want, b);
  });

  const free = load('TestPageAllocFree');
  test.each(Object.keys(free))('TestPageAllocFree/%s', (name) => {
    const c = free[name] as { before: Ranges; npages: number; frees: number[]; after: Ranges };
    const b = newPageAlloc(c.before);
    for (const addr of c.frees) b.free(addr, c.npages, false);
    checkPageAlloc(newPageAlloc(c.after), b);
  });

  const allocAndFree = load('TestPageAllocAllocAndFree');
  test.each(Object.keys(allocAndFree))('TestPageAllocAllocAndFree/%s', (name) => {
    const c = allocAndFree[name] as { init: Ranges; hits: [boolean, number, number][] };
    const b = newPageAlloc(c.init);
    c.hits.forEach(([isAlloc, npages, base], k) => {
      if (isAlloc) expect([k, b.alloc(npages)]).toEqual([k, base]);
      else b.free(base, npages, false);
    });
  });
});

describe('mgcscavenge_test.go', () => {
  const scav = load('TestPageAllocScavenge');
  test.each(Object.keys(scav))('TestPageAllocScavenge/%s', (name) => {
    const c = scav[name] as { beforeAlloc: Ranges; beforeScav: Ranges; expect: [number, number][]; afterScav: Ranges };
    const b = newPageAlloc(c.beforeAlloc, c.beforeScav);
    c.expect.forEach(([request, want], k) => {
      const r = request >= 2 ** 63 ? Infinity : request;
      expect([k, scavenge(b, r)]).toEqual([k, want]);
    });
    checkPageAlloc(newPageAlloc(c.beforeAlloc, c.afterScav), b);
  });
});

describe('mpagecache_test.go', () => {
  // TestPageCacheFlush: flushing a cache returns its free pages to the bitmap and its
  // scavenged bits to the scavenged bitmap (empty, full and random caches, as Go's test).
  const ranges = (lo: number, hi: number, base: number): [number, number][] => {
    const out: [number, number][] = [];
    let start = 0;
    let size = 0;
    for (let i = 0; i < 64; i++) {
      const bit = i < 32 ? (lo >>> i) & 1 : (hi >>> (i - 32)) & 1;
      if (bit) {
        if (size === 0) start = i + base;
        size++;
      } else if (size !== 0) {
        out.push([start, size]);
        size = 0;
      }
    }
    if (size !== 0) out.push([start, size]);
    return out;
  };
  const rand = rng(11);
  const u32 = () => Math.floor(rand() * 2 ** 32) >>> 0;
  const flushCases: [string, number, number, number, number, number][] = [
    ['Empty', 0, 0, 0, 0, 0],
    ['Full', 0, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
    ...Array.from({ length: 100 }, (_, k): [string, number, number, number, number, number] => {
      const base = Math.floor(rand() * (PALLOC_CHUNK_PAGES / 64)) * 64;
      const cLo = u32();
      const cHi = u32();
      return [`Random${k}`, base, cLo, cHi, (u32() & cLo) >>> 0, (u32() & cHi) >>> 0];
    }),
  ];
  test.each(flushCases)('TestPageCacheFlush/%s', (_name, base, cLo, cHi, sLo, sHi) => {
    const BASE = String(0x200c000);
    const b = newPageAlloc({ [BASE]: [[base, 64]] }, { [BASE]: [] });
    const c = new PageCache();
    c.base = chunkBase(0x200c000) + base * 8192;
    [c.cacheLo, c.cacheHi, c.scavLo, c.scavHi] = [cLo, cHi, sLo, sHi];
    c.flush(b);
    expect(c.empty()).toBe(true);
    const want = newPageAlloc({ [BASE]: ranges(~cLo >>> 0, ~cHi >>> 0, base) }, { [BASE]: ranges(sLo, sHi, base) });
    checkPageAlloc(want, b);
  });

  const toCache = load('TestPageAllocAllocToCache');
  test.each(Object.keys(toCache))('TestPageAllocAllocToCache/%s', (name) => {
    const c = toCache[name] as {
      beforeAlloc: Ranges;
      beforeScav?: Ranges;
      hits: { base: number; cache: string; scav: string }[];
      afterAlloc: Ranges;
      afterScav?: Ranges;
    };
    const b = newPageAlloc(c.beforeAlloc, c.beforeScav);
    c.hits.forEach((h, k) => {
      const got = new PageCache();
      allocToCache(b, got);
      const word = (lo: number, hi: number) => '0x' + ((BigInt(hi) << 32n) | BigInt(lo)).toString(16);
      expect([k, got.base, word(got.cacheLo, got.cacheHi), word(got.scavLo, got.scavHi)]).toEqual([k, h.base, h.cache, h.scav]);
    });
    checkPageAlloc(newPageAlloc(c.afterAlloc, c.afterScav), b);
  });
});
