// Go 1.13's treap of free spans (go1.13 src/runtime/mgclarge.go): keyed by base
// address, each node summarising its subtree with
// - maxPages: the largest span length below it, so the lowest-addressed span of at
//   least n pages is found in one descent (address-ordered first fit), and
// - types: which kinds of span (scavenged or not, holding a huge page or not) are
//   below it, so iteration can skip subtrees with nothing of the wanted kind.
//
// A span kind is a 2-bit treapIterType (bit 0 scavenged, bit 1 contains a huge page); a
// filter is a 4-bit set of kinds (Go's treapIterFilter), `1 << kind` for one span.

import { TreapCore, TreapNode } from '../treap-core.js';

export const ITER_SCAV = 1;
export const ITER_HUGE = 2;
const ITER_KINDS = 4;

/** Go's treapFilter(mask, match): the kinds k with k & mask == match. */
export function treapFilter(mask: number, match: number): number {
  let allow = 0;
  for (let k = 0; k < ITER_KINDS; k++) if ((k & mask) === match) allow |= 1 << k;
  return allow;
}

/** A free span as Go 1.13's treap and mheap see it (the mspan fields they read). */
export interface AddrSpan {
  page: number;
  npages: number;
  scavenged: boolean;
  /** Trace time the span last became free (unusedsince; Go 1.13 still kept it). */
  unusedSince: number;
  /** The span's node while it is in the treap, owned by the treap. */
  node: AddrNode | null;
}

export class AddrNode extends TreapNode<AddrNode> {
  maxPages = 0;
  types = 0;
  constructor(
    priority: number,
    readonly span: AddrSpan,
  ) {
    super(priority);
  }
}

export class AddressTreap extends TreapCore<AddrNode> {
  /** `priority`: a seed for the generator, or the priorities themselves (tests). */
  constructor(
    priority: number | (() => number),
    /** Whether a span holds at least one aligned huge page. */
    private readonly holdsHugePage: (s: AddrSpan) => boolean,
  ) {
    super(priority);
  }

  kindOf(s: AddrSpan): number {
    return 1 << ((s.scavenged ? ITER_SCAV : 0) | (this.holdsHugePage(s) ? ITER_HUGE : 0));
  }

  protected override update(t: AddrNode): boolean {
    const m = t.maxPages;
    const k = t.types;
    t.maxPages = t.span.npages;
    t.types = this.kindOf(t.span);
    const l = t.left;
    const r = t.right;
    if (l !== null) {
      t.types |= l.types;
      if (l.maxPages > t.maxPages) t.maxPages = l.maxPages;
    }
    if (r !== null) {
      t.types |= r.types;
      if (r.maxPages > t.maxPages) t.maxPages = r.maxPages;
    }
    return m !== t.maxPages || k !== t.types;
  }

  insert(s: AddrSpan): void {
    const node = new AddrNode(this.priority(), s);
    node.maxPages = s.npages;
    node.types = this.kindOf(s);
    s.node = node;
    let parent: AddrNode | null = null;
    let left = false;
    for (let t = this.root; t !== null;) {
      this.work++;
      parent = t;
      if (t.span.page === s.page) throw new Error(`treap-aoff: span at page ${s.page} inserted twice`);
      left = s.page < t.span.page;
      t = left ? t.left : t.right;
    }
    this.link(node, parent, left);
  }

  /** removeSpan: descend by address to the span's node and remove it. */
  removeSpan(s: AddrSpan): void {
    let t = this.root;
    for (; t !== null && t.span !== s; t = s.page < t.span.page ? t.left : t.right) this.work++;
    if (t === null) throw new Error(`treap-aoff: span at page ${s.page} is not in the treap`);
    this.erase(t);
  }

  /** Removes a node the caller holds (Go's erase of an iterator). */
  erase(t: AddrNode): void {
    this.work++;
    this.unlink(t);
    t.span.node = null;
  }

