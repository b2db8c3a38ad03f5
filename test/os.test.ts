import { SimOS, AddressSpaceLimitError } from '../src/index.js';
import { AddressSpaceExhaustedError, SimulatedOomError } from '../src/os/sim-os.js';

const BASE = 0xc000000000;
const MiB = 1 << 20;

describe('simulated OS', () => {
  test('mapped memory is not resident until touched; touching faults whole physical pages', () => {
    const os = new SimOS();
    os.map(BASE, 4 * MiB);
    expect(os.rssBytes).toBe(0);
    expect(os.committedBytes).toBe(4 * MiB);
    expect(os.vsizeBytes).toBe(4 * MiB);
    expect(os.touch(BASE + 100, 1)).toBe(1); // one byte faults its 4 KiB page
    expect(os.touch(BASE, 8192)).toBe(1); // the first page is already resident
    expect(os.rssBytes).toBe(8192);
    expect(os.pageFaults).toBe(2);
  });

  test('touching an unmapped range is a simulated segfault (a backend bug), not silently counted', () => {
    const os = new SimOS();
    os.reserve(BASE, MiB);
    expect(() => os.touch(BASE, 4096)).toThrow(/segmentation fault/);
  });

  test('release drops resident pages; touching them again is a re-fault', () => {
    const os = new SimOS();
    os.map(BASE, MiB);
    os.touch(BASE, 64 * 1024);
    expect(os.release(BASE, 32 * 1024)).toBe(32 * 1024);
    expect(os.rssBytes).toBe(32 * 1024);
    expect(os.madviseCalls).toBe(1);
    os.touch(BASE, 64 * 1024);
    expect(os.refaults).toBe(8);
    expect(os.pageFaults).toBe(16 + 8);
    // A page released before it was ever resident faults in as a first touch.
    os.release(BASE + 512 * 1024, 4096);
    os.touch(BASE + 512 * 1024, 4096);
    expect(os.refaults).toBe(8);
  });

  test('like the kernel: a misaligned release releases nothing; the length rounds up', () => {
    const os = new SimOS({ physPageBytes: 16384 });
    os.map(BASE, MiB);
    os.touch(BASE, MiB);
    expect(os.release(BASE + 8192, 16384)).toBe(0);
    expect(os.madviseFailed).toBe(1);
    expect(os.rssBytes).toBe(MiB);
    expect(os.release(BASE, 8192)).toBe(16384);
    expect(os.rssBytes).toBe(MiB - 16384);
  });

  test('MADV_FREE: released pages stay resident until written again, which costs no fault', () => {
    const os = new SimOS({ madvise: 'free' });
    os.map(BASE, MiB);
    os.touch(BASE, 64 * 1024); // 16 pages
    os.release(BASE, 32 * 1024); // 8 of them lazily freed
    expect(os.rssBytes).toBe(64 * 1024);
    expect(os.lazyFreeBytes).toBe(32 * 1024);
    expect(os.releasedBytes).toBe(32 * 1024);
    os.touch(BASE, 8192); // written before reclaim: back, no fault
    expect(os.lazyFreeBytes).toBe(24 * 1024);
    expect(os.pageFaults).toBe(16);
    expect(os.refaults).toBe(0);
    os.unmap(BASE, MiB);
    expect(os.lazyFreeBytes).toBe(0);
    expect(os.rssBytes).toBe(0);
  });

  test('reservations count towards VSIZE and RLIMIT_AS, not RSS or committed', () => {
    const os = new SimOS({ ulimitVBytes: 64 * MiB });
    os.reserve(BASE, 32 * MiB);
    expect(os.vsizeBytes).toBe(32 * MiB);
    expect(os.committedBytes).toBe(0);
    os.map(BASE, 16 * MiB); // mapping inside the reservation adds nothing to VSIZE
    expect(os.vsizeBytes).toBe(32 * MiB);
    expect(os.committedBytes).toBe(16 * MiB);
    expect(() => os.reserve(BASE + 32 * MiB, 64 * MiB)).toThrow(AddressSpaceLimitError);
    expect(() => os.map(BASE + 32 * MiB, 33 * MiB)).toThrow(AddressSpaceLimitError);
    expect(os.vsizeBytes).toBe(32 * MiB); // a refused call changes nothing
    os.map(BASE + 32 * MiB, 32 * MiB);
    expect(os.vsizeBytes).toBe(64 * MiB);
  });

  test('unmap returns address space and resident pages', () => {
    const os = new SimOS();
    os.map(BASE, 2 * MiB);
    os.touch(BASE, 2 * MiB);
    os.unmap(BASE + MiB, MiB);
    expect(os.rssBytes).toBe(MiB);
    expect(os.vsizeBytes).toBe(MiB);
    expect(os.munmapCalls).toBe(1);
  });

  test('simulator memory scales with touched memory, not address space', () => {
    const os = new SimOS();
    const TiB = 2 ** 40;
    os.reserve(BASE, TiB);
    os.map(BASE, TiB);
    expect(os.vsizeBytes).toBe(TiB);
    expect(os.trackingBytes).toBe(0);
    // Touch 1 MiB in each of 64 places spread over the terabyte.
    for (let i = 0; i < 64; i++) os.touch(BASE + i * (TiB / 64), MiB);
    expect(os.rssBytes).toBe(64 * MiB);
    expect(os.trackingBytes).toBeLessThan(64 * 1024);
  });

  test('residency counts agree with a per-page reference model on random operations', () => {
    const phys = 4096;
    const npages = 3000;
    const os = new SimOS();
    os.map(BASE, npages * phys);
    const resident = new Uint8Array(npages);
    const released = new Uint8Array(npages);
    let faults = 0;
    let refaults = 0;
    let seed = 7;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (let step = 0; step < 3000; step++) {
      const a = rand(npages);
      const len = 1 + rand(Math.min(700, npages - a));
      if (rand(3) === 0) {
        os.release(BASE + a * phys, len * phys);
        for (let i = a; i < a + len; i++) {
          if (resident[i]) released[i] = 1;
          resident[i] = 0;
        }
      } else {
        os.touch(BASE + a * phys, len * phys);
        for (let i = a; i < a + len; i++) {
          if (!resident[i]) {
            faults++;
            if (released[i]) refaults++;
            released[i] = 0;
            resident[i] = 1;
          }
        }
      }
    }
    expect(os.rssBytes).toBe(resident.reduce((s, x) => s + x, 0) * phys);
    expect(os.pageFaults).toBe(faults);
    expect(os.refaults).toBe(refaults);
    expect(os.residentBytesIn(BASE, 100 * phys)).toBe(resident.subarray(0, 100).reduce((s, x) => s + x, 0) * phys);
  });
});

