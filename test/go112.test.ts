// go1.12 on its page heaps: Go 1.12.0's treaps (treap-go1.12) and Go 1.9's treap.
//
// The repro from issue 13: alloc a 10,000-page span, free it, debug.FreeOSMemory (an
// empty scavenge row), then 100 one-page allocations. Each allocation reuses released
// memory, so Go 1.12.0 calls scavengeLargest(8 KiB) after it; there is nothing
// unreleased left to release, so nothing beyond the FreeOSMemory row may be released.
// Before the fix a trimmed tail forgot it was released and the reuse trigger released
// it again, 100 times (7.85 GiB from a 78 MiB heap).

import { SimOS, findBackend, openTraceText, replayReader, type PageHeap } from '../src/index.js';

const PAGE = 8192;
const BASE = 0xc000000000;
const ARENA = 64 << 20;

function reproText(): string {
  const rows = ['# heapsim-trace v1', '# page_size=8192', 'time,op,id,pages,bytes', '0,alloc,big,10000,', '1000,free,big,,', '2000,scavenge,,,'];
  for (let i = 0; i < 100; i++) rows.push(`${3000 + i * 1000},alloc,s${i},1,`);
  return rows.join('\n') + '\n';
}

describe('the 100-alloc repro releases nothing after its FreeOSMemory', () => {
  test.each(['treap', 'treap-go1.12', 'go1.12', 'span-list'])('--backend %s --policy go1.12', async (backend) => {
    const r = await replayReader(await openTraceText(reproText(), 'repro.csv'), { backend, policy: 'go1.12', timing: false });
    const explicit = r.summary.releases.explicit?.bytes ?? 0;
    expect(explicit).toBeGreaterThanOrEqual(10000 * PAGE);
    expect(r.summary.releases.reuse?.calls).toBe(100);
    expect(r.summary.releases.reuse?.bytes).toBe(0);
    expect(r.summary.releasedBytes).toBe(explicit);
    // The OS saw each page released once: no madvise of already released memory.
    expect(r.summary.osReleasedBytes).toBe(explicit);
  });
});

function go112(onGrow?: (heap: PageHeap, bytes: number) => void): { os: SimOS; heap: PageHeap } {
  const os = new SimOS({ physPageBytes: 4096 });
  const heap: PageHeap = findBackend('treap-go1.12').create({
    os,
    pageBytes: PAGE,
    seed: 1,
    onGrow: onGrow === undefined ? undefined : (bytes) => onGrow(heap, bytes),
  });
  return { os, heap };
}

function alloc(os: SimOS, heap: PageHeap, npages: number): number {
  const base = heap.alloc(npages, -1);
  os.touch(base, npages * PAGE);
  return base;
}

describe('treap-go1.12 (Go 1.12.0 mheap.go)', () => {
  test('the era backend of go1.12', () => {
    expect(findBackend('go1.12').name).toBe('treap-go1.12');
  });

  test('grow maps whole 64 MiB arenas and counts them as retained (not scavenged)', () => {
    const { os, heap } = go112();
    expect(alloc(os, heap, 1)).toBe(BASE);
    expect(heap.heapPages * PAGE).toBe(ARENA);
    expect(heap.releasedPages).toBe(0);
    // 8192 pages do not fit in the 8191 left: one more arena, coalesced with them.
    alloc(os, heap, ARENA / PAGE);
    expect(heap.heapPages * PAGE).toBe(2 * ARENA);
    expect(heap.freeStats()).toEqual({ freePages: ARENA / PAGE - 1, freeRuns: 1, largestFreeRunPages: ARENA / PAGE - 1 });
  });

  test('a split tail of a scavenged span stays scavenged; heap_released counts it', () => {
    const { os, heap } = go112();
    const x = alloc(os, heap, 1000);
    alloc(os, heap, 1);
    heap.free(x, 1000, -1);
    // scavengeLargest takes the largest free span first: the arena's unused rest.
    const rest = ARENA / PAGE - 1001;
    expect(heap.release(1)).toBe(rest * PAGE);
    expect(heap.release(1)).toBe(1000 * PAGE);
    expect(heap.releasedPages).toBe(rest + 1000);
    // pickFreeSpan takes the smaller fit: the 1000-page span, trimmed to 10.
    expect(alloc(os, heap, 10)).toBe(x);
    expect(heap.lastScavengedPages).toBe(10);
    expect(heap.releasedPages).toBe(rest + 990);
    // Nothing unscavenged is left to release.
    expect(heap.release(PAGE)).toBe(0);
  });

  test('freeing next to a scavenged span does not merge; a scavenged merge is re-scavenged whole', () => {
    const { os, heap } = go112();
    const a = alloc(os, heap, 10);
    const b = alloc(os, heap, 10);
    const c = alloc(os, heap, 10);
    alloc(os, heap, 1);
    heap.free(a, 10, -1);
    heap.release(-1);
    const before = os.releasedBytes;
    heap.free(b, 10, -1);
    // b is unscavenged, a scavenged: two free spans, one free run.
    expect(heap.shape().freeSpans + heap.shape().scavengedFreeSpans).toBe(3);
    expect(heap.freeStats().freeRuns).toBe(2);
    heap.release(-1);
    // b was released and merged with a: the merged 20 pages were madvised again.
    expect(os.releasedBytes - before).toBe(10 * PAGE + 20 * PAGE);
    heap.free(c, 10, -1);
    expect(heap.shape().scavengedFreeSpans).toBe(2);
  });

  test('FreeOSMemory releases every unscavenged free span; releaseIdle only the idle ones', () => {
    const clock = { now: 0 };
    const os = new SimOS({ physPageBytes: 4096 });
    const heap = findBackend('treap-go1.12').create({ os, pageBytes: PAGE, seed: 1, clock });
    const a = alloc(os, heap, 5);
    alloc(os, heap, 1);
    const b = alloc(os, heap, 7);
    alloc(os, heap, 1);
    clock.now = 100;
    heap.free(a, 5, -1);
    clock.now = 200;
    heap.free(b, 7, -1);
    // The arena's rest was freed at time 0 (grow), a at 100, b at 200.
    expect(heap.releaseIdle(150)).toBe((ARENA / PAGE - 14) * PAGE + 5 * PAGE);
    expect(heap.release(-1)).toBe(7 * PAGE);
    expect(heap.releasedPages).toBe(heap.freeStats().freePages);
  });

  test('scavenging on growth runs before the new arena joins the free treap', () => {
    const grown: number[] = [];
    let released = 0;
    const { os, heap } = go112((h, bytes) => {
      grown.push(bytes);
      released += h.release(bytes);
    });
    const x = alloc(os, heap, 100);
    heap.free(x, 100, -1);
    alloc(os, heap, ARENA / PAGE + 1);
    expect(grown).toEqual([ARENA, 2 * ARENA]);
    // The first arena's free memory (all of it) was released; the new arenas were not,
    // and the allocation took them rather than the smaller scavenged span.
    expect(released).toBe(ARENA);
    expect(heap.releasedPages * PAGE).toBe(ARENA);
    expect(heap.lastScavengedPages).toBe(0);
  });
});
