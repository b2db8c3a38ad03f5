// Reading a trace on a worker thread (worker.ts) while this thread replays it.
//
// The worker opens the file and runs the ordinary TraceReader on it: reading,
// decompression, line checks, parsing and id interning all happen there, so ids resolve
// to the same slots and every error is the same error at the same row. It posts the
// metadata once the header is read, then, once batches() asks for rows, each batch as one
// transferred buffer (events.ts) with the reader's statistics as they stood when it
// yielded that batch, then the end or the error that stopped it.
//
// Invariants:
// - What a consumer sees is what the same TraceReader in this thread would give it: the
//   same meta and warnings at open, the same batches in order, `stats` as they stood at
//   each batch handed over (so a replay that stops early reports the rows read so far
//   exactly as before), and the same error, of the same class with the same fields,
//   thrown after the batches that preceded it.
// - Memory stays bounded: the worker runs at most MAX_AHEAD batches ahead of the
//   consumer, so a fast reader does not queue up a large file in front of a slow replay.
//   The consumer counts the batches it took in a shared counter (CONSUMED) that the worker
//   sleeps on, and wakes it only once half the window is free: a message per batch back
//   to the worker showed as 17% of the replaying thread's samples in postMessage, and a
//   wake-up per batch as 11% (CPU profile of the CLI, bitmap, gen steady 1.33M, on a
//   loaded machine, where waking the worker costs the waker its core).
// - Rows are not read until batches() is called (like the TraceReader, whose header is
//   all openTrace reads), and close() ends the worker: a caller after the metadata only
//   pays for the worker's start. The worker does not keep the process alive unless
//   batches() is waiting on it.

import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HeapsimError, TraceError, type TraceErrorKind } from '../errors.js';
import { packageRoot } from '../traces.js';
import { EventBatch, type ReadStats, type TraceMeta } from './events.js';
import { TraceReader, type ReadOptions } from './reader.js';

/**
 * Batches the worker may run ahead of the consumer: enough to keep it busy through the
 * consumer's uneven steps (a batch is 8,192 events, ~0.5 MB), few enough to bound memory.
 * A worker that is this far ahead sleeps until half of them are taken, so it is woken
 * once per MAX_AHEAD / 2 batches, not once per batch.
 */
export const MAX_AHEAD = 16;

/** Index in the shared counters: batches the consumer has taken. */
export const CONSUMED = 0;
/** Index in the shared counters: the CONSUMED count the sleeping worker waits for, or NOT_WAITING. */
export const WAKE_AT = 1;
export const NOT_WAITING = -1;
/** Added to CONSUMED on close(), so a sleeping worker wakes and ends. */
const CLOSED = 1 << 30;

/** What the worker is asked to read (workerData). */
export interface WorkerReadRequest {
  path: string;
  /** An Int32Array over a SharedArrayBuffer: counters indexed by CONSUMED and WAKE_AT. */
  counters: Int32Array;
  lenient: boolean;
  keepIds: boolean;
  batchEvents?: number;
}

/** An error from the worker, rebuilt here as the same class. */
export type WorkerReadError =
  | { kind: 'trace'; file: string; line: number; column: number; errorKind: TraceErrorKind; detail: string }
  | { kind: 'heapsim'; message: string }
  | { kind: 'internal'; name: string; message: string; stack?: string };

/** The reader's statistics as they stood at one point (warnings are sent once, with the header). */
export type StatsSnapshot = Omit<ReadStats, 'warnings'>;

export type FromWorker =
  | { type: 'header'; meta: TraceMeta; warnings: string[] }
  | { type: 'batch'; buffer: ArrayBuffer; capacity: number; length: number; ids: string[] | null; stats: StatsSnapshot; bytesRead: number }
  | { type: 'end'; stats: StatsSnapshot; bytesRead: number }
  | { type: 'error'; error: WorkerReadError; stats?: StatsSnapshot };

export type ToWorker = { type: 'start' };

/** The worker's module: built, beside this file; from the TypeScript sources (jest), the built copy under dist/. */
function workerUrl(): URL {
  const here = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  const built = join(packageRoot(), 'dist', 'src', 'trace', 'worker.js');
  if (!existsSync(built)) throw new Error(`the trace reader's worker module is not built (${built}): run npm run build`);
  return new URL(`file://${built}`);
}

function rebuildError(e: WorkerReadError): Error {
  if (e.kind === 'trace') return new TraceError(e.file, e.line, e.column, e.errorKind, e.detail);
  if (e.kind === 'heapsim') return new HeapsimError(e.message);
  const err = new Error(e.message);
  err.name = e.name;
  if (e.stack !== undefined) err.stack = e.stack;
  return err;
}

