// Table-driven cases from Go 1.19's own runtime tests, ported as data: the inputs and
// expected outputs are Go's (mpallocbits_test.go, mgcscavenge_test.go); the code that
// runs them against heapsim's bitmap layers is heapsim's.

import { fillAligned, findBitRange64, hi64 } from '../src/heap/bitmap/bits64.js';
import { CHUNK_BYTES, CHUNK_WORDS, NOT_FOUND, PAGE_BYTES, allocRange, find, setRange, summarize, summaryOut } from '../src/heap/bitmap/palloc-bits.js';
import { PageCache } from '../src/heap/bitmap/page-cache.js';
import { ScavengeIndex, candidateSize, findScavengeCandidate } from '../src/heap/bitmap/scavenge.js';
import { MAX_PACKED, pack, packedHi, sumEnd, sumMax, sumStart } from '../src/heap/bitmap/summary.js';
import { rng } from './helpers.js';

const P = 512; // PallocChunkPages
const NONE = -1; // ^uint(0): not found
type BitRange = [i: number, n: number];

/** A 64-bit hex literal as [lo, hi]. */
const u64 = (hex: string): [number, number] => {
  const v = BigInt(hex);
  return [Number(v & 0xffffffffn), Number(v >> 32n)];
};

/** A chunk whose allocation bits are `alloc` and scavenged bits `scav`. */
function chunk(alloc: BitRange[] = [], scav: BitRange[] = []): Uint32Array {
  const b = new Uint32Array(CHUNK_WORDS);
  for (const [i, n] of alloc) if (n > 0) setRange(b, 0, i, n);
  for (const [i, n] of scav) if (n > 0) setRange(b, CHUNK_WORDS / 2, i, n);
  return b;
}

