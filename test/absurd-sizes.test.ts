// Absurd but well-formed traces (a hostile-user report): every backend must answer with a
// replay result, a simulated out-of-memory outcome or a typed configuration error — never
// a RangeError, a plain Error or a hang. The reproducers live in test/fixtures/absurd/.
//
// - page-size-N.csv: a tiny trace with `# page_size=N`. The span heaps scale to any page
//   size (with pages of 1 MiB or more they have no small lists); bitmap models Go's 8 KiB
//   page only and refuses the rest with HeapConfigError.
// - alloc-2pE.csv: one allocation of 2^E pages of 8 KiB. Go 1.8-1.10 (span-list, treap,
//   treap-bestfit by default) could not grow past its 512 GiB arena, so even 2^31 pages
//   (16 TiB) is out of memory; Go 1.13 and 1.19 (treap-aoff, bitmap) are bounded by the
//   48-bit address space (and, for bitmap, the metadata the kernel placed at its top).
//   The 16 TiB and 128 TiB allocations those two accept are valid; bitmap keeps wholly
//   uniform chunks as tags, so its 16 TiB alloc+free (alloc-2p31.csv) is replayed here,
//   with --check's free statistics after every event, in well under a second.
// - huge-p.csv: a P column of 2147483647: bitmap's page caches are keyed sparsely.

import { join } from 'node:path';
import { HeapConfigError, SimOS, findBackend, replayFile, type ReplayResult } from '../src/index.js';
import { FIXTURES } from './helpers.js';

const ABSURD = join(FIXTURES, 'absurd');
const SPAN_BACKENDS = ['span-list', 'treap', 'treap-bestfit', 'treap-aoff'];
const PAGE_SIZES = [4096, 8192, 16384, 65536, 2097152];

const replay = (file: string, backend: string): Promise<ReplayResult> => replayFile(join(ABSURD, file), { backend, timing: false });

describe('page sizes', () => {
  for (const backend of SPAN_BACKENDS) {
    test.each(PAGE_SIZES)(`${backend} replays page_size=%i`, async (pageBytes) => {
      const r = await replay(`page-size-${pageBytes}.csv`, backend);
      expect(r.outcome).toBe('ok');
      expect(r.summary.peakInUseBytes).toBe(203 * pageBytes);
    });
  }

  test('bitmap replays page_size=8192', async () => {
    expect((await replay('page-size-8192.csv', 'bitmap')).outcome).toBe('ok');
  });

  test.each([4096, 16384, 65536, 2097152])('bitmap refuses page_size=%i with HeapConfigError', async (pageBytes) => {
    await expect(replay(`page-size-${pageBytes}.csv`, 'bitmap')).rejects.toThrow(HeapConfigError);
    await expect(replay(`page-size-${pageBytes}.csv`, 'bitmap')).rejects.toThrow(/only Go's 8192-byte pages/);
  });
});

describe('allocations larger than the era could map are a simulated out-of-memory', () => {
  const cases: [string, string, RegExp][] = [];
  for (const b of ['span-list', 'treap', 'treap-bestfit']) {
    for (const e of [31, 34, 40]) cases.push([b, `alloc-2p${e}.csv`, /512 GiB arena/]);
  }
  cases.push(['treap-aoff', 'alloc-2p40.csv', /48-bit address space/]);
  cases.push(['bitmap', 'alloc-2p34.csv', /mappings the kernel placed/]);
  cases.push(['bitmap', 'alloc-2p40.csv', /mappings the kernel placed/]);

  test.each(cases)('%s: %s', async (backend, file, why) => {
    const r = await replay(file, backend);
    expect(r.outcome).toBe('oom');
    expect(r.oom).toMatchObject({ seq: 1, line: 3, op: 'alloc' });
    expect(r.oom!.message).toMatch(/^runtime: out of memory/);
    expect(r.oom!.message).toMatch(why);
  });
});

test('bitmap with P 2147483647 replays like any other P', async () => {
  const r = await replay('huge-p.csv', 'bitmap');
  expect(r.outcome).toBe('ok');
  expect(r.summary.allocs).toBe(3);
  expect(r.summary.finalInUseBytes).toBe(0);
});

describe('bitmap: 16 TiB in one span (2^31 pages, four million chunks)', () => {
  const PAGES = 2 ** 31;

  test('alloc-2p31.csv replays under --check with exact figures', async () => {
    const r = await replayFile(join(ABSURD, 'alloc-2p31.csv'), { backend: 'bitmap', timing: false, check: true });
    expect(r.outcome).toBe('ok');
    expect(r.summary.peakInUseBytes).toBe(PAGES * 8192);
    expect(r.summary.peakHeapBytes).toBe(PAGES * 8192);
    expect(r.summary.finalInUseBytes).toBe(0);
    expect(r.fragmentation.freeBytesAtPeak).toBe(0);
    expect(r.fragmentation.freeRunsAtPeak).toBe(0);
  });

  test('free statistics count the uniform chunks whole, beside a partly used one', () => {
    const os = new SimOS({ physPageBytes: 4096 });
    const heap = findBackend('bitmap').create({ os, pageBytes: 8192, seed: 1 });
    const big = heap.alloc(PAGES, -1);
    const small = heap.alloc(3, -1);
    // The heap grew by whole chunks: the small span's chunk holds 509 more free pages.
    expect(heap.freeStats()).toEqual({ freePages: 509, freeRuns: 1, largestFreeRunPages: 509 });
    heap.free(big, PAGES, -1);
    expect(heap.freeStats()).toEqual({ freePages: PAGES + 509, freeRuns: 2, largestFreeRunPages: PAGES });
    heap.free(small, 3, -1);
    expect(heap.freeStats()).toEqual({ freePages: PAGES + 512, freeRuns: 1, largestFreeRunPages: PAGES + 512 });
    // Only the 509 never-used pages are still released (grown memory counts released).
    expect(heap.releasedPages).toBe(509);
    // The scavenger goes highest first: the small span's 3 pages, one whole uniform chunk
    // (a tag flip), then the next one's top 509 pages, the rest of the request, widened
    // to the whole chunk rather than break a free huge page (2 MiB).
    expect(heap.release(8 << 20)).toBe((3 + 1024) * 8192);
    expect(heap.releasedPages).toBe(509 + 3 + 1024);
  });
});