describe('transparent huge pages (--thp)', () => {
  const HUGE = 2 << 20;
  const BASE = 0xc000000000; // 2 MiB aligned
  const mapped = (thp: 'never' | 'madvise' | 'always', bytes = 2 * HUGE) => {
    const os = new SimOS({ thp });
    os.reserve(BASE, bytes);
    os.map(BASE, bytes);
    return os;
  };

  test('never: a write faults in only its 4 KiB pages', () => {
    const os = mapped('never');
    expect(os.touch(BASE, 8192)).toBe(2);
    expect(os.rssBytes).toBe(8192);
    expect(os.hugeFaults).toBe(0);
  });

  test('always: the first write into an empty huge page maps all 2 MiB with one fault', () => {
    const os = mapped('always');
    expect(os.touch(BASE + 4096, 8192)).toBe(1);
    expect(os.rssBytes).toBe(HUGE);
    expect([os.pageFaults, os.hugeFaults]).toEqual([1, 1]);
    // The rest of that huge page is already resident; the next one faults whole too.
    expect(os.touch(BASE + HUGE - 4096, 8192)).toBe(1);
    expect(os.rssBytes).toBe(2 * HUGE);
  });

  test('madvise: only ranges marked MADV_HUGEPAGE, and only huge pages they cover whole', () => {
    const os = mapped('madvise');
    os.adviseHuge(BASE + 4096, 2 * HUGE - 4096, true); // covers the second huge page whole only
    os.touch(BASE, 4096);
    expect(os.rssBytes).toBe(4096);
    os.touch(BASE + HUGE, 4096);
    expect(os.rssBytes).toBe(4096 + HUGE);
    expect(os.hugeFaults).toBe(1);
  });

  test('always with MADV_NOHUGEPAGE: small pages on every huge page the advice touches', () => {
    const os = mapped('always');
    os.adviseHuge(BASE + HUGE - 4096, 8192, false);
    os.touch(BASE, 4096);
    os.touch(BASE + HUGE, 4096);
    expect(os.rssBytes).toBe(8192);
    expect(os.hugeFaults).toBe(0);
  });

  test('releasing part of a huge page splits it; a partly resident range refills by small pages', () => {
    const os = mapped('always');
    os.touch(BASE, 4096);
    expect(os.release(BASE, 64 << 10)).toBe(64 << 10);
    expect(os.rssBytes).toBe(HUGE - (64 << 10));
    expect(os.touch(BASE, 8192)).toBe(2);
    expect(os.refaults).toBe(2);
    expect(os.rssBytes).toBe(HUGE - (64 << 10) + 8192);
  });

  test('a huge page released piecewise keeps its page table and refills by small pages; released whole, it faults whole again', () => {
    const os = mapped('always');
    os.touch(BASE, 4096);
    // Two releases of 1 MiB: the first splits the huge mapping, neither empties the PMD.
    os.release(BASE, HUGE / 2);
    os.release(BASE + HUGE / 2, HUGE / 2);
    expect(os.rssBytes).toBe(0);
    expect(os.touch(BASE, 4096)).toBe(1);
    expect([os.hugeFaults, os.rssBytes]).toEqual([1, 4096]);
    // One release of the whole huge page empties its PMD (CONFIG_PT_RECLAIM for a table).
    os.release(BASE, HUGE);
    expect(os.touch(BASE, 4096)).toBe(1);
    expect([os.hugeFaults, os.rssBytes]).toEqual([2, HUGE]);
  });

  test('madvise: a page table made before MADV_HUGEPAGE keeps the huge page small', () => {
    const os = mapped('madvise');
    os.touch(BASE, 4096);
    os.adviseHuge(BASE, 2 * HUGE, true);
    expect(os.touch(BASE + 8192, 4096)).toBe(1);
    expect(os.touch(BASE + HUGE, 4096)).toBe(1);
    expect([os.hugeFaults, os.rssBytes]).toEqual([1, 2 * 4096 + HUGE]);
  });

  test('MADV_FREE of a whole huge page leaves it mapped: a write takes it back without a fault', () => {
    const os = new SimOS({ thp: 'always', madvise: 'free' });
    os.map(BASE, HUGE);
    os.touch(BASE, 4096);
    os.release(BASE, HUGE);
    expect(os.lazyFreeBytes).toBe(HUGE);
    expect(os.touch(BASE, HUGE)).toBe(0);
    expect([os.hugeFaults, os.lazyFreeBytes, os.rssBytes]).toEqual([1, 0, HUGE]);
  });

  test('a huge page not wholly mapped is never backed by one', () => {
    const os = new SimOS({ thp: 'always' });
    os.reserve(BASE, HUGE);
    os.map(BASE, HUGE / 2);
    os.touch(BASE, 4096);
    expect(os.rssBytes).toBe(4096);
  });

  test('THP needs 4 KiB pages', () => {
    expect(() => new SimOS({ thp: 'always', physPageBytes: 65536 })).toThrow(RangeError);
  });
});

