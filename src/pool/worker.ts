// A pool worker's entry point (started by src/pool/pool.ts): runs one task at a time as
// the pool sends them (src/pool/tasks.ts) and posts back progress, then the value or the
// error. Progress goes at most every PROGRESS_MS: enough for the bar, nothing on the
// replay's hot path (the replay calls onProgress once per batch of events).

import { parentPort } from 'node:worker_threads';
import { HeapsimError } from '../errors.js';
import { OptionError } from '../options.js';
import { executeTask, type PoolTask, type WorkerError, type WorkerMessage } from './tasks.js';

const PROGRESS_MS = 200;

function describe(err: unknown): WorkerError {
  if (err instanceof OptionError) return { kind: 'option', name: err.name, message: err.message, option: err.option };
  if (err instanceof HeapsimError) return { kind: 'heapsim', name: err.name, message: err.message };
  const e = err instanceof Error ? err : new Error(String(err));
  return { kind: 'internal', name: e.name, message: e.message, stack: e.stack };
}

/** The buffers of a value's typed arrays one level down (allocation addresses): moved, not copied. */
function transferables(value: unknown): ArrayBuffer[] {
  if (value === null || typeof value !== 'object') return [];
  return Object.values(value).flatMap((v) => (v instanceof Float64Array && v.buffer instanceof ArrayBuffer ? [v.buffer] : []));
}

const port = parentPort;
if (port === null) throw new Error('src/pool/worker.ts runs as a worker thread only');

port.on('message', (task: PoolTask) => {
  let last = 0;
  const onProgress = (events: number) => {
    const now = performance.now();
    if (now - last < PROGRESS_MS) return;
    last = now;
    port.postMessage({ type: 'progress', events } satisfies WorkerMessage);
  };
  executeTask(task, onProgress).then(
    (value) => port.postMessage({ type: 'done', value } satisfies WorkerMessage, transferables(value)),
    (err: unknown) => port.postMessage({ type: 'error', error: describe(err) } satisfies WorkerMessage),
  );
});
