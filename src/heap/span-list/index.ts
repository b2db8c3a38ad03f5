// span-list: Go 1.8's page heap (go1.8 src/runtime/mheap.go).
//
// Small free spans live in the length-indexed lists of SpanHeap; every free span of
// 1 MiB or more lives in one unordered linked list (h.freelarge), inserted at the front
// and searched in full for the best fit: the smallest span that fits, the lowest address
// among equals (bestFit). That search is O(n) in the number of large free spans: the
// cost Go issue 19393 measured on 100 GB heaps, and that Go 1.9's commit "runtime: redo
// insert/remove of large spans" (2017) replaced with a treap.

import type { BackendInfo } from '../types.js';
import { SpanHeap, type LargeSpanSet, type Span } from '../span-heap.js';

class LinkedLargeSpans implements LargeSpanSet {
  private head: Span | null = null;
  count = 0;
  work = 0;

  insert(s: Span): void {
    s.prev = null;
    s.next = this.head;
    if (this.head !== null) this.head.prev = s;
    this.head = s;
    this.count++;
  }

  remove(s: Span): void {
    if (s.prev !== null) s.prev.next = s.next;
    else this.head = s.next;
    if (s.next !== null) s.next.prev = s.prev;
    s.prev = s.next = null;
    this.count--;
  }

  take(npages: number): Span | null {
    let best: Span | null = null;
    for (let s = this.head; s !== null; s = s.next) {
      this.work++;
      if (s.npages < npages) continue;
      if (best === null || s.npages < best.npages || (s.npages === best.npages && s.page < best.page)) best = s;
    }
    if (best !== null) this.remove(best);
    return best;
  }

  forEach(fn: (s: Span) => void): void {
    for (let s = this.head; s !== null; s = s.next) fn(s);
  }

  maxPages(): number {
    let max = 0;
    for (let s = this.head; s !== null; s = s.next) if (s.npages > max) max = s.npages;
    return max;
  }

  shape(): Record<string, number> {
    return {};
  }
}

export const spanListBackend: BackendInfo = {
  name: 'span-list',
  aliases: ['list', 'go1.8'],
  goVersion: 'go1.8',
  era: 1.08,
  reserveModes: ['pretend', 'upfront', 'arenas'],
  summary: 'Go 1.8 mheap: length-indexed free lists below 1 MiB, one best-fit linked list of large spans (O(n))',
  create: (options) => new SpanHeap('span-list', options, new LinkedLargeSpans()),
};
