// Jest's test order: jest's own (failed first, then longest first by the durations it
// recorded, else largest file first), except that on a first run, with no durations
// recorded (a fresh CI machine), the Go differential test starts first. It is a small
// file, so by size it would go last, and on a cold Go build cache it builds the oracle
// (~18 s of CPU, on every core) while the other worker sits idle at the end of the run;
// started first, that build overlaps the other files.

import TestSequencer from '@jest/test-sequencer';

const FIRST_WHEN_UNTIMED = /[/\\]test[/\\]bitmap-oracle\.test\.ts$/;

export default class HeapsimSequencer extends TestSequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    const i = sorted.findIndex((t) => FIRST_WHEN_UNTIMED.test(t.path));
    if (i > 0 && sorted[i].duration == null) sorted.unshift(...sorted.splice(i, 1));
    return sorted;
  }
}
