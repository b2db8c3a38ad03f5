// `heapsim gen`: writes a workload as trace format v1, streaming, with back-pressure.

import type { Writable } from 'node:stream';
import { UsageError } from '../errors.js';
import { findWorkload, mulberry32 } from './workloads.js';

export interface GenOptions {
  seed: number;
  /** Rows to write (gc rows count). */
  events?: number;
  /** Stop once trace time reaches this many nanoseconds. */
  durationNs?: number;
}

const CHUNK_CHARS = 1 << 16;

/** Writes the workload to `out`; resolves with the number of rows written. */
export async function generate(workload: string, options: GenOptions, out: Writable): Promise<number> {
  const w = findWorkload(workload);
  if (options.events === undefined && options.durationNs === undefined) throw new UsageError('a workload needs a number of events or a duration');
  const events = options.events ?? Number.MAX_SAFE_INTEGER;
  const source = w.make(mulberry32(options.seed), options.events ?? 1_000_000);
  let buf =
    `# heapsim-trace v1\n# source=heapsim gen ${w.name} --seed ${options.seed}\n# page_size=8192\n# gogc=100\n` +
    `# program=${w.summary}\ntime,op,id,pages,bytes,p\n`;
  let rows = 0;
  const write = (s: string): Promise<void> | void => {
    if (!out.write(s)) return new Promise((resolve) => out.once('drain', () => resolve()));
  };
  while (rows < events) {
    const row = source.next();
    if (options.durationNs !== undefined && Number(row.slice(0, row.indexOf(','))) > options.durationNs) break;
    buf += row + '\n';
    rows++;
    if (buf.length >= CHUNK_CHARS) {
      const wait = write(buf);
      buf = '';
      if (wait) await wait;
    }
  }
  if (buf.length > 0) await write(buf);
  return rows;
}
