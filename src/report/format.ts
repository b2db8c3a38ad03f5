// Number formatting for tables, charts and messages. One rule for every figure:
// - a measured quantity shows three significant digits, in the unit that keeps the number
//   below 1000 (bytes in binary units: 1023 MiB is "0.999 GiB", never beside "1.51 GiB");
// - counts are exact integers;
// - a difference never rounds a real change to zero (three significant digits of the change
//   itself), and a change of ×2 or more (or ×0.5 or less) is shown as a ratio ("×455"),
//   since a percentage of a small base is unreadable ("+45450%").

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
const NS_UNITS = ['ns', 'µs', 'ms', 's'];
/** Significant digits of every non-integer figure. */
const DIGITS = 3;
/** From this factor on (or its inverse), a change is shown as a ratio. */
const RATIO_FROM = 2;

/** x with three significant digits, in fixed notation ("0.0123", "487", "1234"). */
export function significant(x: number): string {
  if (x === 0 || !Number.isFinite(x)) return String(x);
  const rounded = Number(x.toPrecision(DIGITS));
  const decimals = Math.max(0, DIGITS - 1 - Math.floor(Math.log10(Math.abs(rounded))));
  return rounded.toFixed(decimals);
}

/** Scales v by `step` until it is below 1000 in the largest unit needed. */
function scaled(v: number, units: readonly string[], steps: readonly number[]): string {
  const neg = v < 0;
  let a = Math.abs(v);
  let u = 0;
  while (u < units.length - 1 && Number(significant(a)) >= 1000) {
    a /= steps[u];
    u++;
  }
  const num = u === 0 && Number.isInteger(a) ? String(a) : significant(a);
  return `${neg ? '-' : ''}${num} ${units[u]}`;
}

export function formatBytes(n: number): string {
  return scaled(n, BYTE_UNITS, [1024, 1024, 1024, 1024, 1024]);
}

export function formatNs(ns: number): string {
  return scaled(ns, NS_UNITS, [1e3, 1e3, 1e3]);
}

export function formatCount(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString('en-US') : significant(n);
}

/** A share (0.5 = "50.0%"). */
export function formatRatio(r: number): string {
  return `${significant(r * 100)}%`;
}

/**
 * The change from `base` to `v`: "=" when equal; "new" from zero; a ratio ("×455",
 * "×0.0500") from a factor of 2 (or 1/2) on; otherwise a signed percentage with three
 * significant digits of the change ("+0.0123%"). Shares (`unit` 'ratio') change by
 * percentage points ("+1.20pp").
 */
export function formatChange(base: number, v: number, unit: 'ratio' | 'other'): string {
  if (v === base) return '=';
  if (unit === 'ratio') return `${v > base ? '+' : ''}${significant((v - base) * 100)}pp`;
  if (base === 0) return 'new';
  const factor = v / base;
  if (factor >= RATIO_FROM || (factor > 0 && factor <= 1 / RATIO_FROM)) return `×${significant(factor)}`;
  const rel = (v - base) / Math.abs(base);
  return `${rel > 0 ? '+' : ''}${significant(rel * 100)}%`;
}

/** The one-line out-of-memory message of a stopped run, sizes in binary units. */
export function humanizeBytesIn(message: string): string {
  return message.replace(/(\d{4,}) bytes/g, (_m, n: string) => formatBytes(Number(n)));
}
