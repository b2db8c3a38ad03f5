// Synthetic traces for benchmarks: deterministic, written as trace format v1 text.

import { mulberry32 } from '../src/util/rng.js';

/**
 * Small spans churning around a steady live set, like the recorded go1 traces: mostly
 * 1-8 pages, some up to 127, a few large; a scavenge row every 2000 events.
 */
export function churnTrace(events: number, seed = 1, liveTarget = 4000): string {
  const rand = mulberry32(seed);
  const out: string[] = ['# page_size=8192', 'time,op,id,pages,bytes,p'];
  const live: number[] = [];
  let next = 0;
  let t = 0;
  for (let i = 0; i < events; i++) {
    t += 1 + Math.floor(rand() * 1000);
    if (i % 2000 === 1999) {
      out.push(`${t},scavenge,,,65536,`);
      continue;
    }
    if (live.length < liveTarget * (0.5 + rand())) {
      const r = rand();
      const pages = r < 0.8 ? 1 + Math.floor(rand() * 8) : r < 0.98 ? 9 + Math.floor(rand() * 119) : 128 + Math.floor(rand() * 512);
      const id = next++;
      live.push(id);
      out.push(`${t},alloc,s${id},${pages},,${Math.floor(rand() * 2)}`);
    } else {
      const k = Math.floor(rand() * live.length);
      const id = live[k];
      live[k] = live[live.length - 1];
      live.pop();
      out.push(`${t},free,s${id},,,${Math.floor(rand() * 2)}`);
    }
  }
  return out.join('\n') + '\n';
}

/**
 * Many live large spans (>= 128 pages) of random sizes, then allocations and frees of
 * large spans against that population: the heaps of Go issue 19393. With allocShare
 * above 0.5 the live set keeps growing into the free spans, so where each allocation
 * lands decides how soon the heap must grow.
 */
export function largeSpanTrace(liveSpans: number, ops: number, seed = 1, allocShare = 0.5): string {
  const rand = mulberry32(seed);
  const out: string[] = ['# page_size=8192', 'time,op,id,pages'];
  const live: number[] = [];
  let next = 0;
  let t = 0;
  const size = () => 128 + Math.floor(rand() * 1024);
  // Build the population, freeing every other span so the free set is as large as the live one.
  for (let i = 0; i < 2 * liveSpans; i++) {
    const id = next++;
    out.push(`${t++},alloc,L${id},${size()}`);
    live.push(id);
  }
  for (let i = 0; i < live.length; i += 2) out.push(`${t++},free,L${live[i]},`);
  const kept = live.filter((_, i) => i % 2 === 1);
  for (let i = 0; i < ops; i++) {
    if (rand() >= allocShare && kept.length > 0) {
      const k = Math.floor(rand() * kept.length);
      out.push(`${t++},free,L${kept[k]},`);
      kept[k] = kept[kept.length - 1];
      kept.pop();
    } else {
      const id = next++;
      out.push(`${t++},alloc,L${id},${size()}`);
      kept.push(id);
    }
  }
  return out.join('\n') + '\n';
}
