// The performance issue's rows, each measured as a ratio in one run (`BENCH_ONLY=rows npm
// run bench`): the fragmentation snapshot on large heaps, a 16 TiB allocation, the engine
// and metrics on top of the backend, end to end replay, the share of GC in the bitmap's
// loop, and a CPU profile of the hot path. Prints; asserts nothing (tests do that).
//
// Times are CPU time (user + system, process.cpuUsage) unless marked wall: the machine is
// shared, and CPU time moves less with other jobs than wall time does. Each figure is the
// min and median of BENCH_REPEATS runs (default 3), after one warm-up where the run is
// short. Traces are generated with `heapsim gen` into a temporary directory.

import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { PerformanceObserver } from 'node:perf_hooks';
import { Replayer, SimOS, findBackend, generate, loadTrace, openTrace, replayFile, replayLoaded, type LoadedTrace } from '../src/index.js';
import { benchHeapsim, randomOps } from '../test/oracle/harness.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
const CLI = join(ROOT, 'bin', 'heapsim.js');
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);

/** CPU ms of fn (user + system). */
async function cpuMs(fn: () => unknown): Promise<number> {
  const c0 = process.cpuUsage();
  await fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

/** [min, median] of REPEATS measurements, after `warm` unmeasured runs. */
async function minMedian(measure: () => Promise<number>, warm = 1): Promise<[number, number]> {
  for (let i = 0; i < warm; i++) await measure();
  const xs: number[] = [];
  for (let i = 0; i < REPEATS; i++) xs.push(await measure());
  xs.sort((a, b) => a - b);
  return [xs[0], xs[Math.floor(xs.length / 2)]];
}

const mm = ([min, med]: [number, number], unit = 'ms', digits = 0) => `${min.toFixed(digits)} / ${med.toFixed(digits)} ${unit}`;

async function genTrace(dir: string, workload: string, events: number): Promise<string> {
  const path = join(dir, `${workload}-${events}.csv`);
  const out = createWriteStream(path);
  await generate(workload, { seed: 1, events }, out);
  out.end();
  await finished(out);
  return path;
}

/** Row 1: the at-peak snapshot. Whole replays, and one freeStats() on the final heap. */
async function snapshotRow(dir: string): Promise<void> {
  console.log('\nR1. Large heaps (gen large-heap): replay, CPU min / median; freeStats() once on the final heap');
  const runs: [string, number][] = [
    ['bitmap', 100_000],
    ['treap', 100_000],
    ['bitmap', 1_000_000],
    ['treap-aoff', 1_000_000],
  ];
  const replayed = new Map<string, number>();
  for (const [backend, events] of runs) {
    const trace = await loadTrace(await genTrace(dir, 'large-heap', events));
    let outcome = '';
    const t = await minMedian(() => cpuMs(() => (outcome = replayLoaded(trace, { backend, timing: false }).outcome)), 0);
    replayed.set(`${backend} ${events}`, t[0]);
    const r = new Replayer(trace.meta, { backend, timing: false });
    for (const b of trace.batches) r.step(b);
    const calls = 20;
    const per =
      (await cpuMs(() => {
        for (let i = 0; i < calls; i++) r.heap.freeStats();
      })) / calls;
    console.log(
      `   ${backend.padEnd(11)} ${String(events).padStart(8)} events: ${mm(t)}${outcome === 'ok' ? '' : ` (${outcome})`}; freeStats ${(per * 1000).toFixed(1)} µs (heap ${r.heap.heapPages} pages)`,
    );
  }
  const ratio = (a: string, b: string) => ((replayed.get(a) ?? NaN) / (replayed.get(b) ?? NaN)).toFixed(2);
  console.log(
    // treap (Go 1.9) cannot hold 1M large spans (its 512 GiB arena runs out): 1M compares the two that can.
    `   ratios (min): bitmap/treap 100k ${ratio('bitmap 100000', 'treap 100000')}x; bitmap/treap-aoff 1M ${ratio('bitmap 1000000', 'treap-aoff 1000000')}x`,
  );
}

/** Row 2 child: one 16 TiB span allocated and freed; prints wall ms and peak RSS. */
export function hugeAllocChild(backend: string): void {
  const os = new SimOS({});
  const heap = findBackend(backend).create({ os, pageBytes: 8192, seed: 1 });
  const t0 = performance.now();
  const npages = 2 ** 31;
  const base = heap.alloc(npages, -1);
  os.touch(base, npages * 8192);
  heap.freeStats();
  heap.free(base, npages, -1);
  heap.freeStats();
  const ms = performance.now() - t0;
  process.stdout.write(JSON.stringify({ ms, maxRssKiB: process.resourceUsage().maxRSS }));
}

function hugeAllocRow(): void {
  console.log(
    '\nR2. One 16 TiB span (2^31 pages): alloc, touch every page, freeStats, free, freeStats; each in a fresh process (wall, peak RSS of the process)',
  );
  for (const backend of ['bitmap', 'treap-aoff']) {
    const xs: { ms: number; maxRssKiB: number }[] = [];
    for (let i = 0; i < REPEATS; i++) {
      const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url.replace('perf-rows', 'bench'))], {
        env: { ...process.env, BENCH_HUGE_CHILD: backend },
        encoding: 'utf8',
      });
      xs.push(JSON.parse(out) as { ms: number; maxRssKiB: number });
    }
    xs.sort((a, b) => a.ms - b.ms);
    const rss = Math.max(...xs.map((x) => x.maxRssKiB)) / 1024;
    console.log(
      `   ${backend.padEnd(11)} ${mm([xs[0].ms, xs[Math.floor(xs.length / 2)].ms])} wall, process peak RSS ${rss.toFixed(0)} MiB (Node itself included)`,
    );
  }
}

