// heapsim record, end to end: each Go fixture in testdata/ is built with the recorder in
// its runtime, run, decoded into a trace, and replayed on the bitmap backend (an exact
// port of Go 1.19's page allocator) under the `trace` policy. The replay must put the
// spans where the real runtime did (addrMatch >= 0.999: only concurrent P's interleaving
// between the allocator and the recorder's lock may differ), release exactly the ranges
// the real scavenger released (releaseMatch, same bound) and exactly as many bytes, and
// the trace must carry the run's metadata. Programs that exit non-zero, panic, are killed
// by a signal the runtime handles, or by SIGKILL still leave a valid trace, and say how
// they ended.
//
// Needs Debian's golang-1.19-go. Without it the test is skipped, saying why, except under
// CI=true or HEAPSIM_REQUIRE_ORACLE=1 (.ci/run), where a missing toolchain fails.
// Each fixture is recorded once; Go's build cache (GOCACHE) keeps rebuilds cheap.
// The refusals (unsupported toolchain, a moved runtime) and the release-match meter, on a
// hand-made trace, need no Go.

import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GO, goAvailable } from './oracle/harness.js';
import { ROOT, cli } from './helpers.js';
import {
  applySites,
  detectToolchain,
  openTraceText,
  readSites,
  record,
  RecordError,
  replayFile,
  replayReader,
  testBinaryArgs,
  type RecordResult,
  type ReplayResult,
} from '../src/index.js';

const available = goAvailable();
const mustRun = process.env.CI === 'true' || process.env.HEAPSIM_REQUIRE_ORACLE === '1';
const skipReason = `${GO} is not installed; apt-get install golang-1.19-go`;

if (!available && mustRun) {
  test('the Go 1.19 toolchain is installed', () => {
    throw new Error(`${GO} not found: CI must install golang-1.19-go (apt-get install golang-1.19-go)`);
  });
}
if (!available) console.warn(`record: skipped: ${skipReason}`);
const maybe = available ? describe : describe.skip;
const why = available ? '' : ` (skipped: ${skipReason})`;

const fixture = (name: string) => join(ROOT, 'testdata', name);
let dir = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'heapsim-record-test-'));
});
afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

/** The trace's metadata lines as a map, and its rows. */
function readTrace(path: string): { meta: Record<string, string>; rows: string[][] } {
  const raw = readFileSync(path);
  const text = path.endsWith('.gz') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
  const meta: Record<string, string> = {};
  const rows: string[][] = [];
  let header = true;
  for (const line of text.trimEnd().split('\n')) {
    const m = /^# ([a-z_]+)=(.*)$/.exec(line);
    if (m !== null) meta[m[1]] = m[2];
    else if (line.startsWith('#')) continue;
    else if (header) header = false;
    else rows.push(line.split(','));
  }
  return { meta, rows };
}

interface Recorded {
  result: RecordResult;
  replay: ReplayResult;
  meta: Record<string, string>;
  rows: string[][];
}

const recorded = new Map<string, Recorded>();

/** Records a fixture once (by key) and replays it on bitmap under the trace policy. */
async function recordOnce(
  key: string,
  target: string,
  args: string[] = [],
  extra: { gogc?: string; gomemlimit?: string; test?: boolean } = {},
): Promise<Recorded> {
  const have = recorded.get(key);
  if (have !== undefined) return have;
  const output = join(dir, `${key}.csv.gz`);
  const result = await record({
    target: extra.test ? undefined : target,
    test: extra.test ? target : undefined,
    args,
    output,
    go: GO,
    gogc: extra.gogc,
    gomemlimit: extra.gomemlimit,
    stdio: 'ignore',
  });
  const replay = await replayFile(output, { backend: 'bitmap', policy: 'trace' });
  const r = { result, replay, ...readTrace(output) };
  recorded.set(key, r);
  return r;
}

const RECORD_TIMEOUT_MS = 300_000;

/** The checks every recording must pass. */
function expectFaithful(r: Recorded): void {
  expect(r.replay.outcome).toBe('ok');
  expect(r.replay.summary.addrChecked).toBe(r.result.summary.allocs);
  expect(r.replay.summary.addrMatch).toBeGreaterThanOrEqual(0.999);
  // The trace policy releases what the trace says, to the byte.
  expect(r.replay.summary.releasedBytes).toBe(r.result.summary.releasedBytes);
  expect(r.rows.filter((row) => row[1] === 'scavenge').reduce((n, row) => n + Number(row[4]), 0)).toBe(r.result.summary.releasedBytes);
  if (r.result.summary.scavenges > 0) {
    expect(r.replay.summary.releaseChecked).toBe(r.result.summary.scavenges);
    expect(r.replay.summary.releaseMatch).toBeGreaterThanOrEqual(0.999);
  }
}

