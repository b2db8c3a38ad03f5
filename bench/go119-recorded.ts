// What the recorded traces say about Go 1.19.8's scavenger on its machine: the measurements
// behind the go1.19 policy's constants and the cost model's release prices (docs/policies.md,
// "Against the recorded traces"). Reads the traces' rows directly, simulates nothing but
// Go's own pacer (the exact port, src/policy/go119-pacing.ts) on the recorded batches.
// - Release spacing: the time from a scavenge row to the next one, when both are adjacent
//   rows under 200 us apart (inside one batch), by the later row's size: rows are written
//   after their madvise, so this is that call's cost (plus Go's and the recorder's own).
// - Sleeps: batches are scavenge rows under 500 us apart; each batch's work is its first to
//   last row plus one call; Go's pacer gives the sleep it asked for; the next batch (with no
//   gc row between) says how long it lasted. Sleeps asked under 0.95 ms are one epoll_wait.
// - gc rows: the time to the first release after each (the wake-up), the bytes freed
//   before the row of spans allocated after the previous row (only this cycle's sweep can
//   free those), and how long before the row its run of frees began.
//
// Usage: node dist/bench/go119-recorded.js [TRACE...] (default: the recorded traces).

import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { RECORDED_TRACES } from './release-fidelity.js';
import { ScavengerPacer } from '../src/policy/go119-pacing.js';
import { timerSleepNs } from '../src/policy/go119.js';

interface Row {
  t: number;
  op: string;
  id: string;
  pages: number;
  bytes: number;
}

function readRows(path: string): { rows: Row[]; pageBytes: number } {
  const raw = readFileSync(path);
  const text = (path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
  let pageBytes = 8192;
  let cols: string[] = [];
  const rows: Row[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# page_size=(\d+)/.exec(line);
      if (m) pageBytes = Number(m[1]);
      continue;
    }
    const f = line.split(',');
    if (cols.length === 0) {
      cols = f;
      continue;
    }
    const get = (k: string): string => f[cols.indexOf(k)] ?? '';
    rows.push({ t: Number(get('time')), op: get('op'), id: get('id'), pages: Number(get('pages')), bytes: Number(get('bytes')) });
  }
  return { rows, pageBytes };
}

const q = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const us = (ns: number): string => (ns / 1e3).toFixed(1);

function releaseSpacing(rows: Row[]): void {
  const bySize = new Map<number, number[]>();
  for (let i = 1; i < rows.length; i++) {
    const [a, b] = [rows[i - 1], rows[i]];
    if (a.op !== 'scavenge' || b.op !== 'scavenge' || b.t - a.t >= 200e3) continue;
    bySize.set(b.bytes, [...(bySize.get(b.bytes) ?? []), b.t - a.t]);
  }
  for (const [size, d] of [...bySize].sort((x, y) => x[0] - y[0])) {
    if (d.length >= 5) console.log(`  release ${size} B: n ${d.length}, p10 ${us(q(d, 0.1))} us, median ${us(q(d, 0.5))} us, p90 ${us(q(d, 0.9))} us`);
  }
}

function sleeps(rows: Row[]): void {
  const batches: { first: number; last: number; afterGc: boolean }[] = [];
  let gcSince = false;
  for (const r of rows) {
    if (r.op === 'gc') gcSince = true;
    if (r.op !== 'scavenge') continue;
    const cur = batches[batches.length - 1];
    if (cur !== undefined && !gcSince && r.t - cur.last < 500e3) cur.last = r.t;
    else batches.push({ first: r.t, last: r.t, afterGc: gcSince });
    gcSince = false;
  }
  const CALL_NS = 8e3;
  const pacer = new ScavengerPacer(1);
  const pairs: [number, number][] = [];
  batches.forEach((b, i) => {
    const asked = pacer.sleepNs(b.last - b.first + CALL_NS);
    const next = batches[i + 1];
    const slept = next === undefined || next.afterGc ? asked : next.first - CALL_NS - b.last;
    if (next !== undefined && !next.afterGc) pairs.push([asked, slept]);
    pacer.slept(slept, 2);
  });
  const single = pairs.filter(([a]) => a < 0.95e6).map(([, s]) => s - 1e6);
  const short = pairs.filter(([a]) => a < 10e6);
  if (single.length > 0)
    console.log(`  ${single.length} one-wait sleeps: 1 ms + p10 ${us(q(single, 0.1))}, median ${us(q(single, 0.5))}, p90 ${us(q(single, 0.9))} us`);
  if (short.length > 0) {
    const err = (f: (a: number) => number): string =>
      us(
        q(
          short.map(([a, s]) => Math.abs(f(a) - s)),
          0.5,
        ),
      );
    console.log(`  ${short.length} sleeps asked under 10 ms: median |slept - model| ${err(timerSleepNs)} us; |slept - asked| ${err((a) => a)} us`);
  }
}

function gcRows(rows: Row[], pageBytes: number): void {
  const born = new Map<string, number>();
  const npages = new Map<string, number>();
  let prevGc = -Infinity;
  let youngFreed = 0;
  let lastAlloc = -Infinity;
  rows.forEach((r, i) => {
    if (r.op === 'alloc') {
      born.set(r.id, r.t);
      npages.set(r.id, r.pages);
      lastAlloc = r.t;
    } else if (r.op === 'free') {
      if ((born.get(r.id) ?? -Infinity) > prevGc) youngFreed += (npages.get(r.id) ?? 0) * pageBytes;
    } else if (r.op === 'gc') {
      let j = i + 1;
      while (j < rows.length && rows[j].op !== 'scavenge' && rows[j].op !== 'gc') j++;
      const wake =
        j < rows.length && rows[j].op === 'scavenge' ? `first release ${((rows[j].t - r.t) / 1e6).toFixed(2)} ms after` : 'no release before the next row';
      const frees = rows[i - 1]?.op === 'free' ? `; frees since the last allocation, ${((r.t - lastAlloc) / 1e6).toFixed(2)} ms before` : '';
      console.log(
        `  gc ${(r.t / 1e9).toFixed(3)} s: ${wake}; ${(youngFreed / 2 ** 20).toFixed(1)} MiB of spans born since the last row freed before it${frees}`,
      );
      prevGc = r.t;
      youngFreed = 0;
    }
  });
}

function main(paths: string[]): void {
  for (const p of paths.length > 0 ? paths : RECORDED_TRACES) {
    const { rows, pageBytes } = readRows(p);
    console.log(p.replace(/^.*\//, ''));
    releaseSpacing(rows);
    sleeps(rows);
    gcRows(rows, pageBytes);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
