// A pool of worker threads that run replays (src/pool/tasks.ts) for `compare` and `sweep`.
//
// Hand-written on node:worker_threads rather than piscina: docs/sweep.md gives the
// measurement; the deciding feature is trace affinity. Each worker keeps the last trace
// it parsed (tasks.ts), so the scheduler hands an idle worker, in this order:
//   1. the oldest queued task with the affinity (trace) the worker last ran, so a trace
//      parsed once serves every run of it that this worker gets;
//   2. else the oldest task whose affinity no worker holds, so two workers start on two
//      different traces instead of both parsing the first;
//   3. else the oldest task (load balance wins at the end of a sweep).
//
// Invariants: a task is given to exactly one worker and settles exactly once (its promise
// resolves with the worker's value or rejects with the error the worker threw, rebuilt
// as the same kind: OptionError, HeapsimError, or an internal Error carrying the worker's
// stack). A worker that dies takes only its own task with it and is replaced. close()
// terminates every worker; tasks still queued then are rejected.

import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import { HeapsimError } from '../errors.js';
import { OptionError, type RunOptions } from '../options.js';
import { packageRoot } from '../traces.js';
import type { PoolTask, WorkerMessage, WorkerError } from './tasks.js';

/** The number of workers a pool gets when none is asked for: one per CPU this process may use. */
export function defaultWorkers(): number {
  return availableParallelism();
}

/**
 * The worker's module. Built, it sits beside this file; run from the TypeScript sources
 * (jest), the built copy under dist/ is used, since a worker thread cannot load .ts.
 */
function workerUrl(): URL {
  const here = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  const built = join(packageRoot(), 'dist', 'src', 'pool', 'worker.js');
  if (!existsSync(built)) throw new Error(`the pool's worker module is not built (${built}): run npm run build`);
  return new URL(`file://${built}`);
}

/** The error a worker threw, as the same kind of error in this thread. */
function rebuildError(e: WorkerError): Error {
  if (e.kind === 'option') return new OptionError(e.option as keyof RunOptions, e.message);
  if (e.kind === 'heapsim') return new HeapsimError(e.message);
  const err = new Error(e.message);
  err.name = e.name;
  err.stack = e.stack;
  return err;
}

interface Pending {
  task: PoolTask;
  affinity: string;
  onProgress?: (events: number) => void;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  busy: Pending | null;
  affinity: string | null;
}

export interface RunTaskOptions {
  /** Tasks with the same affinity (a trace's path) prefer the worker that ran one before. */
  affinity?: string;
  /** Events replayed so far in this task, reported now and then by the worker. */
  onProgress?: (events: number) => void;
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  /**
   * Queued tasks by affinity, each a FIFO (`head`: the next to run), the affinities in the
   * order their first task came: picking a task costs O(affinities), not O(tasks), so a
   * sweep of 100k runs queues and dispatches in linear time.
   */
  private readonly queues = new Map<string, { items: Pending[]; head: number }>();
  private queued = 0;
  private closed = false;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`a pool needs at least one worker, got ${size}`);
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const slot: Slot = { worker: new Worker(workerUrl()), busy: null, affinity: null };
    slot.worker.on('message', (m: WorkerMessage) => this.onMessage(slot, m));
    slot.worker.on('error', (err) => this.onDeath(slot, err));
    slot.worker.on('exit', (code) => this.onDeath(slot, new Error(`a pool worker exited with code ${code}`)));
    return slot;
  }

  /** Runs a task on some worker; settles with what the worker returned or threw. */
  run<T>(task: PoolTask, options: RunTaskOptions = {}): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the worker pool is closed'));
    return new Promise<T>((resolve, reject) => {
      const affinity = options.affinity ?? '';
      let q = this.queues.get(affinity);
      if (q === undefined) this.queues.set(affinity, (q = { items: [], head: 0 }));
      q.items.push({ task, affinity, onProgress: options.onProgress, resolve, reject });
      this.queued++;
      this.dispatch();
    });
  }

  /** Gives queued tasks to idle workers, by the affinity rules above. */
  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queued === 0) return;
      if (slot.busy !== null) continue;
      const next = this.take(slot);
      slot.busy = next;
      slot.affinity = next.affinity;
      slot.worker.postMessage(next.task);
    }
  }

  /** Removes and returns the task an idle worker gets (there is at least one). */
  private take(slot: Slot): Pending {
    const held = new Set(this.slots.map((s) => s.affinity));
    const waiting = [...this.queues].filter(([, q]) => q.head < q.items.length);
    const [affinity, q] = waiting.find(([a]) => a === slot.affinity) ?? waiting.find(([a]) => !held.has(a)) ?? waiting[0];
    const next = q.items[q.head++];
    if (q.head === q.items.length) this.queues.delete(affinity);
    this.queued--;
    return next;
  }

  private onMessage(slot: Slot, m: WorkerMessage): void {
    const p = slot.busy;
    if (p === null) return;
    if (m.type === 'progress') {
      p.onProgress?.(m.events);
      return;
    }
    slot.busy = null;
    if (m.type === 'done') p.resolve(m.value);
    else p.reject(rebuildError(m.error));
    this.dispatch();
  }

  private onDeath(slot: Slot, err: Error): void {
    const i = this.slots.indexOf(slot);
    if (i < 0 || this.closed) return;
    slot.busy?.reject(err);
    slot.worker.removeAllListeners();
    void slot.worker.terminate();
    this.slots[i] = this.spawn();
    this.dispatch();
  }

  /** Terminates the workers; queued tasks are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const q of this.queues.values()) for (const p of q.items.slice(q.head)) p.reject(new Error('the worker pool was closed'));
    this.queues.clear();
    this.queued = 0;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
