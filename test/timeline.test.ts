import { Timeline } from '../src/index.js';

describe('timeline', () => {
  const rows = (t: Timeline) =>
    t
      .toCsv()
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(',').map((x) => (x === '' ? null : Number(x))));

  test('rows stay bounded, spread over the whole trace, and keep every peak', () => {
    const t = new Timeline();
    let peak = 0;
    for (let i = 0; i < 2_000_000; i++) {
      const time = i * 1e6; // one event per ms of trace time
      const rss = i === 1_234_567 ? 999 * 2 ** 20 : (i % 1000) * 4096;
      if (rss > peak) peak = rss;
      t.sample(time, 1, 2, rss, 3, 4, -1);
    }
    const r = rows(t);
    expect(r.length).toBeGreaterThanOrEqual(2048);
    expect(r.length).toBeLessThanOrEqual(4096);
    expect(r[0][0]).toBe(0);
    expect(r[r.length - 1][0]).toBeGreaterThan(0.99 * 2e12);
    // The 999 MiB spike lasted one event, between rows, and survives in maxRssBytesSincePrev.
    expect(Math.max(...r.map((x) => x[4] as number))).toBe(peak);
    // maxRssBytesSincePrev is never below the row's own RSS, nor above the true peak.
    for (const x of r) expect(x[4] as number).toBeGreaterThanOrEqual(x[3] as number);
    expect(r[0][7]).toBeNull();
  });

  test('a short trace keeps a row per stride of trace time', () => {
    const t = new Timeline();
    for (let i = 0; i < 10; i++) t.sample(i * 1e6, i, i, i * 10, 0, 0, 64);
    expect(rows(t).map((x) => x[0])).toEqual([0, 1e6, 2e6, 3e6, 4e6, 5e6, 6e6, 7e6, 8e6, 9e6]);
    expect(rows(t)[3][7]).toBe(64);
  });
});

describe('chart', () => {
  test('draws each series with its marker, peaks on the top row, one unit per axis', async () => {
    const { renderChart } = await import('../src/index.js');
    const text = renderChart(
      'RSS',
      [
        {
          label: 'a',
          points: [
            [0, 0],
            [5e9, 2 ** 30],
            [10e9, 0],
          ],
        },
        {
          label: 'b',
          points: [
            [0, 2 ** 29],
            [10e9, 2 ** 29],
          ],
        },
      ],
      { color: false, width: 20, height: 5 },
    );
    const lines = text.split('\n');
    expect(lines[0]).toBe('RSS');
    expect(lines[1]).toMatch(/^ +\(GiB\)$/); // the y axis' one unit
    expect(lines[2]).toMatch(/^ +1\.00 ┤ {10}● {9}$/); // a's peak at mid-time, top row
    expect(lines[4]).toMatch(/0\.50 ┤■ {18}■$/); // b sits at half height
    expect(lines[6]).toMatch(/0\.00 ┤● {18}●$/);
    expect(lines[8]).toMatch(/^ +0\.0 +5\.0 +10\.0$/);
    expect(lines[9]).toMatch(/trace time \(s\)/);
    expect(text).toContain('● a   ■ b   ✱ several series');
  });

  test('a cell two series share shows the overlap marker, not the last series drawn', async () => {
    const { renderChart } = await import('../src/index.js');
    const same: [number, number][] = [
      [0, 100],
      [10, 100],
    ];
    const text = renderChart(
      'x',
      [
        { label: 'a', points: same },
        { label: 'b', points: same },
      ],
      { color: false, width: 10, height: 3 },
    );
    expect(text).toMatch(/┤✱ {8}✱/);
    expect(text).not.toMatch(/┤■/);
  });
});