/** The line source of a reader whose lines are read elsewhere. */
async function* noLines(): AsyncGenerator<never> {}

function copyStats(to: ReadStats, from: StatsSnapshot): void {
  to.rows = from.rows;
  to.events = from.events;
  to.skipped = from.skipped;
  to.skippedByKind = from.skippedByKind;
}

/** A TraceReader whose rows are read on a worker thread. */
export class ThreadedTraceReader extends TraceReader {
  private readonly queue: FromWorker[] = [];
  private wake: (() => void) | null = null;
  private lastBytesRead = 0;
  private ended = false;

  constructor(
    file: string,
    options: ReadOptions,
    private readonly worker: Worker,
    private readonly counters: Int32Array,
  ) {
    super(file, noLines(), options);
    worker.on('message', (m: FromWorker) => this.push(m));
    worker.on('error', (err: Error) => this.push({ type: 'error', error: { kind: 'internal', name: err.name, message: err.message, stack: err.stack } }));
    worker.on('exit', (code) => {
      if (!this.ended) this.push({ type: 'error', error: { kind: 'internal', name: 'Error', message: `the trace reader's worker exited (code ${code})` } });
    });
  }

  private push(m: FromWorker): void {
    this.queue.push(m);
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** The next message, waiting for it. */
  async next(): Promise<FromWorker> {
    while (this.queue.length === 0) await new Promise<void>((resolve) => (this.wake = resolve));
    return this.queue.shift() as FromWorker;
  }

  /** Tells the worker that n more batches were taken. */
  private consumed(n: number): void {
    const taken = Atomics.add(this.counters, CONSUMED, n) + n;
    const wakeAt = Atomics.load(this.counters, WAKE_AT);
    if (wakeAt !== NOT_WAITING && taken >= wakeAt) Atomics.notify(this.counters, CONSUMED);
  }

  override get bytesRead(): number {
    return this.lastBytesRead;
  }

  override close(): void {
    if (this.ended) return;
    this.ended = true;
    this.consumed(CLOSED);
    void this.worker.terminate();
  }

  override async *batches(): AsyncGenerator<EventBatch> {
    if (this.ended) return; // read once already, or closed
    this.worker.ref();
    try {
      this.worker.postMessage({ type: 'start' } satisfies ToWorker);
      for (let batch = this.take(await this.next()); batch !== null; batch = this.take(await this.next())) yield batch;
    } finally {
      this.close();
    }
  }

  /** The batch a message carries (counted as taken), or null at the end; throws the error it carries. */
  private take(m: FromWorker): EventBatch | null {
    if (m.type === 'error') {
      if (m.stats !== undefined) copyStats(this.stats, m.stats);
      throw rebuildError(m.error);
    }
    if (m.type === 'header') throw new Error(`the trace reader's worker sent a second header`);
    copyStats(this.stats, m.stats);
    this.lastBytesRead = m.bytesRead;
    if (m.type === 'end') return null;
    this.consumed(1);
    const batch = new EventBatch(m.capacity, m.buffer);
    batch.length = m.length;
    if (m.ids !== null) for (let i = 0; i < m.ids.length; i++) batch.ids[i] = m.ids[i];
    return batch;
  }

  /** Applies the header message; throws the error the worker met instead. */
  applyHeader(m: FromWorker): void {
    if (m.type === 'error') throw rebuildError(m.error);
    if (m.type !== 'header') throw new Error(`the trace reader's worker sent ${m.type} before the header`);
    Object.assign(this.meta, m.meta);
    this.stats.warnings.push(...m.warnings);
  }
}

/** Opens a trace file on a worker thread: resolves once its header is read, as openTrace does. */
export async function openThreaded(path: string, options: ReadOptions): Promise<TraceReader> {
  const counters = new Int32Array(new SharedArrayBuffer(2 * 4));
  counters[WAKE_AT] = NOT_WAITING;
  const request: WorkerReadRequest = { path, counters, lenient: options.lenient ?? false, keepIds: options.keepIds ?? false, batchEvents: options.batchEvents };
  const worker = new Worker(workerUrl(), { workerData: request });
  worker.unref();
  const reader = new ThreadedTraceReader(path, options, worker, counters);
  try {
    reader.applyHeader(await reader.next());
  } catch (err) {
    reader.close();
    throw err;
  }
  return reader;
}
