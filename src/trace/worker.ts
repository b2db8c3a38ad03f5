// The trace reader's worker thread (started by worker-reader.ts): opens one trace file
// with the ordinary TraceReader, posts its header, and once asked for rows posts each
// batch (its buffer transferred) with the reader's statistics at that batch, then the
// end or the error. It waits for an acknowledgement whenever MAX_AHEAD batches are
// unconsumed, so it never runs far ahead of the replay.

import { parentPort, workerData } from 'node:worker_threads';
import { HeapsimError, TraceError } from '../errors.js';
import { openTrace, type TraceReader } from './reader.js';
import { MAX_AHEAD, type FromWorker, type StatsSnapshot, type ToWorker, type WorkerReadError, type WorkerReadRequest } from './worker-reader.js';

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

let credits = MAX_AHEAD;
let onCredit: (() => void) | null = null;
let onStart: (() => void) | null = null;
let started = false;

port.on('message', (m: ToWorker) => {
  if (m.type === 'ack') {
    credits++;
    const wake = onCredit;
    onCredit = null;
    wake?.();
  } else {
    started = true;
    onStart?.();
  }
});

async function rows(reader: TraceReader, out: NonNullable<typeof port>): Promise<void> {
  for await (const batch of reader.batches()) {
    if (credits === 0) await new Promise<void>((resolve) => (onCredit = resolve));
    credits--;
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
