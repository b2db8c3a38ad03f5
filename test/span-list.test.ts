// Go 1.8 mheap decisions (go1.8 src/runtime/mheap.go: allocSpanLocked, bestFit, grow,
// freeSpanLocked) and the Go 1.12 release order, on hand-built heaps.

import { SimOS, findBackend, type PageHeap } from '../src/index.js';

const PAGE = 8192;
const BASE = 0xc000000000;
const at = (page: number) => BASE + page * PAGE;

function heapOf(physPageBytes = 4096): { os: SimOS; heap: PageHeap } {
  const os = new SimOS({ physPageBytes });
  return { os, heap: findBackend('list').create({ os, pageBytes: PAGE, seed: 1 }) };
}

/** Allocates spans of the given sizes back to back and returns their bases. */
function lay(heap: PageHeap, sizes: number[]): number[] {
  return sizes.map((n) => heap.alloc(n, -1));
}

describe('span-list (Go 1.8)', () => {
  test('growth: at least 1 MiB, rounded up to 64 KiB, contiguous from 0xc000000000', () => {
    const { os, heap } = heapOf();
    heap.alloc(1, -1);
    expect(heap.heapPages).toBe(128);
    expect(os.committedBytes).toBe(1 << 20);
    heap.alloc(129, -1); // 127 pages free at the end are not enough: grow by 129 pages rounded to 64 KiB
    expect(heap.heapPages).toBe(128 + 136);
    expect(os.mmapCalls).toBe(2);
  });

  test('a grown span coalesces with the free span at the old end of the heap', () => {
    const { heap } = heapOf();
    expect(heap.alloc(100, -1)).toBe(at(0)); // 28 pages left free at the end
    expect(heap.alloc(200, -1)).toBe(at(100)); // grows 200 pages; the new span joins the 28 free ones
    expect(heap.freeStats()).toEqual({ freePages: 28 + 200 - 200 + 0, freeRuns: 1, largestFreeRunPages: 28 });
  });

  test('large spans: best fit, the smallest span that fits', () => {
    const { heap } = heapOf();
    // Free large spans of 300, 200 and 250 pages, separated by in-use spans.
    const [a, , b, , c] = lay(heap, [300, 1, 200, 1, 250, 1]);
    heap.free(a, 300, -1);
    heap.free(b, 200, -1);
    heap.free(c, 250, -1);
    expect(heap.alloc(150, -1)).toBe(b);
    expect(heap.alloc(240, -1)).toBe(c);
  });

  test('large spans: among equal sizes, the lowest address', () => {
    const { heap } = heapOf();
    const [a, , b, , c] = lay(heap, [200, 1, 200, 1, 200, 1]);
    heap.free(b, 200, -1);
    heap.free(c, 200, -1);
    heap.free(a, 200, -1); // the list holds c, b, a in insertion order; a is lowest
    expect(heap.alloc(200, -1)).toBe(a);
    expect(heap.alloc(200, -1)).toBe(b);
  });

  test('small spans: the first non-empty list of length >= n, most recently freed first', () => {
    const { heap } = heapOf();
    const [x, , y, , z] = lay(heap, [3, 1, 3, 1, 5, 1]);
    heap.free(x, 3, -1);
    heap.free(y, 3, -1);
    heap.free(z, 5, -1);
    expect(heap.alloc(3, -1)).toBe(y); // front of list 3
    expect(heap.alloc(3, -1)).toBe(x);
    expect(heap.alloc(4, -1)).toBe(z); // list 4 empty: list 5, not the large tail
    expect(heap.alloc(1, -1)).toBe(z + 4 * PAGE); // the trimmed page went to list 1
  });

  test('freeing coalesces with both neighbours', () => {
    const { heap } = heapOf();
    const [a, b, c] = lay(heap, [2, 3, 4, 1]);
    heap.free(a, 2, -1);
    heap.free(c, 4, -1);
    heap.free(b, 3, -1);
    expect(heap.alloc(9, -1)).toBe(a);
  });

  test('release: whole free spans, largest first, until the request is met', () => {
    const { os, heap } = heapOf();
    const [a, , b] = lay(heap, [200, 1, 300, 1]);
    heap.free(a, 200, -1);
    heap.free(b, 300, -1);
    const freeTail = heap.freeStats().freePages - 500;
    expect(heap.release(PAGE)).toBe(300 * PAGE);
    expect(heap.releasedPages).toBe(300);
    expect(os.madviseCalls).toBe(1);
    expect(heap.release(PAGE)).toBe(200 * PAGE); // the 300-page span is released already
    expect(heap.release(-1)).toBe(freeTail * PAGE);
    expect(heap.release(-1)).toBe(0);
  });

  test('release rounds in to physical pages: a span inside one physical page releases nothing', () => {
    const { os, heap } = heapOf(16384);
    const [, x] = lay(heap, [1, 1, 1]); // x = page 1: half of the physical page [0, 2)
    heap.free(x, 1, -1);
    heap.alloc(125, -1); // take the free tail [3, 128) so that only x is free
    expect(heap.freeStats().freeRuns).toBe(1);
    expect(heap.release(-1)).toBe(0);
    expect(os.madviseCalls).toBe(0);
  });

  test('reusing part of a released span: the trimmed tail keeps its released pages', () => {
    const { os, heap } = heapOf();
    const x = heap.alloc(1, -1);
    heap.free(x, 1, -1);
    expect(heap.release(-1)).toBe(128 * PAGE);
    expect(heap.alloc(1, -1)).toBe(x);
    expect(heap.lastScavengedPages).toBe(1);
    // Go 1.8 zeroed the tail's count although the OS kept its 127 pages released;
    // heapsim keeps the count, so nothing releases them a second time (span-heap.ts).
    expect(heap.releasedPages).toBe(127);
    expect(heap.release(-1)).toBe(0);
    expect(os.rssBytes).toBe(0);
  });
});
