// --check: every bundled trace passes on every backend with the invariants verified after
// every operation, and a backend that breaks one is stopped at that event with the
// invariant named and the backend's state.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { InvariantError, backends, findBackend, loadTrace, openTraceText, replayLoaded, replayReader, type BackendInfo, type PageHeap } from '../src/index.js';

const TRACES = join(process.cwd(), 'traces');
/**
 * The default run checks the recorded traces (real programs); `npm run test:invariants`
 * (and `npm run test:exhaustive`, a step of .ci/run) checks every bundled trace, the generated ones too: minutes of work.
 */
const ALL = process.env.HEAPSIM_CHECK_ALL === '1';
const RECORDED = /^(go1-|compile-)/;

describe(`--check on ${ALL ? 'every bundled trace' : 'the recorded traces (HEAPSIM_CHECK_ALL=1: every bundled trace)'} and every backend`, () => {
  const files = readdirSync(TRACES).filter((f) => /\.csv(\.gz)?$/.test(f) && (ALL || RECORDED.test(f)));
  test.each(files)('%s keeps every invariant on every backend', async (file) => {
    const trace = await loadTrace(join(TRACES, file));
    for (const b of backends()) {
      const r = replayLoaded(trace, { backend: b.name, check: true, timing: false });
      expect([r.backend, r.outcome, r.summary.ops]).toEqual([b.name, 'ok', trace.stats.events]);
    }
  });
});

/** A backend that misbehaves once: its `nth` allocation returns the previous one's address. */
function brokenBackend(nth: number): BackendInfo {
  const real = findBackend('bitmap');
  return {
    ...real,
    name: 'broken',
    create(options) {
      const heap: PageHeap = real.create(options);
      let calls = 0;
      let last = -1;
      const alloc = heap.alloc.bind(heap);
      heap.alloc = (npages: number, p: number) => {
        const addr = alloc(npages, p);
        calls++;
        const out = calls === nth ? last : addr;
        last = addr;
        return out;
      };
      return heap;
    },
  };
}

const TEXT = ['# page_size=8192', 'time,op,id,pages', '1,alloc,a,4', '2,alloc,b,4', '3,alloc,c,4', '4,free,a,4', ''].join('\n');

describe('--check stops at the first violation', () => {
  test('an allocation placed over a live span is an overlap at its event', async () => {
    const run = async () => replayReader(await openTraceText(TEXT, 'overlap.csv'), { backend: brokenBackend(3), check: true, timing: false });
    await expect(run()).rejects.toThrow(InvariantError);
    await expect(run()).rejects.toThrow(/event 3 \(line 5, alloc 0xc000008000 4 pages.*overlaps the live span at 0xc000008000/s);
    await expect(run()).rejects.toThrow(/state: heap \d+ pages, in use 12/);
  });

  test('without --check the same backend replays silently (the checks are what catch it)', async () => {
    const r = await replayReader(await openTraceText(TEXT, 'overlap.csv'), { backend: brokenBackend(3), timing: false });
    expect(r.outcome).toBe('ok');
  });

  test('page accounting: a heap that loses track of a page breaks free + in-use = heap', async () => {
    const real = findBackend('list');
    const leaky: BackendInfo = {
      ...real,
      name: 'leaky',
      create(options) {
        const heap = real.create(options);
        const stats = heap.freeStats.bind(heap);
        heap.freeStats = () => {
          const s = stats();
          return { ...s, freePages: s.freePages + 1, largestFreeRunPages: s.largestFreeRunPages };
        };
        return heap;
      },
    };
    await expect(replayReader(await openTraceText(TEXT, 'leak.csv'), { backend: leaky, check: true, timing: false })).rejects.toThrow(
      /event 1 .*free pages \d+ \+ in-use pages 4 != heap pages/,
    );
  });
});