/** The backend alone on a loaded trace: alloc, touch, free in trace order; no policy, no meters. */
function backendAlone(trace: LoadedTrace, backend: string): void {
  const os = new SimOS({});
  const pb = trace.meta.pageBytes;
  const heap = findBackend(backend).create({ os, pageBytes: pb, seed: 1 });
  let addrs = new Float64Array(1 << 16);
  for (const b of trace.batches) {
    for (let i = 0; i < b.length; i++) {
      const op = b.op[i];
      const slot = b.slot[i];
      if (op === 0) {
        const a = heap.alloc(b.pages[i], b.p[i]);
        os.touch(a, b.pages[i] * pb);
        if (slot >= addrs.length) {
          const grown = new Float64Array(2 * slot);
          grown.set(addrs);
          addrs = grown;
        }
        addrs[slot] = a;
      } else if (op === 1) heap.free(addrs[slot], b.pages[i], b.p[i]);
    }
  }
}

/** Row 3: the engine and meters on top of the backend (policy none: the backend sees the same calls). */
async function overheadRow(steady: string): Promise<void> {
  console.log('\nR3. Engine + meters over the backend alone, gen steady 1.33M events loaded first (policy none), CPU min / median');
  const trace = await loadTrace(steady);
  for (const backend of ['bitmap', 'span-list']) {
    const alone = await minMedian(() => cpuMs(() => backendAlone(trace, backend)));
    const off = await minMedian(() => cpuMs(() => replayLoaded(trace, { backend, policy: 'none', timing: false })));
    const on = await minMedian(() => cpuMs(() => replayLoaded(trace, { backend, policy: 'none', timing: true })));
    const ns = (ms: number) => `${((ms * 1e6) / trace.stats.events).toFixed(0)} ns/event`;
    console.log(
      `   ${backend.padEnd(10)} backend alone ${mm(alone)} (${ns(alone[0])}); engine --no-timing ${mm(off)} (${(off[0] / alone[0]).toFixed(2)}x);` +
        ` engine timing on ${mm(on)} (${(on[0] / alone[0]).toFixed(2)}x)`,
    );
  }
}

/**
 * CPU ms of this (the main) thread alone, user + system, from Linux's per-thread
 * counters (10 ms ticks): process.cpuUsage() adds the worker threads in. NaN elsewhere.
 */
function mainThreadCpuMs(): number {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // After the command name: state is field 3, utime field 14, stime field 15 (1-based, proc(5)).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return NaN;
  }
}

/** Linux's USER_HZ, the unit of /proc's CPU times: 100 on every common build. */
const CLOCK_TICKS_PER_S = 100;

/** Wall ms of reading every batch of a trace and dropping it. */
async function parseWallMs(path: string, thread: boolean): Promise<number> {
  const t0 = performance.now();
  const reader = await openTrace(path, { thread });
  for await (const b of reader.batches()) void b;
  return performance.now() - t0;
}

/**
 * Row 4: end to end from the file, and parsing alone, wall; each reading in this thread
 * (thread off) and on a worker thread while this one replays (thread on, the CLI's
 * default for files of 1 MiB or more), with the ratio of their minimums.
 */
