// The bitmap backend's mappedReady against the real runtime's. Under a memory limit Go
// 1.19 scavenges `mappedReady - limit` on the allocation path and takes the non-heap part
// of mappedReady out of its heap goal, so the model's mappedReady decides how much the
// go1.19 policy releases. test/fixtures/scavenger/freeos-3 is a run of testdata/freeos
// (FreeOSMemory, then churn under a 48 MiB limit) whose log prints, at every scavenge on
// the allocation path, Go's gcController.mappedReady and heapRetained
// (bench/scavenger-debug/sites.json, `allocscav`); the replay of its trace on the bitmap
// backend, with the trace's own releases, is held to them.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { loadTrace, replayLoaded, type Meter, type ReplayState } from '../src/index.js';
import { mappedReadyBytes } from '../src/metrics/memory-meter.js';
import { FIXTURES } from './helpers.js';

const MIB = 1 << 20;

test("the model's mappedReady is Go's within 1.25 MiB at every allocation-path scavenge of a memory-limited run", async () => {
  const trace = await loadTrace(join(FIXTURES, 'scavenger', 'freeos-3.csv.gz'));
  const log = gunzipSync(readFileSync(join(FIXTURES, 'scavenger', 'freeos-3.log.gz'))).toString('utf8');
  // "SCV <ns> allocscav <bytes> <growth> <mappedReady> <heapRetained>"
  const goRows = log
    .split('\n')
    .filter((l) => l.includes(' allocscav '))
    .map((l) => l.split(' ').map(Number))
    .map((f) => ({ time: f[1], mappedReady: f[5] }));
  expect(goRows.length).toBeGreaterThan(200);

  const samples: [number, number][] = [];
  const probe = (s: ReplayState): Meter => ({
    event: (e) => {
      samples.push([e.time, mappedReadyBytes(s)]);
    },
    contribute: () => {},
  });
  const r = replayLoaded(trace, { backend: 'bitmap', policy: 'trace', timing: false, meters: [probe] });
  expect(r.summary.addrMatch).toBe(1);

  let j = 0;
  let sum = 0;
  let worst = 0;
  for (const g of goRows) {
    while (j + 1 < samples.length && samples[j + 1][0] <= g.time) j++;
    const diff = g.mappedReady - samples[j][1];
    sum += diff;
    worst = Math.max(worst, Math.abs(diff));
  }
  // Measured: Go's is 0.55 MiB higher on average, from 0.375 MiB lower to 1.0 MiB higher
  // (GC bit arenas, the span table and persistentalloc chunks the backend does not model);
  // before the scavenge index was mapped as Go 1.19 maps it, 4.58 MiB higher on average
  // and 5.02 MiB at worst.
  expect(worst).toBeLessThanOrEqual(1.25 * MIB);
  expect(sum / goRows.length).toBeGreaterThan(0);
  expect(sum / goRows.length).toBeLessThanOrEqual(0.75 * MIB);
});