function expectMetadata(r: Recorded, want: { gogc: string; memoryLimit: string; program: string }): void {
  const tc = detectToolchain(GO);
  expect(r.meta.source).toBe(`heapsim record (${tc.version} runtime recorder)`);
  expect(r.meta.page_size).toBe('8192');
  expect(r.meta.gogc).toBe(want.gogc);
  expect(r.meta.gomaxprocs).toBe(process.env.GOMAXPROCS ?? String(availableParallelism()));
  expect(r.meta.go_version).toBe(tc.version);
  expect(r.meta.memory_limit).toBe(want.memoryLimit);
  expect(r.meta.program).toBe(want.program);
  expect(r.meta.recorded_on).toMatch(/^\d{4}-\d\d-\d\d linux\/\w+, \d+ CPUs$/);
}

maybe(`heapsim record: fixtures recorded and replayed on bitmap${why}`, () => {
  test(
    'spike: spans where the runtime put them, the scavenger ranges and bytes exactly, metadata',
    async () => {
      const r = await recordOnce('spike', fixture('spike'));
      expectFaithful(r);
      expect(r.result.exitStatus).toBe(0);
      expect(r.result.summary.ending).toEqual({ how: 'exit', code: 0 });
      expect(r.result.summary.gcs).toBeGreaterThanOrEqual(3);
      // The spikes (192 MiB each) are given back by the background scavenger.
      expect(r.result.summary.releasedBytes).toBeGreaterThan(64 << 20);
      expectMetadata(r, { gogc: process.env.GOGC ?? '100', memoryLimit: 'off', program: fixture('spike') });
      // ids are span bases, repeated in addr on alloc rows, with the P that allocated.
      const alloc = r.rows.find((row) => row[1] === 'alloc' && row[5] !== '');
      expect(alloc?.[2]).toMatch(/^0x[0-9a-f]+$/);
      expect(alloc?.[6]).toBe(alloc?.[2]);
    },
    RECORD_TIMEOUT_MS,
  );

  test(
    'fragmenter: a fragmented heap replays exactly',
    async () => {
      const r = await recordOnce('fragmenter', fixture('fragmenter'));
      expectFaithful(r);
      expect(r.result.summary.ending).toEqual({ how: 'main', code: 0 });
      expect(r.result.summary.allocs).toBeGreaterThan(2000);
    },
    RECORD_TIMEOUT_MS,
  );

  test(
    'freeos: FreeOSMemory releases and SetMemoryLimit rows; --gogc and --gomemlimit reach the program and the metadata',
    async () => {
      const r = await recordOnce('freeos', fixture('freeos'), [], { gogc: '150', gomemlimit: '1GiB' });
      expectFaithful(r);
      expectMetadata(r, { gogc: '150', memoryLimit: String(1 << 30), program: fixture('freeos') });
      const limits = r.rows.filter((row) => row[1] === 'limit').map((row) => row[4]);
      expect(limits).toEqual([String(48 << 20), '']);
      expect(r.result.summary.scavenges).toBeGreaterThan(0);
    },
    RECORD_TIMEOUT_MS,
  );

  test(
    'partial: rss rows measure what the program wrote, not what it allocated',
    async () => {
      const r = await recordOnce('partial', fixture('partial'));
      expectFaithful(r);
      const rss = r.rows.filter((row) => row[1] === 'rss');
      // After each GC, after each scavenger batch, and at exit.
      expect(rss.length).toBeGreaterThanOrEqual(r.result.summary.gcs + 1);
      const last = Number(rss[rss.length - 1][4]);
      // 128 MiB allocated in eight buffers, about 40 MiB of it written.
      expect(r.replay.summary.finalInUseBytes).toBeGreaterThan(128 << 20);
      expect(last).toBeGreaterThan(32 << 20);
      expect(last).toBeLessThan(96 << 20);
      for (const row of rss) expect(row[7]).toMatch(/^\d*$/);
    },
    RECORD_TIMEOUT_MS,
  );

  test(
    '--test: a package test binary, go test flags translated, run in the package directory',
    async () => {
      const r = await recordOnce('fragmenter-test', fixture('fragmenter'), ['-run', 'TestFragment', '-count=1'], { test: true });
      expectFaithful(r);
      expect(r.result.exitStatus).toBe(0);
      expect(r.result.summary.ending).toEqual({ how: 'exit', code: 0 });
      expect(r.meta.program).toBe(`go test ${fixture('fragmenter')} -run TestFragment -count=1`);
    },
    RECORD_TIMEOUT_MS,
  );
});

