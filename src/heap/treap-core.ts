// A treap with parent pointers: the mechanics Go's mgclarge.go used from Go 1.9 to
// Go 1.13, shared by the size-ordered treap (treap, treap-bestfit) and the
// address-ordered one (treap-aoff).
//
// A backend's node type extends TreapNode<itself>, so links are typed as that node type
// and no code downcasts.
//
// Invariants: in-order by the subclass's key; a min-heap on `priority` (a parent's
// priority is <= its children's, as Go's "rotate up while parent.priority >
// t.priority"); `update(node)` recomputes any per-subtree summary (Go 1.13's maxPages)
// and is called bottom-up after every structural change.
//
// Insertion adds a leaf and rotates it up; removal rotates the node down (towards the
// child of smaller priority) until it is a leaf, as Go's removeNode does. Rotations and
// nodes visited count as work units.

import { mulberry32u } from '../util/rng.js';

/** The links of a node whose own type is N. */
export class TreapNode<N extends TreapNode<N>> {
  left: N | null = null;
  right: N | null = null;
  parent: N | null = null;
  constructor(readonly priority: number) {}
}

export abstract class TreapCore<N extends TreapNode<N>> {
  root: N | null = null;
  count = 0;
  work = 0;
  /** Priorities: from a seeded generator (mulberry32) so runs are reproducible, or given (tests). */
  protected readonly priority: () => number;

  constructor(priority: number | (() => number)) {
    this.priority = typeof priority === 'number' ? mulberry32u(priority) : priority;
  }

  /** Recomputes a node's subtree summary; true if it changed. */
  protected update(_node: N): boolean {
    return false;
  }

  /** Links `node` as a leaf under `parent` (null: the root) on the given side, then balances. */
  protected link(node: N, parent: N | null, left: boolean): void {
    node.parent = parent;
    if (parent === null) this.root = node;
    else if (left) parent.left = node;
    else parent.right = node;
    this.count++;
    for (let p = parent; p !== null && this.update(p); p = p.parent) this.work++;
    for (let p = node.parent; p !== null && p.priority > node.priority; p = node.parent) {
      if (p.left === node) this.rotateRight(p, node);
      else this.rotateLeft(p, node);
    }
  }

  /** Removes a node: rotate it down to a leaf, then cut it off. */
  protected unlink(t: N): void {
    for (let l = t.left, r = t.right; l !== null || r !== null; l = t.left, r = t.right) {
      if (l !== null && (r === null || l.priority < r.priority)) this.rotateRight(t, l);
      else if (r !== null) this.rotateLeft(t, r);
    }
    const p = t.parent;
    if (p === null) this.root = null;
    else {
      if (p.left === t) p.left = null;
      else p.right = null;
      for (let q: N | null = p; q !== null && this.update(q); q = q.parent) this.work++;
    }
    t.parent = null;
    this.count--;
  }

  /** (x a (y b c)) -> (y (x a b) c), y being x's right child. */
  protected rotateLeft(x: N, y: N): void {
    this.work++;
    const p = x.parent;
    const b = y.left;
    x.right = b;
    if (b !== null) b.parent = x;
    y.left = x;
    x.parent = y;
    y.parent = p;
    if (p === null) this.root = y;
    else if (p.left === x) p.left = y;
    else p.right = y;
    this.update(x);
    this.update(y);
  }

  /** (y (x a b) c) -> (x a (y b c)), x being y's left child. */
  protected rotateRight(y: N, x: N): void {
    this.work++;
    const p = y.parent;
    const b = x.right;
    y.left = b;
    if (b !== null) b.parent = y;
    x.right = y;
    y.parent = x;
    x.parent = p;
    if (p === null) this.root = x;
    else if (p.left === y) p.left = x;
    else p.right = x;
    this.update(y);
    this.update(x);
  }

  /** In-order walk (ascending keys). */
  forEachNode(fn: (n: N) => void): void {
    const stack: N[] = [];
    let t = this.root;
    for (;;) {
      for (; t !== null; t = t.left) stack.push(t);
      const n = stack.pop();
      if (n === undefined) return;
      fn(n);
      t = n.right;
    }
  }

  /** Node count, depths (root at depth 1) and the ratio to a perfectly balanced tree. */
  treapShape(): Record<string, number> {
    if (this.root === null) return { treapNodes: 0, treapMaxDepth: 0, treapMeanDepth: 0, treapDepthOverLog2: 0 };
    let max = 0;
    let sum = 0;
    const nodes: N[] = [this.root];
    const depths: number[] = [1];
    for (let n = nodes.pop(); n !== undefined; n = nodes.pop()) {
      const d = depths.pop() ?? 0;
      sum += d;
      if (d > max) max = d;
      if (n.left !== null) {
        nodes.push(n.left);
        depths.push(d + 1);
      }
      if (n.right !== null) {
        nodes.push(n.right);
        depths.push(d + 1);
      }
    }
    const ideal = Math.max(1, Math.ceil(Math.log2(this.count + 1)));
    return { treapNodes: this.count, treapMaxDepth: max, treapMeanDepth: sum / this.count, treapDepthOverLog2: max / ideal };
  }
}