  /** The span's size, base or kind changed in place (order preserved): fix summaries. */
  mutated(t: AddrNode): void {
    for (let n: AddrNode | null = t; n !== null && this.update(n); n = n.parent) this.work++;
  }

  /** The lowest-addressed node whose span has at least npages, or null (find). */
  find(npages: number): AddrNode | null {
    let t = this.root;
    while (t !== null) {
      this.work++;
      const l = t.left;
      if (l !== null && l.maxPages >= npages) t = l;
      else if (t.span.npages >= npages) return t;
      else {
        const r = t.right;
        t = r !== null && r.maxPages >= npages ? r : null;
      }
    }
    return null;
  }

  /** The highest-addressed node in root's subtree matching filter f (findMaximal). */
  findMaximal(root: AddrNode | null, f: number): AddrNode | null {
    if (root === null || (f & root.types) === 0) return null;
    for (let t: AddrNode = root; ;) {
      this.work++;
      const r = t.right;
      const l = t.left;
      if (r !== null && (f & r.types) !== 0) t = r;
      else if ((f & this.kindOf(t.span)) !== 0) return t;
      else if (l !== null && (f & l.types) !== 0) t = l;
      else throw new Error('treap-aoff: types summary is inconsistent');
    }
  }

  findMinimal(root: AddrNode | null, f: number): AddrNode | null {
    if (root === null || (f & root.types) === 0) return null;
    for (let t: AddrNode = root; ;) {
      this.work++;
      const r = t.right;
      const l = t.left;
      if (l !== null && (f & l.types) !== 0) t = l;
      else if ((f & this.kindOf(t.span)) !== 0) return t;
      else if (r !== null && (f & r.types) !== 0) t = r;
      else throw new Error('treap-aoff: types summary is inconsistent');
    }
  }

  end(f: number): AddrNode | null {
    return this.findMaximal(this.root, f);
  }

  start(f: number): AddrNode | null {
    return this.findMinimal(this.root, f);
  }

  /** The predecessor of t among nodes matching f (pred). */
  pred(t: AddrNode, f: number): AddrNode | null {
    const l = t.left;
    if (l !== null && (f & l.types) !== 0) return this.findMaximal(l, f);
    let p: AddrNode = t;
    for (let q = t.parent; q !== null; p = q, q = q.parent) {
      this.work++;
      if (q.right === p) {
        if ((f & this.kindOf(q.span)) !== 0) return q;
        const ql = q.left;
        if (ql !== null && (f & ql.types) !== 0) return this.findMaximal(ql, f);
      }
    }
    return null;
  }

  /** The successor of t among nodes matching f (succ). */
  succ(t: AddrNode, f: number): AddrNode | null {
    const r = t.right;
    if (r !== null && (f & r.types) !== 0) return this.findMinimal(r, f);
    let p: AddrNode = t;
    for (let q = t.parent; q !== null; p = q, q = q.parent) {
      this.work++;
      if (q.left === p) {
        if ((f & this.kindOf(q.span)) !== 0) return q;
        const qr = q.right;
        if (qr !== null && (f & qr.types) !== 0) return this.findMinimal(qr, f);
      }
    }
    return null;
  }

  /** Checks order, heap priority and both summaries everywhere (tests). */
  validate(): void {
    const check = (t: AddrNode | null, lo: number, hi: number): [number, number] => {
      if (t === null) return [0, 0];
      if (t.span.page < lo || t.span.page > hi) throw new Error('treap-aoff: out of order');
      for (const c of [t.left, t.right]) if (c !== null && (c.parent !== t || c.priority < t.priority)) throw new Error('treap-aoff: bad link or priority');
      const [lm, lt] = check(t.left, lo, t.span.page - 1);
      const [rm, rt] = check(t.right, t.span.page + 1, hi);
      const max = Math.max(t.span.npages, lm, rm);
      const types = this.kindOf(t.span) | lt | rt;
      if (max !== t.maxPages || types !== t.types) throw new Error('treap-aoff: summary invariant violated');
      return [max, types];
    };
    check(this.root, -Infinity, Infinity);
  }
}
