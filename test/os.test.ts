import { SimOS, AddressSpaceLimitError } from '../src/index.js';

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