describe('residency by runs: cost follows operations, not bytes', () => {
  const TiB = 2 ** 40;

  test('a 16 TiB map, write, release and re-write gives exact figures from a handful of runs', () => {
    const os = new SimOS();
    const bytes = 16 * TiB;
    const pages = bytes / 4096;
    os.reserve(BASE, bytes);
    os.map(BASE, bytes);
    expect(os.touch(BASE, bytes)).toBe(pages);
    expect(os.rssBytes).toBe(bytes);
    expect(os.release(BASE, bytes)).toBe(bytes);
    expect(os.rssBytes).toBe(0);
    expect(os.residentBytesIn(BASE, bytes)).toBe(0);
    expect(os.touch(BASE, bytes)).toBe(pages);
    expect([os.pageFaults, os.refaults, os.rssBytes]).toEqual([2 * pages, pages, bytes]);
    // Two boundaries around the heap: one resident run between two absent ones.
    expect(os.trackingBytes).toBeLessThanOrEqual(2 * 9);
    os.unmap(BASE, bytes);
    expect([os.rssBytes, os.vsizeBytes, os.trackingBytes]).toEqual([0, 0, 0]);
  });

  test('16 TiB with THP always and MADV_FREE: one huge fault per 2 MiB, lazily freed pages taken back without faults', () => {
    const os = new SimOS({ thp: 'always', madvise: 'free' });
    const bytes = 16 * TiB;
    const huge = bytes / (2 << 20);
    os.map(BASE, bytes);
    expect(os.touch(BASE, bytes)).toBe(huge);
    expect([os.hugeFaults, os.pageFaults, os.rssBytes]).toEqual([huge, huge, bytes]);
    os.release(BASE, bytes);
    expect([os.rssBytes, os.lazyFreeBytes]).toEqual([bytes, bytes]);
    expect(os.touch(BASE, bytes)).toBe(0);
    expect([os.lazyFreeBytes, os.pageFaults, os.refaults]).toEqual([0, huge, 0]);
  });

  test('re-faulted huge pages count once each, whatever their released runs', () => {
    const os = new SimOS({ thp: 'always' });
    const HUGE = 2 << 20;
    os.map(BASE, 4 * HUGE);
    os.touch(BASE, 4 * HUGE);
    // Release all of huge pages 0 and 2, and all of huge page 1: 0..2 are empty again,
    // and every one of them held a released page. Huge page 3 stays resident.
    os.release(BASE, 3 * HUGE);
    expect(os.touch(BASE, 4 * HUGE)).toBe(3);
    expect([os.hugeFaults, os.refaults]).toEqual([4 + 3, 3]);
    expect(os.rssBytes).toBe(4 * HUGE);
    // One huge page whose released pages are two runs split by forgotten ones (unmapped
    // and mapped again): still one re-fault.
    os.release(BASE, HUGE);
    os.unmap(BASE + 100 * 4096, 100 * 4096);
    os.map(BASE + 100 * 4096, 100 * 4096);
    expect(os.touch(BASE, 4096)).toBe(1);
    expect([os.hugeFaults, os.refaults]).toEqual([8, 4]);
  });
});

