// Meters: each figure a meter declares is computed as documented, on hand-made traces
// whose answer follows from the backend's growth rule; and the declarations themselves
// are complete (every figure in a result has exactly one declaration).

import { FIGURES, METERS, openTraceText, replayReader } from '../src/index.js';

const PAGE = 8192;

async function replay(rows: string[], backend: string) {
  const text = ['# page_size=8192', 'time,op,id,pages', ...rows].join('\n') + '\n';
  return replayReader(await openTraceText(text, 'meters.csv'), { backend, timing: false });
}

describe('growth meter', () => {
  test('bitmap grows a 4 MiB chunk at a time: the 1st and the 3rd allocation grow the heap', async () => {
    // 512 pages of 8 KiB fill the first 4 MiB chunk exactly; the third allocation needs a second chunk.
    const r = await replay(['1,alloc,a,1', '2,alloc,b,511', '3,alloc,c,1'], 'bitmap');
    expect(r.summary.peakHeapBytes).toBe(8 * 1024 * 1024);
    expect(r.summary.growthAllocs).toBe(2);
  });

  test('reusing freed pages does not grow', async () => {
    const r = await replay(['1,alloc,a,512', '2,free,a,512', '3,alloc,b,512', '4,free,b,512', '5,alloc,c,256'], 'bitmap');
    expect(r.summary.peakHeapBytes).toBe(512 * PAGE);
    expect(r.summary.growthAllocs).toBe(1);
  });

  test('every backend counts at most one growth per allocation and at least one when the heap grew', async () => {
    for (const backend of ['list', 'treap', 'treap-aoff', 'bitmap']) {
      const r = await replay(['1,alloc,a,1', '2,alloc,b,2000', '3,alloc,c,1', '4,alloc,d,5000'], backend);
      expect(r.summary.growthAllocs).toBeGreaterThanOrEqual(1);
      expect(r.summary.growthAllocs).toBeLessThanOrEqual(r.summary.allocs);
    }
  });
});

describe('figure declarations', () => {
  test('figure keys are unique and every meter declares at least one', () => {
    const keys = FIGURES.map((f) => f.key);
    expect(new Set(keys).size).toBe(keys.length);
    for (const m of METERS) expect(m.figures.length).toBeGreaterThan(0);
  });

  test('every number in a result summary, fragmentation and latency has a declaration', async () => {
    const r = await replay(['1,alloc,a,1', '2,free,a,1'], 'bitmap');
    const declared = new Set(FIGURES.map((f) => f.key));
    const missing: string[] = [];
    for (const [k, v] of Object.entries(r.summary)) if (typeof v === 'number' && !declared.has(`summary.${k}`)) missing.push(`summary.${k}`);
    for (const [k, v] of Object.entries(r.fragmentation)) if (typeof v === 'number' && !declared.has(`fragmentation.${k}`)) missing.push(`fragmentation.${k}`);
    for (const [op, stats] of Object.entries(r.latency))
      for (const k of Object.keys(stats)) if (!declared.has(`latency.${op}.${k}`)) missing.push(`latency.${op}.${k}`);
    expect(missing).toEqual([]);
  });

  test('a gated figure has a direction; identity and info figures have none to gate on', () => {
    for (const f of FIGURES) {
      if (f.role === 'gated') expect(f.better).not.toBeNull();
      if (f.role === 'info') expect(f.better).toBeNull();
    }
  });
});