describe('mpallocbits_test.go', () => {
  test('TestFindBitRange64', () => {
    const check = (x: string, n: number, want: number) => {
      const [lo, hi] = u64(x);
      const got = findBitRange64(lo, hi, n);
      if (want === NONE) expect([x, n, got >= 64]).toEqual([x, n, true]);
      else expect([x, n, got]).toEqual([x, n, want]);
    };
    for (let i = 1; i <= 64; i++) check('0xffffffffffffffff', i, 0);
    for (let i = 1; i <= 64; i++) check('0x0', i, NONE);
    check('0x8000000000000000', 1, 63);
    check('0xc000010001010000', 2, 62);
    check('0xc000010001030000', 2, 16);
    check('0xe000030001030000', 3, 61);
    check('0xe000030001070000', 3, 16);
    check('0xffff03ff01070000', 16, 48);
    check('0xffff03ff0107ffff', 16, 0);
    check('0x0fff03ff01079fff', 16, NONE);
  });

  // TestPallocBitsSummarize: free ranges -> (start, max, end).
  const summarizeCases: [string, BitRange[], [number, number, number]][] = [
    ['NoneFree', [], [0, 0, 0]],
    ['OnlyStart', [[0, 10]], [10, 10, 0]],
    ['OnlyEnd', [[P - 40, 40]], [0, 40, 40]],
    [
      'StartAndEnd',
      [
        [0, 11],
        [P - 23, 23],
      ],
      [11, 23, 23],
    ],
    [
      'StartMaxEnd',
      [
        [0, 4],
        [50, 100],
        [P - 4, 4],
      ],
      [4, 100, 4],
    ],
    [
      'OnlyMax',
      [
        [1, 20],
        [35, 241],
        [P - 50, 30],
      ],
      [0, 241, 0],
    ],
    [
      'MultiMax',
      [
        [35, 2],
        [40, 5],
        [100, 5],
      ],
      [0, 5, 0],
    ],
    ['One', [[2, 1]], [0, 1, 0]],
    ['AllFree', [[0, P]], [P, P, P]],
  ];
  test.each(summarizeCases)('TestPallocBitsSummarize/%s', (_name, free, want) => {
    const b = chunk([[0, P]]);
    for (const [i, n] of free) for (let k = i; k < i + n; k++) b[k >>> 5] &= ~(1 << (k & 31));
    summarize(b, 0);
    expect([summaryOut.start, summaryOut.max, summaryOut.end]).toEqual(want);
  });

  // TestPallocBitsAlloc: successive find+allocRange from a bitmap.
  const allocCases: [string, BitRange[], number, number[], BitRange[]][] = [
    ['AllFree1', [], 1, [0, 1, 2, 3, 4, 5], [[0, 6]]],
    ['AllFree2', [], 2, [0, 2, 4, 6, 8, 10], [[0, 12]]],
    ['AllFree5', [], 5, [0, 5, 10, 15, 20], [[0, 25]]],
    ['AllFree64', [], 64, [0, 64, 128], [[0, 192]]],
    ['AllFree65', [], 65, [0, 65, 130], [[0, 195]]],
    [
      'SomeFree64',
      [
        [0, 32],
        [64, 32],
        [100, P - 100],
      ],
      64,
      [NONE],
      [
        [0, 32],
        [64, 32],
        [100, P - 100],
      ],
    ],
    ['NoneFree1', [[0, P]], 1, [NONE, NONE], [[0, P]]],
    ['NoneFree2', [[0, P]], 2, [NONE, NONE], [[0, P]]],
    ['NoneFree5', [[0, P]], 5, [NONE, NONE], [[0, P]]],
    ['NoneFree65', [[0, P]], 65, [NONE, NONE], [[0, P]]],
    [
      'ExactFit1',
      [
        [0, P / 2 - 3],
        [P / 2 - 2, P / 2 + 2],
      ],
      1,
      [P / 2 - 3, NONE],
      [[0, P]],
    ],
    [
      'ExactFit2',
      [
        [0, P / 2 - 3],
        [P / 2 - 1, P / 2 + 1],
      ],
      2,
      [P / 2 - 3, NONE],
      [[0, P]],
    ],
    [
      'ExactFit5',
      [
        [0, P / 2 - 3],
        [P / 2 + 2, P / 2 - 2],
      ],
      5,
      [P / 2 - 3, NONE],
      [[0, P]],
    ],
    [
      'ExactFit65',
      [
        [0, P / 2 - 31],
        [P / 2 + 34, P / 2 - 34],
      ],
      65,
      [P / 2 - 31, NONE],
      [[0, P]],
    ],
    [
      'SomeFree161',
      [
        [0, 185],
        [331, 1],
      ],
      161,
      [332],
      [
        [0, 185],
        [331, 162],
      ],
    ],
  ];
  test.each(allocCases)('TestPallocBitsAlloc/%s', (_name, before, npages, hits, after) => {
    const b = chunk(before);
    for (const want of hits) {
      const a = find(b, 0, npages, 0);
      expect(a).toBe(want === NONE ? NOT_FOUND : want);
      if (want !== NONE) allocRange(b, 0, a, npages);
    }
    expect(Array.from(b.subarray(0, CHUNK_WORDS / 2))).toEqual(Array.from(chunk(after).subarray(0, CHUNK_WORDS / 2)));
  });

  test("PackPallocSum round-trips, including the root level's 2^21 flag bit", () => {
    for (const [s, m, e] of [
      [0, 0, 0],
      [1, 2, 3],
      [P, P, P],
      [MAX_PACKED - 1, MAX_PACKED - 1, MAX_PACKED - 1],
      [MAX_PACKED, MAX_PACKED, MAX_PACKED],
      [5, 12345, 77],
    ]) {
      const lo = pack(s, m, e);
      const hi = packedHi;
      expect([sumStart(lo, hi), sumMax(lo, hi), sumEnd(lo, hi)]).toEqual([s, m, e]);
    }
    // Go's bit layout: start bits 0-20, max 21-41, end 42-62; all-free root = 1<<63.
    const lo = pack(1, 2, 3);
    expect(BigInt(packedHi) * 2n ** 32n + BigInt(lo)).toBe(1n | (2n << 21n) | (3n << 42n));
    expect(pack(MAX_PACKED, MAX_PACKED, MAX_PACKED)).toBe(0);
    expect(packedHi).toBe(0x80000000);
  });
});