describe('simulated out of memory', () => {
  test('past the 48-bit address space a reserve, map or mmap fails as out of memory, changing nothing', () => {
    const os = new SimOS();
    const end = 2 ** 48;
    expect(() => os.reserve(end - 4096, 8192)).toThrow(AddressSpaceExhaustedError);
    expect(() => os.map(BASE, end)).toThrow(SimulatedOomError);
    expect(() => os.mmapAnywhere(end, true)).toThrow(AddressSpaceExhaustedError);
    expect([os.vsizeBytes, os.mmapCalls]).toEqual([0, 0]);
    os.map(end - 4096, 4096); // the last page is still there
    expect(os.vsizeBytes).toBe(4096);
  });

  test('RLIMIT_AS is a simulated out of memory too, with its name and figures', () => {
    const os = new SimOS({ ulimitVBytes: MiB });
    let caught: unknown;
    try {
      os.map(BASE, 2 * MiB);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SimulatedOomError);
    expect(caught).toBeInstanceOf(AddressSpaceLimitError);
    const e = caught as AddressSpaceLimitError;
    expect([e.name, e.requestedBytes, e.vsizeBytes, e.limitBytes]).toEqual(['AddressSpaceLimitError', 2 * MiB, 0, MiB]);
  });

  test('a misaligned or negative range is a backend bug, not out of memory', () => {
    const os = new SimOS();
    expect(() => os.map(BASE + 1, 4096)).toThrow(RangeError);
    expect(() => os.reserve(-4096, 4096)).toThrow(RangeError);
  });
});