maybe(`heapsim record: programs that fail still leave a valid trace${why}`, () => {
  const endings: [string, string[], number, RecordResult['summary']['ending']][] = [
    ['panic', ['-panic'], 2, { how: 'panic', code: 2 }],
    ['SIGTERM (handled by the runtime)', ['-signal', '15'], 143, { how: 'signal', signal: 15 }],
    ['SIGKILL (cut at the last flush)', ['-signal', '9'], 137, { how: 'cut', partialBytes: 0 }],
  ];
  test.each(endings)(
    '%s',
    async (name, args, status, ending) => {
      const r = await recordOnce(`spike-${name}`, fixture('spike'), ['-rounds', '1', ...args]);
      expect(r.result.exitStatus).toBe(status);
      expect(r.result.summary.ending).toEqual(ending);
      expect(r.result.summary.events).toBeGreaterThan(0);
      expectFaithful(r);
    },
    RECORD_TIMEOUT_MS,
  );

  test(
    'the CLI: the program keeps its standard output, heapsim exits with its status and says how it ended',
    () => {
      const out = join(dir, 'cli.csv');
      const r = cli(['record', '-o', out, '--go', GO, '--', fixture('spike'), '-rounds', '1', '-exit', '3']);
      expect(r.status).toBe(3);
      expect(r.stdout).toBe('spike: done\n');
      expect(r.stderr).toMatch(/called os\.Exit\(3\); exit status 3/);
      expect(r.stderr).toContain(`next: heapsim replay ${out}`);
      expect(readTrace(out).meta.go_version).toMatch(/^go1\.19\./);
    },
    RECORD_TIMEOUT_MS,
  );
});

describe('heapsim record: what it refuses', () => {
  const fakeGo = (version: string): string => {
    const path = join(dir, `go-${version}`);
    writeFileSync(path, `#!/bin/sh\nprintf '%s\\n' ${version} /nonexistent linux amd64\n`);
    chmodSync(path, 0o755);
    return path;
  };

  test('an unsupported toolchain, naming the supported versions', () => {
    expect(() => detectToolchain(fakeGo('go1.21.3'))).toThrow(RecordError);
    expect(() => detectToolchain(fakeGo('go1.21.3'))).toThrow(/go1\.21\.3; heapsim record needs one whose runtime it knows \(supported: go1\.19\.x on linux\)/);
  });

  test('a runtime whose functions moved: an error naming the site, never a partial trace', () => {
    const tc = { ...detectToolchain(fakeGo('go1.19.99')), goroot: '/nonexistent' };
    const site = readSites(tc.recorderDir).sites.find((s) => s.file === 'mheap.go' && s.count === 2);
    if (site === undefined) throw new Error('sites.json lost the allocSpan site');
    const text = `package runtime\n\n${site.func}npages uintptr) {\n\t${site.anchors[0]}\n}\n`;
    expect(() => applySites(tc, text, [site])).toThrow(/found 1 times, expected 2.*Supported: go1\.19\.x/);
    expect(() => applySites(tc, 'package runtime\n', [site])).toThrow(/function not found/);
    const twice = `package runtime\n\n${site.func}npages uintptr) {\n\t${site.anchors[0]}\n\t${site.anchors[0]}\n}\n`;
    expect(applySites(tc, twice, [site])).toContain(`\t${site.anchors[0]}; ${site.call}\n`);
  });

  test('go test flags become test binary flags', () => {
    expect(testBinaryArgs(['-run', 'X', '-bench=.', '-benchtime', '3x', '-v', '-myflag', 'run'])).toEqual([
      '-test.run',
      'X',
      '-test.bench=.',
      '-test.benchtime',
      '3x',
      '-test.v',
      '-myflag',
      'run',
    ]);
  });

  test('bad --gogc and --gomemlimit are usage errors (exit 2), before anything is built', () => {
    expect(cli(['record', '--gogc', 'lots', '--', 'x']).stderr).toMatch(/^heapsim: --gogc takes a percentage or off/);
    const r = cli(['record', '--gomemlimit', '1 GB', '--', 'x']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--gomemlimit takes a size/);
    expect(cli(['record']).stderr).toMatch(/give the program to record after --/);
  });
});

describe('releaseMatch (the release-match meter)', () => {
  // Span a is freed: the only free page not yet released, so Go 1.19's scavenger (and the
  // bitmap backend) releases exactly it.
  const trace = (addr: string) =>
    ['time,op,id,pages,bytes,addr', '1,alloc,a,1,,0xc000000000', '2,alloc,b,1,,0xc000002000', '3,free,a,,,', `4,scavenge,,,8192,${addr}`].join('\n') + '\n';
  const replay = async (addr: string, policy: string) => (await replayReader(await openTraceText(trace(addr), 't.csv'), { backend: 'bitmap', policy })).summary;

  test('a scavenge row whose range the backend released exactly matches; another range is a miss, with both ranges', async () => {
    const hit = await replay('0xc000000000', 'trace');
    expect([hit.releaseMatch, hit.releaseChecked, hit.firstReleaseMiss]).toEqual([1, 1, null]);
    const miss = await replay('0xc000004000', 'trace');
    expect(miss.releaseMatch).toBe(0);
    expect(miss.firstReleaseMiss).toEqual({ seq: 4, line: 5, want: 0xc000004000, wantBytes: 8192, got: 0xc000000000, gotBytes: 8192 });
  });

  test('null under a policy that does not replay the trace releases', async () => {
    const s = await replay('0xc000000000', 'none');
    expect(s.releaseMatch).toBeNull();
    expect(s.firstReleaseMiss).toBeNull();
  });
});
