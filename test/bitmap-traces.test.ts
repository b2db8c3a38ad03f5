// The recorded traces carry, in `addr`, where the real Go 1.19.8 runtime put every span.
// The bitmap backend, fed the same rows in order, must put every one in the same place;
// and the page caches must matter (without the rows' P, far fewer land right).
//
// The bundled traces/ are the recordings of ../shared/traces/ (rows identical, metadata
// comments trimmed); where ../shared is beside the checkout that is checked here, and
// every test that replays recorded traces replays the bundled copies only.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { openTraceText, replayFile, replayReader } from '../src/index.js';
import { SHARED_TRACES, TRACES, haveShared, isRecorded } from './helpers.js';

const files = readdirSync(TRACES)
  .filter((f) => /\.csv(\.gz)?$/.test(f) && isRecorded(f))
  .map((f) => join(TRACES, f));

// What the real scavenger released, from the traces' README (MiB, rounded).
const realReleasedMiB: Record<string, number> = {
  'compile-go-types': 4,
  'go1-Gob': 0,
  'go1-Revcomp': 31,
  'go1-Template': 11,
  'spike-gogc100-768': 2254,
};

describe.each(files)('%s on bitmap', (file) => {
  test('every span lands at its recorded address; releases match the real scavenger', async () => {
    const r = await replayFile(file, { backend: 'bitmap', timing: false });
    expect(r.summary.firstAddrMiss).toBeNull();
    expect(r.summary.addrMatch).toBe(1);
    expect(r.summary.addrChecked).toBe(r.summary.allocs);
    const name = file
      .split('/')
      .pop()!
      .replace(/\.csv(\.gz)?$/, '');
    expect(Math.round(r.summary.releasedBytes / 2 ** 20)).toBe(realReleasedMiB[name]);
  });
});

test('without the P column (no page caches) most spans land elsewhere', async () => {
  const file = join(TRACES, 'go1-Template.csv');
  const text = readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => {
      if (line.startsWith('#') || line === '') return line;
      const cells = line.split(',');
      cells.splice(5, 1); // time,op,id,pages,bytes,p,addr -> drop p
      return cells.join(',');
    })
    .join('\n');
  expect(text).toContain('time,op,id,pages,bytes,addr');
  const r = await replayReader(await openTraceText(text, 'no-p.csv'), { backend: 'bitmap', timing: false });
  expect(r.summary.addrMatch).toBeLessThan(0.5);
});

const sharedWhy = haveShared ? '' : `${SHARED_TRACES} is not beside this checkout`;
if (!haveShared) console.warn(`bitmap-traces: bundled-vs-shared comparison skipped: ${sharedWhy}`);
(haveShared ? test : test.skip)(`the bundled recorded traces have the rows of ../shared/traces${haveShared ? '' : ` (skipped: ${sharedWhy})`}`, () => {
  const rows = (text: string): string[] => text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
  const shared = readdirSync(SHARED_TRACES).filter((f) => f.endsWith('.csv'));
  expect(shared.length).toBeGreaterThan(0);
  for (const name of shared) {
    const bundled = files.find((f) => f.endsWith(`/${name}`) || f.endsWith(`/${name}.gz`));
    expect([name, bundled !== undefined]).toEqual([name, true]);
    const raw = readFileSync(bundled!);
    const text = bundled!.endsWith('.gz') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
    const want = rows(readFileSync(join(SHARED_TRACES, name), 'utf8'));
    const got = rows(text);
    // One comparison per trace: equal row counts and the first differing row, if any.
    const firstDiff = want.findIndex((line, i) => got[i] !== line);
    expect([name, got.length, firstDiff]).toEqual([name, want.length, -1]);
  }
});
