// The trace reader on a worker thread (src/trace/worker-reader.ts) against the same reader
// in this thread: for every fixture and bundled trace, strict and lenient, the same meta,
// warnings, batches (every column), statistics and error (class, message, location).
// Small batches make each read cross many batches and the worker's read-ahead limit.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openTrace, replayFile, TraceError, type EventBatch, type ReadOptions } from '../src/index.js';
import { FIXTURES } from './helpers.js';

const COLUMNS = ['time', 'op', 'slot', 'pages', 'bytes', 'p', 'addr', 'huge', 'line'] as const;

/** Everything a consumer can observe of one read, as plain data. */
async function observe(path: string, options: ReadOptions, stopAfter = Infinity): Promise<unknown> {
  const out: Record<string, unknown> = {};
  let reader;
  try {
    reader = await openTrace(path, { batchEvents: 64, ...options });
  } catch (err) {
    return { openError: describe(err) };
  }
  out.meta = reader.meta;
  out.warnings = [...reader.stats.warnings];
  const batches: unknown[] = [];
  try {
    for await (const b of reader.batches()) {
      batches.push(columns(b));
      if (batches.length >= stopAfter) break;
    }
  } catch (err) {
    out.error = describe(err);
  }
  out.batches = batches;
  out.stats = { ...reader.stats };
  return out;
}

function columns(b: EventBatch): unknown {
  const c: Record<string, unknown> = { length: b.length, ids: b.ids.slice(0, b.length) };
  for (const k of COLUMNS) c[k] = Array.from(b[k].subarray(0, b.length));
  return c;
}

function describe(err: unknown): unknown {
  const e = err as Error;
  const located = err instanceof TraceError ? { file: err.file, line: err.line, column: err.column, kind: err.kind, detail: err.detail } : {};
  return { name: e.constructor.name, message: e.message, ...located };
}

const dir = (d: string, ext = /\.csv(\.gz)?$/) =>
  readdirSync(d)
    .filter((f) => ext.test(f))
    .map((f) => join(d, f));
const FILES = [
  ...dir(join(FIXTURES, 'bad')),
  ...dir(join(FIXTURES, 'good')),
  ...dir(join(FIXTURES, 'hostile')),
  'traces/go1-Gob.csv',
  'traces/compile-go-types.csv.gz',
  join(FIXTURES, 'no-such-file.csv'),
];

test.each(FILES)('%s: the same read on a worker thread as in this thread', async (path) => {
  for (const lenient of [false, true]) {
    const here = await observe(path, { lenient, keepIds: true, thread: false });
    const there = await observe(path, { lenient, keepIds: true, thread: true });
    expect(there).toEqual(here);
  }
});

test('a consumer that stops early sees the statistics as they stood at its last batch', async () => {
  const path = 'traces/compile-go-types.csv.gz';
  expect(await observe(path, { thread: true }, 3)).toEqual(await observe(path, { thread: false }, 3));
});

test('a replay streamed from a worker gives the same figures', async () => {
  const run = async (thread: boolean) => {
    const r = await replayFile('traces/go1-Revcomp.csv', { backend: 'bitmap', timing: false, thread, batchEvents: 500 });
    return { ...r, wall: undefined };
  };
  expect(await run(true)).toEqual(await run(false));
});