describe('mgcscavenge_test.go', () => {
  test("TestFillAligned: Go's fixed values and random ones against the slow definition", () => {
    const slow = (x: bigint, m: number): bigint => {
      if (m === 1) return x;
      let out = 0n;
      for (let i = 0; i < 64; i += m) {
        for (let j = 0; j < m; j++) {
          if ((x >> BigInt(i + j)) & 1n) {
            out |= ((1n << BigInt(m)) - 1n) << BigInt(i);
            break;
          }
        }
      }
      return out;
    };
    const rand = rng(5);
    const r64 = () => (BigInt(Math.floor(rand() * 2 ** 32)) << 32n) | BigInt(Math.floor(rand() * 2 ** 32));
    for (let m = 1; m <= 64; m *= 2) {
      const fixed = [
        '0x0000000000000000',
        '0x00000000ffffffff',
        '0xffffffff00000000',
        '0x8000000000000001',
        '0xf00000000000000f',
        '0xf00000010050000f',
        '0xffffffffffffffff',
        '0x0000000000000001',
        '0x0000000000000002',
        '0x0000000000000008',
        '0xb02b9effcf137016',
        '0x3975a076a9fbff18',
        '0x0f8c88ec3b81506e',
        '0x60f14d80ef2fa0e6',
      ].map(BigInt);
      fixed.push(1n << BigInt(m - 1), m < 64 ? 1n << BigInt(m) : 0n);
      for (let i = 0; i < 300; i++) {
        fixed.push(r64());
        let val = 0n;
        for (let n = 0; n < 64; n += m) if (rand() < 0.5) val |= (r64() & ((1n << BigInt(m)) - 1n)) << BigInt(n);
        fixed.push(val);
      }
      for (const x of fixed) {
        const lo = fillAligned(Number(x & 0xffffffffn), Number(x >> 32n), m);
        const got = (BigInt(hi64) << 32n) | BigInt(lo);
        if (got !== slow(x, m)) throw new Error(`fillAligned(0x${x.toString(16)}, ${m}) = 0x${got.toString(16)}, want 0x${slow(x, m).toString(16)}`);
      }
    }
  });

  // TestPallocDataFindScavengeCandidate: [alloc, scavenged, min, max, want].
  type Cand = [alloc: BitRange[], scav: BitRange[], min: number, max: number, want: BitRange];
  const candidates = new Map<string, Cand>([
    [
      'MixedMin1',
      [
        [
          [0, 40],
          [42, P - 42],
        ],
        [
          [0, 41],
          [42, P - 42],
        ],
        1,
        P,
        [41, 1],
      ],
    ],
    [
      'MultiMin1',
      [
        [
          [0, 63],
          [65, 20],
          [87, P - 87],
        ],
        [[86, 1]],
        1,
        P,
        [85, 1],
      ],
    ],
  ]);
  for (let m = 1; m <= 64; m *= 2) {
    const s = `Min${m}`;
    candidates.set('AllFree' + s, [[], [], m, P, [0, P]]);
    candidates.set('AllScavenged' + s, [[], [[0, P]], m, P, [0, 0]]);
    candidates.set('NoneFree' + s, [[[0, P]], [[P / 2, P / 2]], m, P, [0, 0]]);
    candidates.set('StartFree' + s, [[[m, P - m]], [], m, P, [0, m]]);
    candidates.set('EndFree' + s, [[[0, P - m]], [], m, P, [P - m, m]]);
    candidates.set('Straddle64' + s, [
      [
        [0, 64 - m],
        [64 + m, P - (64 + m)],
      ],
      [],
      m,
      2 * m,
      [64 - m, 2 * m],
    ]);
    candidates.set('BottomEdge64WithFull' + s, [
      [
        [64, 64],
        [128 + 3 * m, P - (128 + 3 * m)],
      ],
      [[1, 10]],
      m,
      3 * m,
      [128, 3 * m],
    ]);
    candidates.set('BottomEdge64WithPocket' + s, [
      [
        [64, 62],
        [127, 1],
        [128 + 3 * m, P - (128 + 3 * m)],
      ],
      [[1, 10]],
      m,
      3 * m,
      [128, 3 * m],
    ]);
    candidates.set('Max0' + s, [[], [[0, P - m]], m, 0, [P - m, m]]);
    if (m <= 8) {
      candidates.set('OneFree' + s, [
        [
          [0, 40],
          [40 + m, P - (40 + m)],
        ],
        [],
        m,
        P,
        [40, m],
      ]);
      candidates.set('OneScavenged' + s, [
        [
          [0, 40],
          [40 + m, P - (40 + m)],
        ],
        [[40, 1]],
        m,
        P,
        [0, 0],
      ]);
    }
    if (m > 1) {
      candidates.set('MaxUnaligned' + s, [[], [[0, P - (m * 2 - 1)]], m, m - 2, [P - m, m]]);
      candidates.set('SkipSmall' + s, [
        [
          [0, 64 - m],
          [64, 5],
          [70, 11],
          [82, P - 82],
        ],
        [],
        m,
        m,
        [64 - m, m],
      ]);
      candidates.set('SkipMisaligned' + s, [
        [
          [0, 64 - m],
          [64, 63],
          [127 + m, P - (127 + m)],
        ],
        [],
        m,
        m,
        [64 - m, m],
      ]);
      candidates.set('MaxLessThan' + s, [[], [[0, P - m]], m, 1, [P - m, m]]);
    }
  }
  // With 2 MiB huge pages (256 pages of 8 KiB), as on linux/amd64.
  const bits = 256;
  candidates.set('PreserveHugePageBottom', [[[bits + 2, P - (bits + 2)]], [], 1, 3, [0, bits + 2]]);
  candidates.set('PreserveHugePageTop', [[[0, P - bits]], [], 1, 1, [P - bits, bits]]);

  test.each([...candidates.entries()])('TestPallocDataFindScavengeCandidate/%s', (_name, [alloc, scav, min, max, want]) => {
    const b = chunk(alloc, scav);
    const start = findScavengeCandidate(b, 0, P - 1, min, max, bits);
    if (want[1] === 0) expect(candidateSize).toBe(0);
    else expect([start, candidateSize]).toEqual(want);
  });

  // TestScavengeIndex: steps of mark(base, limit) and find() -> (chunk, page) with a
  // clear of the found chunk after each find. Chunks count from BaseChunkIdx.
  const BASE = 0x20c0000; // BaseChunkIdx: chunkIndex(0xc000 * 4 MiB) on linux/amd64
  const pageBase = (c: number, i: number) => (BASE + c) * CHUNK_BYTES + i * PAGE_BYTES;
  type Step = ['mark', number, number, number, number] | ['find', number, number] | ['findDown', number, number] | ['none'];
  const indexCases: [string, Step[]][] = [
    ['Uninitialized', [['none']]],
    ['OnePage', [['mark', 0, 3, 0, 4], ['find', 0, 3], ['none']]],
    ['FirstPage', [['mark', 0, 0, 0, 1], ['find', 0, 0], ['none']]],
    ['SeveralPages', [['mark', 0, 9, 0, 14], ['find', 0, 13], ['none']]],
    ['WholeChunk', [['mark', 0, 0, 1, 0], ['find', 0, P - 1], ['none']]],
    ['LastPage', [['mark', 0, P - 1, 1, 0], ['find', 0, P - 1], ['none']]],
    ['TwoChunks', [['mark', 0, 128, 1, 128], ['find', 1, 127], ['find', 0, P - 1], ['none']]],
    ['TwoChunksOffset', [['mark', 7, 128, 8, 129], ['find', 8, 128], ['find', 7, P - 1], ['none']]],
    ['SevenChunksOffset', [['mark', 6, 11, 13, 15], ['find', 13, 14], ['findDown', 12, 6], ['none']]],
    ['ThirtyTwoChunks', [['mark', 0, 0, 32, 0], ['findDown', 31, 0], ['none']]],
    ['ThirtyTwoChunksOffset', [['mark', 3, 0, 35, 0], ['findDown', 34, 3], ['none']]],
    ['Mark', [...Array.from({ length: 32 }, (_, i): Step => ['mark', i, 0, i + 1, 0]), ['findDown', 31, 0], ['none']]],
    [
      'MarkInterleaved',
      [
        ...Array.from({ length: 32 }, (_, i): Step[] => [
          ['mark', i, 0, i + 1, 0],
          ['find', i, P - 1],
        ]).flat(),
        ['none'],
      ],
    ],
    ['MarkIdempotentOneChunk', [['mark', 0, 0, 1, 0], ['mark', 0, 0, 1, 0], ['find', 0, P - 1], ['none']]],
    ['MarkIdempotentThirtyTwoChunks', [['mark', 0, 0, 32, 0], ['mark', 0, 0, 32, 0], ['findDown', 31, 0], ['none']]],
    ['MarkIdempotentThirtyTwoChunksOffset', [['mark', 4, 0, 31, 0], ['mark', 5, 0, 36, 0], ['findDown', 35, 4], ['none']]],
  ];
  test.each(indexCases)('TestScavengeIndex/%s', (_name, steps) => {
    const si = new ScavengeIndex();
    si.minHeapIdx = Math.floor((BASE - 8) / 8); // a bound below every chunk the cases use
    const find = (c: number, page: number) => {
      const got = si.find();
      expect([got - BASE, si.findPage]).toEqual([c, page]);
      si.clear(got);
    };
    for (const step of steps) {
      switch (step[0]) {
        case 'mark':
          si.mark(pageBase(step[1], step[2]), pageBase(step[3], step[4]));
          break;
        case 'find':
          find(step[1], step[2]);
          break;
        case 'findDown':
          for (let c = step[1]; c >= step[2]; c--) find(c, P - 1);
          break;
        case 'none':
          expect(si.find()).toBe(0);
          break;
      }
    }
  });
});

