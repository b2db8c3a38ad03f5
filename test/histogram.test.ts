import { Histogram } from '../src/metrics/histogram.js';

describe('bounded histogram', () => {
  test('small values are exact', () => {
    const h = new Histogram();
    for (let v = 1; v <= 50; v++) h.add(v);
    expect(h.quantile(0.5)).toBe(25);
    expect(h.quantile(0.99)).toBe(50);
    expect(h.max).toBe(50);
    expect(h.mean).toBeCloseTo(25.5);
  });

  test('large values are within 1/32 and never above the maximum', () => {
    const h = new Histogram();
    const values: number[] = [];
    for (let i = 0; i < 10000; i++) {
      const v = Math.floor(1000 * Math.pow(1.0013, i));
      values.push(v);
      h.add(v);
    }
    values.sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.99]) {
      const exact = values[Math.ceil(q * values.length) - 1];
      const got = h.quantile(q);
      expect(got).toBeGreaterThanOrEqual(exact);
      expect(got / exact).toBeLessThan(1 + 1 / 32);
    }
    expect(h.quantile(1)).toBe(values[values.length - 1]);
    h.add(2 ** 50);
    expect(h.quantile(1)).toBe(2 ** 50);
  });
});
