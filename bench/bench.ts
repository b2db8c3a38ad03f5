// npm run bench: throughput and work figures. Prints; asserts nothing (tests do that).
//
// Sections:
//  1. parsing alone: heapsim's scanner against csv-parse on the same bytes;
//  2. end to end (read + replay) on every bundled trace, for every backend;
//  3. a synthetic 1M-event churn trace, end to end;
//  4. work per large allocation as the number of live large spans grows.

import { readdirSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse';
import { Readable } from 'node:stream';
import { backends, loadTrace, openTraceText, replayLoaded, replayReader } from '../src/index.js';
import { churnTrace, largeSpanTrace } from './workloads.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
const TRACES = join(ROOT, 'traces');
const MIN_MS = Number(process.env.BENCH_MIN_MS ?? 600);

function textOf(path: string): string {
  const raw = readFileSync(path);
  return (path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
}

/** Runs fn until MIN_MS have passed (after one warm-up); returns the mean ms per run. */
async function timeIt(fn: () => Promise<unknown> | unknown): Promise<number> {
  await fn();
  let runs = 0;
  const t0 = performance.now();
  do {
    await fn();
    runs++;
  } while (performance.now() - t0 < MIN_MS);
  return (performance.now() - t0) / runs;
}

const fmtRate = (events: number, ms: number) => `${((events / ms) * 1000 / 1e6).toFixed(2)}M ev/s`;

async function parseOnly(text: string): Promise<number> {
  const reader = await openTraceText(text, 'bench');
  let n = 0;
  for await (const b of reader.batches()) n += b.length;
  return n;
}

async function csvParseOnly(text: string): Promise<number> {
  let n = 0;
  const parser = Readable.from([text]).pipe(parse({ comment: '#', relax_column_count: true }));
  for await (const row of parser) if (row) n++;
  return n - 1;
}

async function main(): Promise<void> {
  const files = readdirSync(TRACES)
    .filter((f) => /\.csv(\.gz)?$/.test(f))
    .sort();
  const texts = new Map(files.map((f) => [f, textOf(join(TRACES, f))]));
  const churn = churnTrace(1_000_000, 1);
  texts.set('synthetic churn (1M events)', churn);

  console.log(`heapsim bench (node ${process.version}, each figure the mean over >= ${MIN_MS} ms after a warm-up)\n`);
  console.log('1. Parsing alone (events/s)');
  for (const [name, text] of texts) {
    const events = await parseOnly(text);
    const ours = await timeIt(() => parseOnly(text));
    const theirs = await timeIt(() => csvParseOnly(text));
    console.log(`   ${name.padEnd(30)} ${String(events).padStart(8)} events   heapsim ${fmtRate(events, ours).padStart(13)}   csv-parse ${fmtRate(events, theirs).padStart(13)}`);
  }

  console.log('\n2. End to end: read + replay (events/s), --timing on');
  const names = backends().map((b) => b.name);
  console.log(`   ${'trace'.padEnd(30)} ${names.map((n) => n.padStart(14)).join('')}`);
  for (const [name, text] of texts) {
    const cells: string[] = [];
    for (const backend of names) {
      let events = 0;
      const ms = await timeIt(async () => {
        const r = await replayReader(await openTraceText(text, name), { backend });
        events = r.summary.ops;
      });
      cells.push(fmtRate(events, ms).padStart(14));
    }
    console.log(`   ${name.padEnd(30)} ${cells.join('')}`);
  }

  console.log('\n3. Replay alone, trace parsed once (events/s, --no-timing)');
  for (const [name, text] of texts) {
    const reader = await openTraceText(text, name);
    const batches = [];
    for await (const b of reader.batches()) batches.push(b);
    const loaded = { meta: reader.meta, stats: reader.stats, batches };
    const cells: string[] = [];
    for (const backend of names) {
      let events = 0;
      const ms = await timeIt(() => {
        events = replayLoaded(loaded, { backend, timing: false }).summary.ops;
      });
      cells.push(fmtRate(events, ms).padStart(14));
    }
    console.log(`   ${name.padEnd(30)} ${cells.join('')}`);
  }

  console.log('\n4. Work per large allocation (>= 128 pages) with N live and N free large spans');
  console.log(`   ${'N'.padStart(8)} ${names.map((n) => n.padStart(16)).join('')}`);
  for (const n of [1000, 10000, 100000]) {
    const text = largeSpanTrace(n, 20000, 1);
    const cells: string[] = [];
    for (const backend of names) {
      // Only the allocations after the population is built are measured: replay the
      // build alone and subtract.
      const loaded = await loadTrace('-', { stdin: Readable.from([text]) });
      const r = replayLoaded(loaded, { backend, timing: false });
      const buildOnly = largeSpanTrace(n, 0, 1);
      const b = replayLoaded(await loadTrace('-', { stdin: Readable.from([buildOnly]) }), { backend, timing: false });
      const allocs = r.latency.alloc.count - b.latency.alloc.count;
      const work = r.latency.alloc.meanWork * r.latency.alloc.count - b.latency.alloc.meanWork * b.latency.alloc.count;
      cells.push(`${(work / allocs).toFixed(1)} units`.padStart(16));
    }
    console.log(`   ${String(n).padStart(8)} ${cells.join('')}`);
  }
}

await main();
