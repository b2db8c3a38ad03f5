// treap and treap-bestfit: Go 1.9's page heap (Go commit "runtime: redo insert/remove
// of large spans", 2017; go1.9-go1.11 mgclarge.go).
//
// Go 1.9 kept Go 1.8's length-indexed lists for spans under 1 MiB and replaced the
// linked list of large spans with a treap ordered by (npages, span). Insert, removeSpan
// and the rotations follow that commit. Two searches are offered:
//
// - `treap` (as shipped, Go 1.9 to 1.12): descend right while the node is too small;
//   go left only while the left child itself is big enough; otherwise take this node.
//   It never looks into the right subtree of a too-small left child, where a better fit
//   may live, so it can return a 5000-page span while 5-page spans exist (Go issue
//   31616). That changes placement, not just cost, and heapsim keeps it.
// - `treap-bestfit`: what the comment promised, the smallest fitting span, lowest
//   address among equals: a lower-bound descent. Its placement equals span-list's.
//
// The secondary key: Go 1.9.0 compared mspan struct addresses (Go issue 28805 later made
// it the span base). heapsim has no mspan addresses, so it uses the span base address.

import type { BackendInfo } from '../types.js';
import { SpanHeap, type LargeSpanSet, type Span } from '../span-heap.js';
import { TreapCore, TreapNode } from '../treap-core.js';

export class SizeNode extends TreapNode<SizeNode> {
  constructor(
    priority: number,
    readonly span: Span,
    /** npagesKey: the span's length when it was inserted. */
    readonly npages: number,
  ) {
    super(priority);
  }
}

/** Is (n, page) ordered before node t? */
function before(npages: number, page: number, t: SizeNode): boolean {
  return npages < t.npages || (npages === t.npages && page < t.span.page);
}

export type TreapSearch = 'shipped' | 'bestfit';

export class SizeTreap extends TreapCore<SizeNode> implements LargeSpanSet {
  /** `priority`: a seed for the generator, or the priorities themselves (tests). */
  constructor(
    readonly search: TreapSearch,
    priority: number | (() => number),
  ) {
    super(priority);
  }

  insert(s: Span): void {
    const node = new SizeNode(this.priority(), s, s.npages);
    let parent: SizeNode | null = null;
    let left = false;
    for (let t = this.root; t !== null;) {
      this.work++;
      parent = t;
      left = before(s.npages, s.page, t);
      t = left ? t.left : t.right;
    }
    this.link(node, parent, left);
  }

  remove(s: Span): void {
    // removeSpan descends by key to the node; each node on the way is work.
    let t = this.root;
    for (; t !== null && t.span !== s; t = before(s.npages, s.page, t) ? t.left : t.right) this.work++;
    if (t === null) throw new Error(`treap: span at page ${s.page} is not in the treap`);
    this.work++;
    this.unlink(t);
  }

  /** The node the era's search picks for npages, or null. */
  find(npages: number): SizeNode | null {
    let t = this.root;
    if (this.search === 'shipped') {
      while (t !== null) {
        this.work++;
        if (t.npages < npages) t = t.right;
        else if (t.left !== null && t.left.npages >= npages) t = t.left;
        else return t;
      }
      return null;
    }
    let best: SizeNode | null = null;
    while (t !== null) {
      this.work++;
      if (t.npages >= npages) {
        best = t;
        t = t.left;
      } else t = t.right;
    }
    return best;
  }

  take(npages: number): Span | null {
    const t = this.find(npages);
    if (t === null) return null;
    this.unlink(t);
    return t.span;
  }

  forEach(fn: (s: Span) => void): void {
    this.forEachNode((n) => fn(n.span));
  }

  maxPages(): number {
    let t = this.root;
    if (t === null) return 0;
    while (t.right !== null) t = t.right;
    return t.npages;
  }

  shape(): Record<string, number> {
    return this.treapShape();
  }
}

export const treapBackend: BackendInfo = {
  name: 'treap',
  aliases: ['go1.9'],
  goVersion: 'go1.9',
  era: 1.09,
  reserveModes: ['pretend', 'upfront', 'arenas'],
  summary:
    'Go 1.9-1.11 mheap: small free lists plus a (pages, address) treap of large spans, with the shipped search that is not quite best fit (Go issue 31616)',
  create: (o) => new SpanHeap('treap', o, new SizeTreap('shipped', o.seed)),
};

export const treapBestFitBackend: BackendInfo = {
  name: 'treap-bestfit',
  aliases: [],
  goVersion: 'go1.9',
  era: 1.091,
  reserveModes: ['pretend', 'upfront', 'arenas'],
  summary: 'Go 1.9 mheap with the best-fit treap search its comment promised (placement equals span-list)',
  create: (o) => new SpanHeap('treap-bestfit', o, new SizeTreap('bestfit', o.seed)),
};
