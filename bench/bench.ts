// npm run bench: throughput and work figures. Prints; asserts nothing (tests do that).
//
// Sections:
//  1. parsing alone: heapsim's scanner against csv-parse on the same bytes;
//  2. end to end (read + replay) on every bundled trace, for every backend;
//  3. a synthetic 1M-event churn trace, end to end;
//  4. work per large allocation as the number of live large spans grows;
//  5. what the Go 1.9 search quirk costs; 6. the bitmap against Go's own pageAlloc;
//  7. a 1 TiB heap on every backend;
//  8. the simulated OS alone on a 16 TiB heap: its cost follows calls, not bytes;
//  9. bitmap on one 16 TiB span (four million uniform chunks), with and without --check;
// 10. heapsim record's overhead on the Go fixtures (bench/record-bench.ts);
//  rows: the performance issue's rows as ratios, with a CPU profile (bench/perf-rows.ts).

import { readdirSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse';
import { Readable } from 'node:stream';
import { SimOS, backends, compareLoaded, loadTrace, openTraceText, replayLoaded, replayReader } from '../src/index.js';
import { churnTrace, largeSpanTrace } from './workloads.js';
import { GO, benchHeapsim, goAvailable, randomOps, runOracle } from '../test/oracle/harness.js';
import { recordBench } from './record-bench.js';
import { hugeAllocChild, perfRows } from './perf-rows.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
const TRACES = join(ROOT, 'traces');
const MIN_MS = Number(process.env.BENCH_MIN_MS ?? 600);

function textOf(path: string): string {
  const raw = readFileSync(path);
  return (path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
}

/** Runs fn until MIN_MS have passed (after one warm-up); returns the mean ms per run. */
async function timeIt(fn: () => unknown): Promise<number> {
  await fn();
  let runs = 0;
  const t0 = performance.now();
  do {
    await fn();
    runs++;
  } while (performance.now() - t0 < MIN_MS);
  return (performance.now() - t0) / runs;
}

const fmtRate = (events: number, ms: number) => `${(((events / ms) * 1000) / 1e6).toFixed(2)}M ev/s`;

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

const names = backends().map((b) => b.name);

function traceTexts(): Map<string, string> {
  const files = readdirSync(TRACES)
    .filter((f) => /\.csv(\.gz)?$/.test(f))
    .sort();
  const texts = new Map(files.map((f) => [f, textOf(join(TRACES, f))]));
  const churn = churnTrace(1_000_000, 1);
  texts.set('synthetic churn (1M events)', churn);
  return texts;
}

async function throughput(texts: Map<string, string>): Promise<void> {
  console.log(`heapsim bench (node ${process.version}, each figure the mean over >= ${MIN_MS} ms after a warm-up)\n`);
  console.log('1. Parsing alone (events/s)');
  for (const [name, text] of texts) {
    const events = await parseOnly(text);
    const ours = await timeIt(() => parseOnly(text));
    const theirs = await timeIt(() => csvParseOnly(text));
    console.log(
      `   ${name.padEnd(30)} ${String(events).padStart(8)} events   heapsim ${fmtRate(events, ours).padStart(13)}   csv-parse ${fmtRate(events, theirs).padStart(13)}`,
    );
  }

  console.log('\n2. End to end: read + replay (events/s), --timing on');
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
}

async function largeSpans(): Promise<void> {
  console.log('\n4. Work per large allocation (>= 128 pages) with N live and N free large spans');
  console.log(`   ${'N'.padStart(8)} ${names.map((n) => n.padStart(16)).join('')}`);
  const quirk: string[] = [];
  for (const n of [1000, 10000, 100000]) {
    const ops = 4000;
    const full = await loadTrace('-', { stdin: Readable.from([largeSpanTrace(n, ops, 1)]) });
    const build = await loadTrace('-', { stdin: Readable.from([largeSpanTrace(n, 0, 1)]) });
    const cells: string[] = [];
    for (const backend of names) {
      // Only the allocations after the population is built count: replay the build
      // alone and subtract its work.
      const r = replayLoaded(full, { backend, timing: false });
      const b = replayLoaded(build, { backend, timing: false });
      const allocs = r.latency.alloc.count - b.latency.alloc.count;
      const work = r.latency.alloc.meanWork * r.latency.alloc.count - b.latency.alloc.meanWork * b.latency.alloc.count;
      cells.push(`${(work / allocs).toFixed(1)}`.padStart(16));
    }
    console.log(`   ${String(n).padStart(8)} ${cells.join('')}`);
  }
  // The quirk's cost: a live set that keeps growing into the free spans.
  for (const n of [1000, 10000]) {
    const trace = await loadTrace('-', { stdin: Readable.from([largeSpanTrace(n, 10 * n, 2, 0.55)]) });
    const [list, shipped, best] = compareLoaded(trace, ['span-list', 'treap', 'treap-bestfit'], { timing: false });
    const mib = (x: number) => `${(x / 2 ** 20).toFixed(0)} MiB`;
    const pct = (x: number | null) => `${((x ?? 0) * 100).toFixed(1)}%`;
    quirk.push(
      `   N=${n}, ${10 * n} ops: peak heap ${mib(shipped.summary.peakHeapBytes)} vs ${mib(best.summary.peakHeapBytes)}` +
        `; heap overhead ${pct(shipped.fragmentation.heapOverhead)} vs ${pct(best.fragmentation.heapOverhead)}` +
        `; external fragmentation ${pct(shipped.fragmentation.externalAtPeak)} vs ${pct(best.fragmentation.externalAtPeak)}` +
        `; placementMatch against span-list ${(shipped.placementMatch ?? 0).toFixed(3)} vs ${(best.placementMatch ?? 0).toFixed(3)}` +
        `; treap max depth ${shipped.shape.treapMaxDepth} = ${shipped.shape.treapDepthOverLog2.toFixed(2)}x log2(nodes), mean ${shipped.shape.treapMeanDepth.toFixed(1)}`,
    );
    void list;
  }
  if (quirk.length > 0) {
    console.log('\n5. What the Go 1.9 search quirk costs on the same workload: treap (as shipped) vs treap-bestfit');
    for (const line of quirk) console.log(line);
  }
}

function againstGo(): void {
  console.log('\n6. bitmap against the real Go 1.19 pageAlloc: the same 1M random ops, one timed loop each');
  if (!goAvailable()) {
    console.log(`   skipped: ${GO} is not installed (apt-get install golang-1.19-go)`);
    return;
  }
  const ops = randomOps(7, 1_000_000);
  const goRuns: number[] = [];
  let huge = 0;
  for (let i = 0; i < 3; i++) {
    const r = runOracle(ops, false, true);
    huge = r.hugePageBytes;
    goRuns.push(r.busyNs);
  }
  const ours: number[] = [];
  for (let i = 0; i < 4; i++) ours.push(benchHeapsim(ops, huge));
  ours.shift(); // the first run includes JIT warm-up
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const g = median(goRuns);
  const h = median(ours);
  console.log(`   Go 1.19 pageAlloc (native):  ${(g / 1e6).toFixed(0)} ms  (${((1e6 / g) * 1e3).toFixed(2)}M ops/s)`);
  console.log(`   heapsim bitmap (Node ${process.version}): ${(h / 1e6).toFixed(0)} ms  (${((1e6 / h) * 1e3).toFixed(2)}M ops/s)`);
  console.log(`   ratio heapsim / Go: ${(h / g).toFixed(2)}x (median of 3 runs each)`);
}

/** Child process mode: replay the 1 TiB trace on one backend and report peak RSS. */
async function terabyteChild(backend: string): Promise<void> {
  const rows = ['# page_size=8192', 'time,op,id,pages,p'];
  for (let i = 0; i < 16384; i++) rows.push(`${i},alloc,T${i},8192,`);
  const trace = await loadTrace('-', { stdin: Readable.from([rows.join('\n')]) });
  const t0 = performance.now();
  const r = replayLoaded(trace, { backend, timing: false });
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(JSON.stringify({ heap: r.summary.peakHeapBytes, rss: r.summary.peakRssBytes, seconds, maxRssKiB: process.resourceUsage().maxRSS }));
}

async function terabyte(): Promise<void> {
  console.log('\n7. A 1 TiB simulated heap: 16,384 live spans of 64 MiB (every page touched), each backend in a fresh process');
  const { execFileSync } = await import('node:child_process');
  for (const backend of names) {
    const child = execFileSync(process.execPath, [fileURLToPath(import.meta.url)], {
      env: { ...process.env, BENCH_TERABYTE_CHILD: backend },
      encoding: 'utf8',
    });
    const out = JSON.parse(child) as { heap: number; rss: number; seconds: number; maxRssKiB: number };
    console.log(
      `   ${backend.padEnd(14)} peak heap ${(out.heap / 2 ** 40).toFixed(3)} TiB, simulated RSS ${(out.rss / 2 ** 40).toFixed(3)} TiB, replay ${out.seconds.toFixed(1)} s,` +
        ` simulator process peak RSS ${(out.maxRssKiB / 1024).toFixed(0)} MiB`,
    );
  }
}

function osAlone(): void {
  console.log('\n8. The simulated OS alone: map, write, release and re-write 16 TiB (2^32 pages of 4 KiB), each setting in a fresh SimOS');
  const bytes = 2 ** 44;
  const base = 0xc000000000;
  for (const thp of ['never', 'always'] as const) {
    for (const madvise of ['dontneed', 'free'] as const) {
      const heap0 = process.memoryUsage().heapUsed;
      const t0 = performance.now();
      const os = new SimOS({ thp, madvise });
      os.reserve(base, bytes);
      os.map(base, bytes);
      os.touch(base, bytes);
      os.release(base, bytes);
      os.touch(base, bytes);
      const ms = performance.now() - t0;
      const heapDelta = process.memoryUsage().heapUsed - heap0;
      console.log(
        `   thp ${thp.padEnd(6)} MADV_${madvise.toUpperCase().padEnd(8)} ${ms.toFixed(2).padStart(7)} ms   faults ${os.pageFaults} (re-faults ${os.refaults})` +
          `   tracking ${os.trackingBytes} B   JS heap +${(heapDelta / 1024).toFixed(0)} KiB   process RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`,
      );
    }
  }
}

async function uniformChunks(): Promise<void> {
  console.log('\n9. bitmap: alloc and free of one 16 TiB span (2^31 pages, 4M chunks kept as tags), best of 3');
  const text = ['# page_size=8192', 'time,op,id,pages', '1,alloc,a,2147483648', '2,free,a,2147483648'].join('\n');
  for (const check of [false, true]) {
    let best = Infinity;
    for (let i = 0; i < 3; i++) {
      const trace = await loadTrace('-', { stdin: Readable.from([text]) });
      const t0 = performance.now();
      replayLoaded(trace, { backend: 'bitmap', timing: false, check });
      best = Math.min(best, performance.now() - t0);
    }
    console.log(
      `   ${check ? 'with --check' : 'plain       '} ${best.toFixed(0).padStart(6)} ms   process peak RSS so far ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
    );
  }
}

// BENCH_ONLY=throughput, large, go, terabyte, os, uniform, record or rows runs one section.
const child = process.env.BENCH_TERABYTE_CHILD ?? process.env.BENCH_HUGE_CHILD;
const only = child !== undefined ? 'child' : process.env.BENCH_ONLY;
if (only === 'child' && process.env.BENCH_TERABYTE_CHILD !== undefined) await terabyteChild(process.env.BENCH_TERABYTE_CHILD);
if (only === 'child' && process.env.BENCH_HUGE_CHILD !== undefined) hugeAllocChild(process.env.BENCH_HUGE_CHILD);
if (only === undefined || only === 'throughput') await throughput(traceTexts());
if (only === undefined || only === 'large') await largeSpans();
if (only === undefined || only === 'go') againstGo();
if (only === undefined || only === 'terabyte') await terabyte();
if (only === undefined || only === 'os') osAlone();
if (only === undefined || only === 'uniform') await uniformChunks();
if (only === undefined || only === 'record') recordBench();
if (only === undefined || only === 'rows') await perfRows();