describe('mpagecache_test.go', () => {
  // TestPageCacheAlloc: a cache (free bitmap, scavenged bitmap) and successive
  // allocations [npages, page offset from base or NONE, scavenged pages].
  type Hit = [npages: number, page: number, scavPages: number];
  const mask = (n: number, shift: number) => ((1n << BigInt(n)) - 1n) << BigInt(shift);
  const ALL = (1n << 64n) - 1n;
  const cases: [string, bigint, bigint, Hit[]][] = [
    ['Empty', 0n, 0n, [1, 2, 3, 4, 5, 11, 12, 16, 27, 32, 43, 57, 64, 121].map((n): Hit => [n, NONE, 0])],
    [
      'Lo1',
      1n,
      1n,
      [
        [1, 0, 1],
        [1, NONE, 0],
        [10, NONE, 0],
      ],
    ],
    [
      'Hi1',
      1n << 63n,
      1n,
      [
        [1, 63, 0],
        [1, NONE, 0],
        [10, NONE, 0],
      ],
    ],
    [
      'Swiss1',
      0x20005555n,
      0x5505n,
      [
        [2, NONE, 0],
        [1, 0, 1],
        [1, 2, 1],
        [1, 4, 0],
        [1, 6, 0],
        [1, 8, 1],
        [1, 10, 1],
        [1, 12, 1],
        [1, 14, 1],
        [1, 29, 0],
        [1, NONE, 0],
        [10, NONE, 0],
      ],
    ],
    [
      'Lo2',
      0x3n,
      0x2n << 62n,
      [
        [2, 0, 0],
        [2, NONE, 0],
        [1, NONE, 0],
      ],
    ],
    [
      'Hi2',
      0x3n << 62n,
      0x3n << 62n,
      [
        [2, 62, 2],
        [2, NONE, 0],
        [1, NONE, 0],
      ],
    ],
    [
      'Swiss2',
      0x3333n << 31n,
      0x3030n << 31n,
      [
        [2, 31, 0],
        [2, 35, 2],
        [2, 39, 0],
        [2, 43, 2],
        [2, NONE, 0],
      ],
    ],
    [
      'Hi53',
      mask(53, 10),
      mask(16, 10),
      [
        [53, 10, 16],
        [53, NONE, 0],
        [1, NONE, 0],
      ],
    ],
    [
      'Full53',
      ALL,
      mask(16, 10),
      [
        [53, 0, 16],
        [53, NONE, 0],
        [1, 53, 0],
      ],
    ],
    [
      'Full64',
      ALL,
      ALL,
      [
        [64, 0, 64],
        [64, NONE, 0],
        [1, NONE, 0],
      ],
    ],
    [
      'FullMixed',
      ALL,
      ALL,
      [
        [5, 0, 5],
        [7, 5, 7],
        [1, 12, 1],
        [23, 13, 23],
        [63, NONE, 0],
        [3, 36, 3],
        [3, 39, 3],
        [3, 42, 3],
        [12, 45, 12],
        [11, NONE, 0],
        [4, 57, 4],
        [4, NONE, 0],
        [6, NONE, 0],
        [36, NONE, 0],
        [2, 61, 2],
        [3, NONE, 0],
        [1, 63, 1],
        [4, NONE, 0],
        [2, NONE, 0],
        [62, NONE, 0],
        [1, NONE, 0],
      ],
    ],
  ];
  test.each(cases)('TestPageCacheAlloc/%s', (_name, cache, scav, hits) => {
    const base = 0x20c0000 * CHUNK_BYTES; // PageBase(BaseChunkIdx, 0), offset address
    const c = new PageCache();
    c.base = base;
    c.cacheLo = Number(cache & 0xffffffffn);
    c.cacheHi = Number(cache >> 32n);
    c.scavLo = Number(scav & 0xffffffffn);
    c.scavHi = Number(scav >> 32n);
    for (const [npages, page, scavPages] of hits) {
      const got = c.alloc(npages);
      expect([npages, got]).toEqual([npages, page === NONE ? 0 : base + page * PAGE_BYTES]);
      expect(c.lastScav).toBe(scavPages * PAGE_BYTES);
    }
  });
});
