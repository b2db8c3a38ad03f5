// --emit FILE: one CSV row per op, written in large buffered chunks.

import { closeSync, openSync, writeSync } from 'node:fs';
import type { EmitSink } from '../replay/engine.js';

const FLUSH_CHARS = 1 << 16;
export const EMIT_HEADER = 'seq,time,op,id,pages,addr,scavPages,releasedBytes,work,ns';

export class CsvEmitter implements EmitSink {
  private readonly fd: number;
  private buf = '';

  constructor(path: string) {
    this.fd = openSync(path, 'w');
    this.buf = EMIT_HEADER + '\n';
  }

  row(seq: number, time: number, op: string, id: string, pages: number, addr: number, scavPages: number, releasedBytes: number, work: number, ns: number): void {
    this.buf +=
      `${seq},${time},${op},${id},${pages < 0 ? '' : pages},${addr < 0 ? '' : '0x' + addr.toString(16)},` +
      `${scavPages},${releasedBytes},${work},${ns}\n`;
    if (this.buf.length >= FLUSH_CHARS) this.flush();
  }

  private flush(): void {
    if (this.buf.length > 0) writeSync(this.fd, this.buf);
    this.buf = '';
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}