async function endToEndRow(steady: string): Promise<void> {
  console.log('\nR4. End to end, gen steady 1.33M events from a file (replayFile, as the CLI), wall min / median; reading in this thread vs on a worker');
  const rate = (events: number, ms: number) => `${(events / ms / 1000).toFixed(2)}M ev/s`;
  const events = (await loadTrace(steady)).stats.events;
  const parse = [await minMedian(() => parseWallMs(steady, false)), await minMedian(() => parseWallMs(steady, true))];
  console.log(`   parse alone: this thread ${mm(parse[0])} (${rate(events, parse[0][0])} best); worker ${mm(parse[1])} (${rate(events, parse[1][0])} best)`);
  for (const backend of ['bitmap', 'span-list']) {
    for (const timing of [true, false]) {
      const runs: [number, number][] = [];
      let busy: number[] = [];
      for (const thread of [false, true]) {
        busy = [];
        runs.push(
          await minMedian(async () => {
            const t0 = performance.now();
            const c0 = mainThreadCpuMs();
            await replayFile(steady, { backend, timing, thread });
            busy.push(mainThreadCpuMs() - c0);
            return performance.now() - t0;
          }),
        );
      }
      const [off, on] = runs;
      console.log(
        `   ${backend.padEnd(10)} timing ${timing ? 'on ' : 'off'} this thread ${mm(off)} (${rate(events, off[0])} best, ${rate(events, off[1])} median);` +
          ` worker ${mm(on)} (${rate(events, on[0])} best, ${rate(events, on[1])} median): ${(off[0] / on[0]).toFixed(2)}x;` +
          ` with the worker, this thread's CPU ${Math.min(...busy).toFixed(0)} ms (${rate(events, Math.min(...busy))}: the wall rate with a free core)`,
      );
    }
  }
}

/** Row 6: the share of garbage collection in the bitmap's own loop (the against-Go stream). */
async function gcShareRow(): Promise<void> {
  console.log('\nR6. GC during the bitmap loop of the against-Go bench (1M random ops, seed 7; its set-up included), wall');
  const ops = randomOps(7, 1_000_000);
  for (let i = 0; i < REPEATS; i++) {
    let gcMs = 0;
    const obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) gcMs += e.duration;
    });
    obs.observe({ entryTypes: ['gc'] });
    const ns = benchHeapsim(ops, 2 * 2 ** 20);
    // GC entries arrive asynchronously; those of the ops' set-up before the timed loop count too (an upper bound).
    await new Promise((resolve) => setTimeout(resolve, 200));
    obs.disconnect();
    console.log(`   run ${i + 1}: loop ${(ns / 1e6).toFixed(0)} ms, GC ${gcMs.toFixed(0)} ms (${((gcMs / (ns / 1e6)) * 100).toFixed(1)}%)`);
  }
}

/** A CPU profile of the CLI replaying the trace: per thread (the trace is read on a worker), the functions with the most self time. */
function profileRow(steady: string, dir: string): void {
  console.log('\nProfile: node --cpu-prof bin/heapsim.js replay <gen steady 1.33M> --backend bitmap (self time, top 15, each thread)');
  const profDir = join(dir, 'prof');
  execFileSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, CLI, 'replay', steady, '--backend', 'bitmap'], { stdio: 'ignore' });
  // Node names each profile CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is the main one.
  for (const file of readdirSync(profDir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort()) {
    const prof = JSON.parse(readFileSync(join(profDir, file), 'utf8')) as {
      nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
      samples: number[];
      timeDeltas: number[];
    };
    const byId = new Map(prof.nodes.map((n) => [n.id, n]));
    const self = new Map<string, number>();
    let total = 0;
    prof.samples.forEach((id, i) => {
      const f = byId.get(id)?.callFrame;
      const key = f === undefined ? '?' : `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
      const dt = prof.timeDeltas[i] ?? 0;
      self.set(key, (self.get(key) ?? 0) + dt);
      total += dt;
    });
    console.log(`   ${file} (${(total / 1000).toFixed(0)} ms sampled)`);
    for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
      console.log(`   ${((us / total) * 100).toFixed(1).padStart(5)}%  ${key}`);
    }
  }
}

export async function perfRows(): Promise<void> {
  console.log(`heapsim performance rows (node ${process.version}, ${REPEATS} repeats)`);
  const dir = mkdtempSync(join(tmpdir(), 'heapsim-bench-'));
  try {
    const steady = await genTrace(dir, 'steady', 1_330_000);
    // BENCH_ROWS picks rows by number (e.g. `4,profile`); all by default.
    const want = (row: string) => process.env.BENCH_ROWS === undefined || process.env.BENCH_ROWS.split(',').includes(row);
    if (want('1')) await snapshotRow(dir);
    if (want('2')) hugeAllocRow();
    if (want('3')) await overheadRow(steady);
    if (want('4')) await endToEndRow(steady);
    if (want('6')) await gcShareRow();
    if (want('profile')) profileRow(steady, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
