// --emit FILE: one CSV row per op and one per policy release, into an OutputFile (src/io/outputs.ts), which buffers
// the rows into large writes and puts the file in place only on close(): a replay that
// fails or is interrupted calls abort() (or is cleaned up by the signal handlers) and
// leaves no partial file behind, and an existing file of that name stays as it was.

import { OutputFile } from '../io/outputs.js';
import type { EmitSink } from '../replay/engine.js';
import type { Trigger } from '../policy/types.js';

/**
 * Op rows: alloc/free/scavenge with their cost (work units, wall ns, modelled ns).
 * Release rows (op `release`): what a policy released, when, why (trigger), from which
 * lowest address, at what modelled cost; seq is the event it ran in, or the last one
 * applied before it (a background release between events).
 */
export const EMIT_HEADER = 'seq,time,op,id,pages,addr,scavPages,releasedBytes,work,ns,trigger,modelNs';

const hex = (addr: number) => (addr < 0 ? '' : '0x' + addr.toString(16));

export class CsvEmitter implements EmitSink {
  private readonly out: OutputFile;

  /** Opens `path` (a temporary file beside it) and writes the header. Throws OutputError. */
  constructor(path: string) {
    this.out = OutputFile.open(path);
    this.out.write(EMIT_HEADER + '\n');
  }

  /** Throws OutputError (ending the replay, the file aborted) as soon as a write fails. */
  row(
    seq: number,
    time: number,
    op: string,
    id: string,
    pages: number,
    addr: number,
    scavPages: number,
    releasedBytes: number,
    work: number,
    ns: number,
    modelNs: number,
  ): void {
    this.out.write(`${seq},${time},${op},${id},${pages < 0 ? '' : pages},${hex(addr)},${scavPages},${releasedBytes},${work},${ns},,${modelNs}\n`);
  }

  release(seq: number, time: number, trigger: Trigger, addr: number, bytes: number, modelNs: number): void {
    this.out.write(`${seq},${time},release,,,${hex(addr)},,${bytes},,,${trigger},${modelNs}\n`);
  }

  /** The replay finished: flushes and renames the file into place. Throws OutputError. */
  close(): void {
    this.out.commitSync();
  }

  /** The replay failed: removes the temporary file; any existing file is untouched. */
  abort(): void {
    this.out.abort();
  }
}
