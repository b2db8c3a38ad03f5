import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import { openTrace, openTraceText, replayFile, HeapsimError, TraceError, OP_NAMES, type EventBatch } from '../src/index.js';
import { OP_RSS } from '../src/trace/events.js';
import { describeError } from '../src/cli-errors.js';
import { CHECK_ALL, FIXTURES, cli, tempDir } from './helpers.js';

/** The longest line a trace may hold (docs/trace-format.md): 1 MiB. */
const MAX_LINE_BYTES = 1 << 20;

const badDir = join(FIXTURES, 'bad');
const goodDir = join(FIXTURES, 'good');
const badExpected: Record<string, { line?: number; column?: number; kind: string; says: string }> = JSON.parse(
  readFileSync(join(badDir, 'expected.json'), 'utf8'),
);
const goodExpected: Record<string, { events: number; allocs: number; frees: number; warnings?: number }> = JSON.parse(
  readFileSync(join(goodDir, 'expected.json'), 'utf8'),
);

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

  test.each(files)('%s: a replay rejects, and the CLI would print one file:line line and exit 2', async (file) => {
    // What `heapsim replay` does (openTrace, replayReader) and how it reports the error
    // (describeError), in process; the built CLI runs below on one fixture per stage.
    const path = join(badDir, file);
    const err = await replayFile(path).then(
      () => null,
      (e: unknown) => e,
    );
    const said = describeError(err, false);
    expect(said.exitCode).toBe(2);
    expect(said.text).toMatch(new RegExp(`^heapsim: ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: [^\\n]+\\n$`));
  });

  /** The header, a row, the replay's liveness check, gzip, bytes that are not text. */
  const throughCli = CHECK_ALL ? files : ['missing-header.csv', 'bad-number.csv', 'free-not-live.csv', 'truncated-gzip.csv', 'binary-garbage.csv'];
  const cliSet = CHECK_ALL ? 'every bad fixture' : 'subset: one bad fixture per stage; HEAPSIM_CHECK_ALL=1 runs every one';
  test.each(throughCli)(`%s: the built CLI exits 2 with a file:line message and no stack [${cliSet}]`, (file) => {
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
    const result = await replayFile(join(goodDir, file));
    expect(result.summary.ops).toBe(want.events);
    expect(result.summary.allocs).toBe(want.allocs);
  });

  const throughCli = CHECK_ALL ? files : ['all-ops.csv.gz', 'bom.csv', 'crlf.csv'];
  const cliSet = CHECK_ALL ? 'every valid fixture' : 'subset: gzip, a BOM, CRLF; HEAPSIM_CHECK_ALL=1 runs every valid fixture';
  test.each(throughCli)(`%s replays through the built CLI [${cliSet}]`, (file) => {
    const want = goodExpected[file];
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
    await expect(
      (async () => {
        for await (const _ of reader.batches()) void _;
      })(),
    ).rejects.toThrow('mixed.csv:3:4: pages must be an integer >= 1, got "-3"');
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

/** Reads every batch of a reader; resolves to the events or rejects with the read's error. */
async function drain(reader: Awaited<ReturnType<typeof openTrace>>): Promise<number> {
  let n = 0;
  for await (const b of reader.batches()) n += b.length;
  return n;
}

/** The error a read of `stdin` (as `-`) ends in, or null. */
async function readError(stdin: Readable, lenient = false): Promise<unknown> {
  return openTrace('-', { stdin, lenient })
    .then(drain)
    .then(
      () => null,
      (e: unknown) => e,
    );
}

describe('trace format v1 metadata, ops and columns', () => {
  test('gomaxprocs, go_version and memory_limit are typed and still shown as written', async () => {
    const { reader } = await readAll(join(goodDir, 'recorded-v1.csv'));
    expect(reader.meta.gomaxprocs).toBe(2);
    expect(reader.meta.goVersion).toBe('go1.19.8');
    expect(reader.meta.memoryLimitBytes).toBe(268435456);
    expect(reader.meta.metadata).toMatchObject({
      gomaxprocs: '2',
      go_version: 'go1.19.8',
      memory_limit: '268435456',
      recorded_on: '2026-11-22 linux/amd64, 2 CPUs',
    });
    expect(reader.meta.hasHuge).toBe(true);
  });

  test('metadata not given is null; "off" and Go\'s MaxInt64 are no memory limit', async () => {
    const plain = await openTraceText('time,op\n');
    expect([plain.meta.gomaxprocs, plain.meta.goVersion, plain.meta.memoryLimitBytes, plain.meta.hasHuge]).toEqual([null, null, null, false]);
    for (const v of ['off', '9223372036854775807']) {
      const r = await openTraceText(`# memory_limit=${v}\ntime,op\n`);
      expect(r.meta.memoryLimitBytes).toBe(Infinity);
    }
    for (const v of ['go1.19.8', 'go1.21rc2', 'go1', 'devel go1.22-e8ee1dc4f9 Tue Aug 1 2023']) {
      expect((await openTraceText(`# go_version=${v}\ntime,op\n`)).meta.goVersion).toBe(v);
    }
  });

  test('thp (written by heapsim record) is typed; another value is a warning, not an error, as an unknown key would be', async () => {
    for (const v of ['never', 'madvise', 'always'] as const) expect((await openTraceText(`# thp=${v}\ntime,op\n`)).meta.thp).toBe(v);
    const odd = await openTraceText('# thp=[madvise]\ntime,op\n');
    expect(odd.meta.thp).toBeNull();
    expect(odd.meta.metadata.thp).toBe('[madvise]');
    expect(odd.stats.warnings).toEqual(['<memory>:1: thp metadata "[madvise]" is not never, madvise or always: ignored']);
    expect((await openTraceText('time,op\n')).meta.thp).toBeNull();
  });

  test("rss rows carry bytes and huge; scavenge rows keep the released range's addr", async () => {
    const { batches, ops } = await readAll(join(goodDir, 'recorded-v1.csv'));
    const b = batches[0];
    expect(ops).toEqual(['alloc', 'alloc', 'rss', 'free', 'gc', 'scavenge', 'rss']);
    expect(OP_NAMES[OP_RSS]).toBe('rss');
    expect([b.bytes[2], b.huge[2], b.bytes[6], b.huge[6]]).toEqual([40960, 0, 8192, 2097152]);
    expect([b.huge[0], b.addr[2]]).toEqual([-1, -1]);
    expect([b.bytes[5], b.addr[5]]).toEqual([32768, 0xc000000000]);
    expect(b.addr[0]).toBe(0xc000000000);
  });
});

describe('ids are compared as text', () => {
  test('0xa, 0xA and 0x0a are three live spans, each freed by its own text', async () => {
    const { batches } = await readAll(join(goodDir, 'hex-ids-as-text.csv'));
    const b = batches[0];
    expect(new Set([b.slot[0], b.slot[1], b.slot[2]]).size).toBe(3);
    // Frees of 0x0a, 0xa, 0xA find the slots of their own allocs (pages 3, 1, 2).
    expect([b.slot[3], b.slot[4], b.slot[5]]).toEqual([b.slot[2], b.slot[0], b.slot[1]]);
    expect([b.pages[3], b.pages[4], b.pages[5]]).toEqual([3, 1, 2]);
  });

  test('canonical hex and other text never meet, whichever way the id is written first', async () => {
    const rows = [
      'time,op,id,pages',
      '0,alloc,0xc000002000,1',
      '1,alloc,0xC000002000,1',
      '2,alloc,0x00c000002000,1',
      '3,free,0xC000002000,',
      '4,free,0x00c000002000,',
      '5,free,0xc000002000,',
    ];
    expect(await drain(await openTraceText(rows.join('\n')))).toBe(6);
    const again = ['time,op,id,pages', '0,alloc,0x0,1', '1,free,0x00,'];
    await expect(drain(await openTraceText(again.join('\n'), 'z.csv'))).rejects.toThrow('z.csv:3:3: free of id "0x00" that is not live');
  });

  test('a real U+FFFD and other non-ASCII UTF-8 are valid in an id', async () => {
    const reader = await openTrace(join(goodDir, 'utf8-ids.csv'), { keepIds: true });
    const ids: string[] = [];
    for await (const b of reader.batches()) ids.push(...b.ids.slice(0, b.length));
    expect(ids).toEqual(['a\uFFFDb', 'sp\u00e4n', 'a\uFFFDb', 'sp\u00e4n']);
  });
});

describe('hostile input', () => {
  test('NUL and each kind of invalid UTF-8 are found at their byte; valid sequences pass', async () => {
    // The bytes become the id cell of the only row; the answer is their offset within the
    // cell of the byte blamed, or -1 when the row reads.
    const prefix = Buffer.from('time,op,id,pages\n0,alloc,');
    const at = async (bytes: number[]) => {
      const err = await readError(Readable.from([Buffer.concat([prefix, Buffer.from(bytes), Buffer.from(',1\n')])]));
      if (err === null) return -1;
      expect((err as TraceError).kind).toBe('encoding');
      const byte = /at byte (\d+) of the line/.exec((err as TraceError).message);
      return byte === null ? NaN : Number(byte[1]) - 1 - '0,alloc,'.length;
    };
    expect(await at([0x61, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80, 0xef, 0xbf, 0xbd])).toBe(-1);
    expect(await at([0x61, 0x00])).toBe(1);
    expect(await at([0xc0, 0xaf])).toBe(0); // overlong
    expect(await at([0x61, 0xed, 0xa0, 0x80])).toBe(1); // surrogate
    expect(await at([0xf4, 0x90, 0x80, 0x80])).toBe(0); // beyond U+10FFFF
    expect(await at([0x61, 0x62, 0xe2, 0x82])).toBe(2); // cut short
    expect(await at([0x80])).toBe(0); // stray continuation
  });

  test('NUL and invalid UTF-8 are blamed on their own row deep in a large input, and lenient skips just that row', async () => {
    const rows = ['time,op,id,pages'];
    for (let i = 0; i < 100000; i++) rows.push(`${i},alloc,s${i},1`);
    const bytes = Buffer.from(rows.join('\n') + '\n');
    // Row i is line i + 2. Poison s90000's id with a NUL and s90001's with a Latin-1 byte.
    const nul = bytes.indexOf('s90000,') + 3;
    const latin1 = bytes.indexOf('s90001,') + 3;
    bytes[nul] = 0;
    bytes[latin1] = 0xe9;
    const err = (await readError(Readable.from([bytes]))) as TraceError;
    expect(err).toBeInstanceOf(TraceError);
    expect([err.line, err.column, err.kind]).toEqual([90002, 3, 'encoding']);
    expect(err.message).toContain('a NUL byte at byte 16 of the line');
    const reader = await openTrace('-', { stdin: Readable.from([bytes]), lenient: true });
    expect(await drain(reader)).toBe(99998);
    expect(reader.stats.skippedByKind).toEqual({ encoding: 2 });
  });

  test('a lone CR ending the last line is an error; lenient reading skips quoted rows and lone CRs', async () => {
    await expect(drain(await openTraceText('time,op,bytes\n0,gc,5\r', 'cr.csv'))).rejects.toThrow('cr.csv:2:3: a CR not followed by LF');
    const text = ['time,op,id,pages', '0,alloc,a,1', '1,alloc,"b",1', '2,alloc,c\r,1', '# a "quoted" comment is fine', '3,free,a,'].join('\n');
    const reader = await openTraceText(text, 'mixed.csv', { lenient: true });
    expect(await drain(reader)).toBe(2);
    expect(reader.stats.skippedByKind).toEqual({ quote: 1, 'line-ending': 1 });
  });

  test('gzip on stdin is recognised when the first read is one byte, and when every read is', async () => {
    const gz = gzipSync(readFileSync(join(goodDir, 'all-ops.csv')));
    for (const chunks of [[gz.subarray(0, 1), gz.subarray(1)], Array.from(gz, (byte) => Buffer.from([byte]))]) {
      const reader = await openTrace('-', { stdin: Readable.from(chunks) });
      expect(reader.meta.gogc).toBe(50);
      expect(await drain(reader)).toBe(8);
    }
    // A byte-order mark split across reads is still dropped.
    const bom = readFileSync(join(goodDir, 'bom.csv'));
    expect(await drain(await openTrace('-', { stdin: Readable.from(Array.from(bom, (byte) => Buffer.from([byte]))) }))).toBe(2);
  });

  test('a truncated gzip says how many rows were read before it ended', async () => {
    const rows = ['time,op,id,pages'];
    for (let i = 0; i < 50000; i++) rows.push(`${i},alloc,s${i},1`);
    const gz = gzipSync(rows.join('\n'));
    const reader = await openTrace('-', { stdin: Readable.from([gz.subarray(0, gz.length >> 1)]) });
    const err = await drain(reader).then(
      () => null,
      (e: unknown) => e,
    );
    const read = reader.stats.rows;
    expect(err).toBeInstanceOf(TraceError);
    expect((err as TraceError).message).toBe(`<stdin>:${read + 2}:1: the gzip data ends early (a truncated file?): ${read} rows read before it`);
    expect(read).toBeGreaterThan(1000);
  });

  test('--lenient that skipped every row is an error, not an empty replay', async () => {
    const text = ['time,op,id,pages', '0,alloc,a,x', '1,free,b,', '2,"gc"'].join('\n');
    const err = await readError(Readable.from([Buffer.from(text)]), true);
    expect(err).toBeInstanceOf(HeapsimError);
    expect((err as Error).message).toBe('<stdin>: --lenient skipped all 3 rows (bad-number: 1, not-live: 1, quote: 1): nothing to replay');
    const r = cli(['replay', '-', '--lenient'], text);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('skipped all 3 rows');
    expect(await drain(await openTraceText('time,op\n# only a comment\n', 'x.csv', { lenient: true }))).toBe(0);
  });

  test(`a line over ${MAX_LINE_BYTES} bytes is an error; lenient reading skips it whole`, async () => {
    const long = 'x'.repeat(MAX_LINE_BYTES + 1);
    const text = `time,op,id,pages\n0,alloc,a,1\n1,alloc,${long},1\n2,free,a,\n`;
    const err = (await readError(Readable.from([Buffer.from(text)]))) as TraceError;
    expect([err.line, err.column, err.kind]).toEqual([3, 1, 'line-too-long']);
    const lenient = await openTraceText(text, 'long.csv', { lenient: true });
    expect(await drain(lenient)).toBe(2);
    expect(lenient.stats.skippedByKind).toEqual({ 'line-too-long': 1 });
    // Exactly the cap (CRLF not counted) is allowed, across reads; one byte more is not.
    const row = (n: number) => `time,op,id\r\n0,limit,${'y'.repeat(n - 8)}\r\n`;
    const split = (t: string) => Readable.from([Buffer.from(t.slice(0, 100)), Buffer.from(t.slice(100))]);
    expect(await drain(await openTrace('-', { stdin: split(row(MAX_LINE_BYTES)) }))).toBe(1);
    expect(((await readError(split(row(MAX_LINE_BYTES + 1)))) as TraceError).kind).toBe('line-too-long');
  });

  test('a 32 MiB line arriving in 64 KiB reads is dropped in linear time under lenient reading', async () => {
    const piece = Buffer.alloc(1 << 16, 'z');
    function* input() {
      yield Buffer.from('time,op,bytes\n0,gc,');
      for (let i = 0; i < 512; i++) yield piece;
      yield Buffer.from('\n1,gc,7\n');
    }
    const t0 = performance.now();
    const reader = await openTrace('-', { stdin: Readable.from(input()), lenient: true });
    expect(await drain(reader)).toBe(1);
    expect(reader.stats.skippedByKind).toEqual({ 'line-too-long': 1 });
    // Re-joining the line on every read took about a minute; a linear pass takes well under 1 s.
    expect(performance.now() - t0).toBeLessThan(10000);
  });

  test('a gzip bomb of one endless line stops at the cap', async () => {
    const bomb = gzipSync(Buffer.alloc(64 << 20, 'a'), { level: 9 });
    const err = (await readError(Readable.from([bomb]))) as TraceError;
    expect([err.line, err.column, err.kind]).toEqual([1, 1, 'line-too-long']);
  });

  test('messages quote at most 40 characters of a cell, say its length and escape control characters', async () => {
    const cell = '9'.repeat(500000) + 'x';
    const err = (await readError(Readable.from([Buffer.from(`time,op,id,pages\n0,alloc,a,${cell}\n`)]))) as TraceError;
    expect(err.message).toBe(`<stdin>:2:4: pages must be an integer >= 1, got "${'9'.repeat(40)}…" (500001 characters)`);
    const esc = (await readError(Readable.from([Buffer.from('time,op\n0,\u001b[31mred\n')]))) as TraceError;
    expect(esc.message).toContain('got "\\x1b[31mred"');
  });
});

describe('file descriptors', () => {
  test('a trace that fails in its header, at a row, or is stopped early leaves no file open', async () => {
    const dir = tempDir('heapsim-fds-');
    const badRow = join(dir, 'bad-row.csv');
    const badHeader = join(dir, 'bad-header.csv');
    writeFileSync(badRow, 'time,op,id,pages\n1,alloc,a,1\n2,alloc,b,-4\n');
    writeFileSync(badHeader, 'op,id\n1,alloc\n');
    const open = () => readdirSync('/proc/self/fd').length;
    const before = open();
    for (let i = 0; i < 200; i++) {
      await expect(replayFile(badRow)).rejects.toThrow(/pages/);
      await expect(replayFile(badHeader)).rejects.toThrow(/time/);
      const reader = await openTrace(join(process.cwd(), 'traces', 'go1-Gob.csv'));
      for await (const _batch of reader.batches()) break;
    }
    expect(open()).toBeLessThanOrEqual(before + 2);
  });
});
