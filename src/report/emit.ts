// --emit FILE: one CSV row per op, into an OutputFile (src/io/outputs.ts), which buffers
// the rows into large writes and puts the file in place only on close(): a replay that
// fails or is interrupted calls abort() (or is cleaned up by the signal handlers) and
// leaves no partial file behind, and an existing file of that name stays as it was.

import { OutputFile } from '../io/outputs.js';
import type { EmitSink } from '../replay/engine.js';

const EMIT_HEADER = 'seq,time,op,id,pages,addr,scavPages,releasedBytes,work,ns';

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
  ): void {
    this.out.write(
      `${seq},${time},${op},${id},${pages < 0 ? '' : pages},${addr < 0 ? '' : '0x' + addr.toString(16)},` + `${scavPages},${releasedBytes},${work},${ns}\n`,
    );
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
