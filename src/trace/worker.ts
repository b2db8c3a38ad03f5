// The trace reader's worker thread (started by worker-reader.ts): opens one trace file
// with the ordinary TraceReader, posts its header, and once asked for rows posts each
// batch (its buffer transferred) with the reader's statistics at that batch, then the
// end or the error. Whenever MAX_AHEAD batches are not yet taken it blocks on the shared
// counter of taken batches (worker-reader.ts), so it never runs far ahead of the replay.

import { parentPort, workerData } from 'node:worker_threads';
import { HeapsimError, TraceError } from '../errors.js';
import { openTrace, type TraceReader } from './reader.js';
import {
  CONSUMED,
  MAX_AHEAD,
  NOT_WAITING,
  WAKE_AT,
  type FromWorker,
  type StatsSnapshot,
  type ToWorker,
  type WorkerReadError,
  type WorkerReadRequest,
} from './worker-reader.js';

const port = parentPort;
if (port === null) throw new Error('src/trace/worker.ts runs as a worker thread only');
const request = workerData as WorkerReadRequest;

function describe(err: unknown): WorkerReadError {
  if (err instanceof TraceError) return { kind: 'trace', file: err.file, line: err.line, column: err.column, errorKind: err.kind, detail: err.detail };
  if (err instanceof HeapsimError) return { kind: 'heapsim', message: err.message };
  const e = err instanceof Error ? err : new Error(String(err));
  return { kind: 'internal', name: e.name, message: e.message, stack: e.stack };
}

function snapshot(reader: TraceReader): StatsSnapshot {
  const { rows, events, skipped, skippedByKind } = reader.stats;
  return { rows, events, skipped, skippedByKind };
}

let onStart: (() => void) | null = null;
let started = false;

port.on('message', (m: ToWorker) => {
  if (m.type === 'start') {
    started = true;
    onStart?.();
  }
});

/** Returns at once while fewer than MAX_AHEAD of the `sent` batches are untaken; else sleeps until half of them are taken. */
function awaitRoom(sent: number): void {
  const counters = request.counters;
  if (sent - Atomics.load(counters, CONSUMED) < MAX_AHEAD) return;
  const wakeAt = sent - MAX_AHEAD / 2;
  Atomics.store(counters, WAKE_AT, wakeAt);
  // The consumer adds to CONSUMED before it reads WAKE_AT; this thread stores WAKE_AT
  // before it reads CONSUMED: one of the two sees the other's write, so no wake-up is lost.
  for (let taken = Atomics.load(counters, CONSUMED); taken < wakeAt; taken = Atomics.load(counters, CONSUMED)) Atomics.wait(counters, CONSUMED, taken);
  Atomics.store(counters, WAKE_AT, NOT_WAITING);
}

async function rows(reader: TraceReader, out: NonNullable<typeof port>): Promise<void> {
  let sent = 0;
  for await (const batch of reader.batches()) {
    awaitRoom(sent++);
    const ids = request.keepIds ? batch.ids.slice(0, batch.length) : null;
    const m: FromWorker = {
      type: 'batch',
      buffer: batch.buffer,
      capacity: batch.capacity,
      length: batch.length,
      ids,
      stats: snapshot(reader),
      bytesRead: reader.bytesRead,
    };
    out.postMessage(m, [batch.buffer]);
  }
  out.postMessage({ type: 'end', stats: snapshot(reader), bytesRead: reader.bytesRead } satisfies FromWorker);
}

async function main(out: NonNullable<typeof port>): Promise<void> {
  let reader: TraceReader;
  try {
    reader = await openTrace(request.path, { lenient: request.lenient, keepIds: request.keepIds, batchEvents: request.batchEvents, thread: false });
  } catch (err) {
    out.postMessage({ type: 'error', error: describe(err) } satisfies FromWorker);
    return;
  }
  out.postMessage({ type: 'header', meta: reader.meta, warnings: reader.stats.warnings } satisfies FromWorker);
  if (!started) await new Promise<void>((resolve) => (onStart = resolve));
  try {
    await rows(reader, out);
  } catch (err) {
    out.postMessage({ type: 'error', error: describe(err), stats: snapshot(reader) } satisfies FromWorker);
  }
}

void main(port);
