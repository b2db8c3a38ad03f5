// A treap with parent pointers: the mechanics Go's mgclarge.go used from Go 1.9 to
// Go 1.13, shared by the size-ordered treap (treap, treap-bestfit) and the
// address-ordered one (treap-aoff).
//
// Invariants: in-order by the subclass's key; a min-heap on `priority` (a parent's
// priority is <= its children's, as Go's "rotate up while parent.priority >
// t.priority"); `update(node)` recomputes any per-subtree summary (Go 1.13's maxPages)
// and is called bottom-up after every structural change.
//
// Insertion adds a leaf and rotates it up; removal rotates the node down (towards the
// child of smaller priority) until it is a leaf, as Go's removeNode does. Rotations and
// nodes visited count as work units.

import { mulberry32u } from '../../util/rng.js';

export class TreapNode {
  left: TreapNode | null = null;
  right: TreapNode | null = null;
  parent: TreapNode | null = null;
  constructor(readonly priority: number) {}
}

export abstract class TreapCore<N extends TreapNode> {
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
    for (let p = parent; p !== null && this.update(p); p = p.parent as N | null) this.work++;
    while (node.parent !== null && node.parent.priority > node.priority) {
      if (node.parent.left === node) this.rotateRight(node.parent as N);
      else this.rotateLeft(node.parent as N);
    }
  }

  /** Removes a node: rotate it down to a leaf, then cut it off. */
  protected unlink(t: N): void {
    while (t.left !== null || t.right !== null) {
      if (t.right === null || (t.left !== null && t.left.priority < t.right.priority)) this.rotateRight(t);
      else this.rotateLeft(t);
    }
    const p = t.parent as N | null;
    if (p === null) this.root = null;
    else {
      if (p.left === t) p.left = null;
      else p.right = null;
      for (let q: N | null = p; q !== null && this.update(q); q = q.parent as N | null) this.work++;
    }
    t.parent = null;
    this.count--;
  }

  /** (x a (y b c)) -> (y (x a b) c) */
  protected rotateLeft(x: N): void {
    this.work++;
    const p = x.parent;
    const y = x.right as N;
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

  /** (y (x a b) c) -> (x a (y b c)) */
  protected rotateRight(y: N): void {
    this.work++;
    const p = y.parent;
    const x = y.left as N;
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
    while (t !== null || stack.length > 0) {
      while (t !== null) {
        stack.push(t);
        t = t.left as N | null;
      }
      const n = stack.pop() as N;
      fn(n);
      t = n.right as N | null;
    }
  }

  /** Node count, depths (root at depth 1) and the ratio to a perfectly balanced tree. */
  treapShape(): Record<string, number> {
    if (this.root === null) return { treapNodes: 0, treapMaxDepth: 0, treapMeanDepth: 0, treapDepthOverLog2: 0 };
    let max = 0;
    let sum = 0;
    const stack: [N, number][] = [[this.root, 1]];
    while (stack.length > 0) {
      const [n, d] = stack.pop() as [N, number];
      sum += d;
      if (d > max) max = d;
      if (n.left !== null) stack.push([n.left as N, d + 1]);
      if (n.right !== null) stack.push([n.right as N, d + 1]);
    }
    const ideal = Math.max(1, Math.ceil(Math.log2(this.count + 1)));
    return { treapNodes: this.count, treapMaxDepth: max, treapMeanDepth: sum / this.count, treapDepthOverLog2: max / ideal };
  }
}
