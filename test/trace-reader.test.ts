import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { openTrace, openTraceText, TraceError, OP_NAMES, type EventBatch } from '../src/index.js';
import { FIXTURES, cli } from './helpers.js';

const badDir = join(FIXTURES, 'bad');
const goodDir = join(FIXTURES, 'good');
const badExpected: Record<string, { line?: number; column?: number; kind: string; says: string }> = JSON.parse(readFileSync(join(badDir, 'expected.json'), 'utf8'));
const goodExpected: Record<string, { events: number; allocs: number; frees: number; warnings?: number }> = JSON.parse(readFileSync(join(goodDir, 'expected.json'), 'utf8'));

async function readAll(path: string, lenient = false) {
  const reader = await openTrace(path, { lenient });
  const batches: EventBatch[] = [];
  for await (const b of reader.batches()) batches.push(b);
  return { reader, batches, ops: batches.flatMap((b) => Array.from(b.op.subarray(0, b.length), (o) => OP_NAMES[o])) };
}

describe('malformed corpus', () => {
  const files = readdirSync(badDir).filter((f) => f.endsWith('.csv'));
  test('every bad fixture has an expectation', () => {
    expect(files.sort()).toEqual(Object.keys(badExpected).sort());
  });

  test.each(files)('%s: TraceError at the expected file:line:column', async (file) => {
    const want = badExpected[file];
    const err = await readAll(join(badDir, file)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TraceError);
    const te = err as TraceError;
    expect(te.kind).toBe(want.kind);
    if (want.line !== undefined) expect([te.line, te.column]).toEqual([want.line, want.column]);
    expect(te.message).toContain(want.says);
    expect(te.message.startsWith(`${join(badDir, file)}:${te.line}:${te.column}: `)).toBe(true);
  });

  test.each(files)('%s: the CLI exits 2 with a file:line message and no stack', (file) => {
    const path = join(badDir, file);
    const r = cli(['replay', path]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^heapsim: ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: `));
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
  });
});

describe('valid variants', () => {
  const files = readdirSync(goodDir).filter((f) => f.endsWith('.csv') || f.endsWith('.csv.gz'));
  test('every valid fixture has an expectation', () => {
    expect(files.sort()).toEqual(Object.keys(goodExpected).sort());
  });

  test.each(files)('%s reads and replays', async (file) => {
    const want = goodExpected[file];
    const { reader, ops } = await readAll(join(goodDir, file));
    expect(ops.length).toBe(want.events);
    expect(ops.filter((o) => o === 'alloc').length).toBe(want.allocs);
    expect(ops.filter((o) => o === 'free').length).toBe(want.frees);
    expect(reader.stats.warnings.length).toBe(want.warnings ?? 0);
    const r = cli(['replay', join(goodDir, file), '--json']);
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.summary.ops).toBe(want.events);
    expect(result.summary.allocs).toBe(want.allocs);
  });

  test('metadata before the header is read and typed', async () => {
    const { reader } = await readAll(join(goodDir, 'all-ops.csv'));
    expect(reader.meta.pageBytes).toBe(8192);
    expect(reader.meta.gogc).toBe(50);
    expect(reader.meta.metadata.program).toBe('every op');
    expect(reader.meta.hasAddr && reader.meta.hasP).toBe(true);
  });

  test('empty cells are "not given"; empty scavenge means everything', async () => {
    const { batches } = await readAll(join(goodDir, 'all-ops.csv'));
    const b = batches[0];
    expect(Array.from(b.bytes.subarray(0, b.length))).toEqual([-1, -1, 1048576, -1, 65536, 67108864, -1, 0]);
    expect(b.addr[0]).toBe(0xc000000000);
    expect(b.addr[1]).toBe(-1);
    expect(Array.from(b.p.subarray(0, 4))).toEqual([0, 1, -1, 0]);
  });

  test('a free row carries the pages of its alloc and the same slot', async () => {
    const { batches } = await readAll(join(goodDir, 'id-reused.csv'));
    const b = batches[0];
    expect(b.pages[1]).toBe(1);
    expect(b.pages[3]).toBe(5);
    expect(b.slot[0]).toBe(b.slot[1]);
  });

  test('gzip input gives the same events as plain input, whatever the file name', async () => {
    const plain = readFileSync(join(goodDir, 'all-ops.csv'), 'utf8');
    const fromGz = await readAll(join(goodDir, 'all-ops.csv.gz'));
    const text = await openTraceText(plain);
    const ops: string[] = [];
    for await (const b of text.batches()) for (let i = 0; i < b.length; i++) ops.push(OP_NAMES[b.op[i]]);
    expect(ops).toEqual(fromGz.ops);
  });

  test('standard input (-), plain and gzip', () => {
    const plain = readFileSync(join(goodDir, 'all-ops.csv'));
    for (const input of [plain, gzipSync(plain)]) {
      const r = cli(['replay', '-', '--json'], input);
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout).summary.ops).toBe(8);
    }
  });

  test('rows are batched without losing any', async () => {
    const rows = ['time,op,id,pages'];
    for (let i = 0; i < 1000; i++) rows.push(`${i},alloc,s${i},1`, `${i},free,s${i},`);
    const reader = await openTraceText(rows.join('\n'), 'many.csv', { batchEvents: 7 });
    let n = 0;
    let batches = 0;
    for await (const b of reader.batches()) {
      n += b.length;
      batches++;
    }
    expect(n).toBe(2000);
    expect(batches).toBe(Math.ceil(2000 / 7));
  });
});

describe('lenient reading', () => {
  const text = [
    'time,op,id,pages,bytes',
    '0,alloc,a,1,',
    '1,alloc,b,-3,',
    '2,free,zz,,',
    '3,alloc,a,2,',
    '4,gc,,,100',
    '1,alloc,c,1,',
    '5,nope,,,',
    '6,free,a,,',
  ].join('\n');

  test('strict reading stops at the first bad row', async () => {
    const reader = await openTraceText(text, 'mixed.csv');
    await expect((async () => {
      for await (const _ of reader.batches()) void _;
    })()).rejects.toThrow('mixed.csv:3:4: pages must be an integer >= 1, got "-3"');
  });

  test('lenient reading skips bad rows and counts them by kind', async () => {
    const reader = await openTraceText(text, 'mixed.csv', { lenient: true });
    const ops: string[] = [];
    for await (const b of reader.batches()) for (let i = 0; i < b.length; i++) ops.push(OP_NAMES[b.op[i]]);
    expect(ops).toEqual(['alloc', 'gc', 'free']);
    expect(reader.stats.skipped).toBe(5);
    expect(reader.stats.skippedByKind).toEqual({ 'bad-number': 1, 'not-live': 1, 'already-live': 1, 'time-backwards': 1, 'bad-op': 1 });
  });

  test('the CLI reports skipped rows on stderr and exits 0', () => {
    const r = cli(['replay', '-', '--lenient', '--json'], text);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('skipped 5 bad rows');
    expect(JSON.parse(r.stdout).trace.skippedByKind['bad-op']).toBe(1);
  });
});