describe('every operation against a per-page reference model', () => {
  // The reference keeps one entry per page and per huge page and applies each rule
  // literally; the SimOS must agree with it on every figure after every operation.
  const HUGE_PAGES = 6;
  const PER_HUGE = 512;
  const NPAGES = HUGE_PAGES * PER_HUGE;
  const PHYS = 4096;

  class Reference {
    mapped = new Uint8Array(NPAGES);
    resident = new Uint8Array(NPAGES);
    released = new Uint8Array(NPAGES);
    lazy = new Uint8Array(NPAGES);
    advice = new Uint8Array(HUGE_PAGES); // 0 none, 1 huge, 2 nohuge
    pmd = new Uint8Array(HUGE_PAGES); // 0 empty, 1 page table, 2 huge page
    residentPages = 0;
    lazyPages = 0;
    faults = 0;
    hugeFaults = 0;
    refaults = 0;
    constructor(
      readonly thp: 'never' | 'madvise' | 'always',
      readonly madvise: 'dontneed' | 'free',
    ) {}

    touch(a: number, n: number): number {
      let taken = 0;
      for (let h = Math.floor(a / PER_HUGE); h * PER_HUGE < a + n; h++) {
        const eligible = this.thp === 'always' ? this.advice[h] !== 2 : this.thp === 'madvise' && this.advice[h] === 1;
        let mapped = true;
        for (let p = h * PER_HUGE; p < (h + 1) * PER_HUGE; p++) if (!this.mapped[p]) mapped = false;
        if (!eligible || !mapped || this.pmd[h] !== 0) continue;
        this.pmd[h] = 2;
        let again = 0;
        for (let p = h * PER_HUGE; p < (h + 1) * PER_HUGE; p++) {
          again |= this.released[p];
          this.released[p] = 0;
          this.resident[p] = 1;
        }
        this.residentPages += PER_HUGE;
        this.faults++;
        this.hugeFaults++;
        this.refaults += again;
        taken++;
      }
      for (let p = a; p < a + n; p++) {
        if (this.lazy[p]) {
          this.lazy[p] = 0;
          this.lazyPages--;
        }
        if (this.resident[p]) continue;
        if (this.pmd[Math.floor(p / PER_HUGE)] === 0) this.pmd[Math.floor(p / PER_HUGE)] = 1;
        this.faults++;
        taken++;
        this.refaults += this.released[p];
        this.released[p] = 0;
        this.resident[p] = 1;
        this.residentPages++;
      }
      return taken;
    }

    /** PMDs covered whole are emptied when zapWhole; huge mappings covered in part are split. */
    pmdsReleased(a: number, n: number, zapWhole: boolean): void {
      for (let h = Math.floor(a / PER_HUGE); h * PER_HUGE < a + n; h++) {
        const whole = h * PER_HUGE >= a && (h + 1) * PER_HUGE <= a + n;
        if (whole && zapWhole) this.pmd[h] = 0;
        else if (!whole && this.pmd[h] === 2) this.pmd[h] = 1;
      }
    }

    release(a: number, n: number): void {
      if (this.thp !== 'never') this.pmdsReleased(a, n, this.madvise === 'dontneed');
      for (let p = a; p < a + n; p++) {
        if (!this.resident[p]) continue;
        if (this.madvise === 'free') {
          if (!this.lazy[p]) this.lazyPages++;
          this.lazy[p] = 1;
          continue;
        }
        if (this.lazy[p]) this.lazyPages--;
        this.resident[p] = this.lazy[p] = 0;
        this.released[p] = 1;
        this.residentPages--;
      }
    }

    unmap(a: number, n: number): void {
      if (this.thp !== 'never') this.pmdsReleased(a, n, true);
      for (let p = a; p < a + n; p++) {
        this.residentPages -= this.resident[p];
        this.lazyPages -= this.lazy[p];
        this.mapped[p] = this.resident[p] = this.released[p] = this.lazy[p] = 0;
      }
    }

    advise(a: number, n: number, huge: boolean): void {
      const first = huge ? Math.ceil(a / PER_HUGE) : Math.floor(a / PER_HUGE);
      const end = huge ? Math.floor((a + n) / PER_HUGE) : Math.ceil((a + n) / PER_HUGE);
      for (let h = first; h < end; h++) this.advice[h] = huge ? 1 : 2;
    }

    allMapped(a: number, n: number): boolean {
      for (let p = a; p < a + n; p++) if (!this.mapped[p]) return false;
      return true;
    }
  }

  const combos: ['never' | 'madvise' | 'always', 'dontneed' | 'free'][] = [
    ['never', 'dontneed'],
    ['never', 'free'],
    ['madvise', 'dontneed'],
    ['always', 'dontneed'],
    ['always', 'free'],
  ];
  test.each(combos)('thp %s, MADV_%s', (thp, madvise) => {
    const os = new SimOS({ thp, madvise });
    const ref = new Reference(thp, madvise);
    os.reserve(BASE, NPAGES * PHYS);
    os.map(BASE, NPAGES * PHYS);
    ref.mapped.fill(1);
    let seed = 11;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    for (let step = 0; step < 3000; step++) {
      const a = rand(NPAGES);
      // Mostly short ranges, sometimes a whole huge page or more.
      const n = 1 + (rand(4) === 0 ? rand(Math.min(2 * PER_HUGE, NPAGES - a)) : rand(Math.min(40, NPAGES - a)));
      const what = rand(20);
      if (what < 11) {
        if (!ref.allMapped(a, n)) continue;
        // Bytes that start and end inside pages fault the pages they reach.
        expect(os.touch(BASE + a * PHYS + 100, n * PHYS - 200)).toBe(ref.touch(a, n));
      } else if (what < 16) {
        const ok = ref.allMapped(a, n);
        expect(os.release(BASE + a * PHYS, n * PHYS - 1)).toBe(ok ? n * PHYS : 0);
        if (ok) ref.release(a, n);
      } else if (what < 17) {
        os.unmap(BASE + a * PHYS, n * PHYS);
        ref.unmap(a, n);
      } else if (what < 18) {
        os.map(BASE + a * PHYS, n * PHYS);
        ref.mapped.fill(1, a, a + n);
      } else {
        const huge = rand(2) === 0;
        os.adviseHuge(BASE + a * PHYS, n * PHYS, huge);
        ref.advise(a, n, huge);
      }
      expect([os.rssBytes, os.lazyFreeBytes, os.pageFaults, os.hugeFaults, os.refaults]).toEqual([
        ref.residentPages * PHYS,
        ref.lazyPages * PHYS,
        ref.faults,
        ref.hugeFaults,
        ref.refaults,
      ]);
      const w = rand(NPAGES);
      const wn = 1 + rand(NPAGES - w);
      expect(os.residentBytesIn(BASE + w * PHYS, wn * PHYS)).toBe(ref.resident.subarray(w, w + wn).reduce((s, x) => s + x, 0) * PHYS);
    }
    expect(ref.faults).toBeGreaterThan(0);
    if (thp !== 'never') expect(ref.hugeFaults).toBeGreaterThan(0);
    if (madvise === 'free') expect(ref.lazyPages + ref.faults).toBeGreaterThan(0);
  });
});
