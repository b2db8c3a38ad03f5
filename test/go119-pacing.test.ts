// go1.19 pacing against the real Go 1.19 scavenger, and against the real runtime's releases.
//
// 1. Differential: one script (a work function: what each scavenge call releases and how
//    long it reports it took; a clock: how long each sleep lasts, some cut short as a
//    wake-up cuts them, one that breaks the controller; rounds of work to do) runs through
//    the real scavengerState and piController (test/oracle/heapsim_scavenger_test.go,
//    `go test -overlay` beside export_test.go) and through heapsim's ScavengerPacer driven
//    by the same loop as export_test.go's Scavenger (bgscavenge's). Every call, every
//    sleep asked and every park must be equal, and every controller output bit-equal.
//    Needs Debian's golang-1.19-go; without it the test is skipped, saying why, except
//    under CI=true or HEAPSIM_REQUIRE_ORACLE=1, where a missing oracle fails. The Go test
//    binary is the bitmap oracle's (one build, cached); a warm run takes about a second.
// 2. Fidelity (issue 13): on the recorded spike trace, go1.19 against the trace's own
//    releases: released total, largest gap between the cumulative curves, mean RSS
//    (bench/release-fidelity.ts computes them; docs/policies.md has the table and why the
//    goals of 3%, 10% and 5% are not all met).

import { join } from 'node:path';
import { GO, goAvailable, runPacingOracle } from './oracle/harness.js';
import { PiController, SCAVENGE_QUANTUM_BYTES, ScavengerPacer, scavengerController } from '../src/policy/go119-pacing.js';
import { mulberry32 } from '../src/util/rng.js';
import { fidelity, largestGapBytes } from '../bench/release-fidelity.js';
import { timerSleepNs } from '../src/policy/go119.js';
import { TRACES } from './helpers.js';

const available = goAvailable();
const mustRun = process.env.CI === 'true' || process.env.HEAPSIM_REQUIRE_ORACLE === '1';

/** A deterministic pacing script (directives: heapsim_scavenger_test.go). */
function pacingScript(seed: number): string {
  const rand = mulberry32(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
  const out = ['procs 2'];
  // Calls: mostly huge pages and quanta, some short (a heap running out), some durations of 0.
  for (let i = 0; i < 97; i++) {
    const bytes = pick([65536, 65536, 2 << 20, 2 << 20, 2 << 20, (2 << 20) + 65536, 32768]);
    const dur = rand() < 0.05 ? 0 : 500 + Math.floor(rand() * 80000);
    out.push(`c ${bytes} ${dur}`);
  }
  // Sleeps: most last as long as asked, some are cut short (a wake-up), some overshoot.
  for (let i = 0; i < 31; i++) out.push(pick(['s 1 1', 's 1 1', 's 1 1', 's 1 3', 's 7 8', 's 11 10', 's 0 0']));
  const MiB = 1 << 20;
  for (const work of [600, 40, 0, 1200, 3, 250]) out.push(`w ${work * MiB} ${Math.floor(work / 10) * MiB}`);
  // A sleep that ends as it began (slept + worked = 0) breaks the controller: cooldown.
  out.push('reset', 'c 65536 1000', 's -1000000 0', 's 1 1', 'w 65536 0');
  out.push('reset', 'c 2097152 30000', 'c 65536 2000', 's 1 1', 's 1 2');
  for (const work of [300, 900, 60, 2000]) out.push(`w ${work * MiB} ${MiB}`);
  // The controller alone, over inputs around and far from its setpoint.
  out.push('p 0.3375 3200000 1000000000 0.001 1000');
  for (let i = 0; i < 200; i++) out.push(`n ${pick([0, 0.0005, 0.004, 0.01, 0.02, 0.3, rand() * 0.05])} 0.01 ${Math.floor(rand() * 2e9)}`);
  out.push('n Infinity 0.01 1000000', 'n 0.01 0.01 1e308', 'n 0.001 0.01 1e308', 'n 0.005 0.01 5000000');
  return out.join('\n') + '\n';
}

/** float64 bits as Go prints them with %016x. */
function bits(x: number): string {
  const v = new DataView(new ArrayBuffer(8));
  v.setFloat64(0, x);
  return v.getBigUint64(0).toString(16).padStart(16, '0');
}

/** The script through heapsim's pacer, driven by export_test.go's Scavenger loop. */
function runModel(script: string, physPageBytes: number): string[] {
  const log: string[] = [];
  let calls: [number, number][] = [];
  let naps: [number, number][] = [];
  let ci = 0;
  let ni = 0;
  let avail = 0;
  let procs = 1;
  const pacer = new ScavengerPacer(1);
  let pi: PiController = scavengerController();
  const scavenge = (n: number): [number, number] => {
    const [bytes, dur] = calls[ci++ % calls.length];
    const r = Math.min(bytes, avail);
    avail -= r;
    log.push(`scav ${n} ${r} ${dur}`);
    return [r, dur];
  };
  const sleep = (n: number): number => {
    const [num, den] = naps[ni++ % naps.length];
    // Go's int64 n * num / den: exact below 2^53, as every product here is.
    const slept = den === 0 ? num : Math.trunc((n * num) / den);
    log.push(`sleep ${n} ${slept}`);
    return slept;
  };
  for (const line of script.split('\n')) {
    const f = line.split(' ');
    const x = (k: number): number => Number(f[k]);
    if (f[0] === 'procs') procs = x(1);
    else if (f[0] === 'c') calls.push([x(1), x(2)]);
    else if (f[0] === 's') naps.push([x(1), x(2)]);
    else if (f[0] === 'reset') [calls, naps, ci, ni] = [[], [], 0, 0];
    else if (f[0] === 'p') pi = new PiController(x(1), x(2), x(3), x(4), x(5));
    else if (f[0] === 'n') log.push(`n ${bits(pi.next(x(1), x(2), x(3)))} ${pi.ok}`);
    else if (f[0] === 'w') {
      avail = x(1);
      const stop = x(2);
      // bgscavenge: run; park when a batch released nothing, else sleep and run again.
      for (;;) {
        let worked = 0;
        let released = 0;
        for (let last = SCAVENGE_QUANTUM_BYTES; ScavengerPacer.continues(worked, last) && !(avail <= stop);) {
          const [r, dur] = scavenge(SCAVENGE_QUANTUM_BYTES);
          worked += ScavengerPacer.callWorkNs(r, dur, physPageBytes);
          released += r;
          last = r;
        }
        if (released === 0) break;
        pacer.slept(sleep(pacer.sleepNs(worked)), procs);
      }
      log.push('park');
    }
  }
  return log;
}

if (!available && mustRun) {
  test('the Go 1.19 oracle is installed', () => {
    throw new Error(`${GO} not found: CI must install golang-1.19-go (apt-get install golang-1.19-go)`);
  });
}
const skipReason = `${GO} is not installed; apt-get install golang-1.19-go`;
if (!available) console.warn(`go119-pacing: differential test skipped: ${skipReason}`);
const maybe = available ? describe : describe.skip;

maybe(`go1.19 pacing = Go 1.19 scavengerState and piController${available ? '' : ` (skipped: ${skipReason})`}`, () => {
  test('every call, sleep and park, and every controller output bit for bit', () => {
    const script = pacingScript(7);
    const go = runPacingOracle(script);
    const ours = runModel(script, go.physPageBytes);
    const n = Math.max(go.lines.length, ours.length);
    for (let i = 0; i < n; i++) {
      if (go.lines[i] !== ours[i]) throw new Error(`first difference at decision ${i}: go "${go.lines[i]}", heapsim "${ours[i]}"`);
    }
    // The script reached what it is here for: many batches and sleeps, parks, the cooldown, failures.
    const count = (p: string): number => go.lines.filter((l) => l.startsWith(p)).length;
    expect(count('sleep')).toBeGreaterThan(100);
    expect(count('park')).toBe(11);
    // The sleep that broke the controller, then a cooldown at the starting ratio (>= 1000x work).
    const sleeps = go.lines.filter((l) => l.startsWith('sleep'));
    const broke = sleeps.findIndex((l) => l.endsWith(' -1000000'));
    expect(broke).toBeGreaterThan(0);
    expect(Number(sleeps[broke + 1].split(' ')[1])).toBeGreaterThanOrEqual(1e9);
    expect(go.lines.filter((l) => l.startsWith('n ') && l.endsWith('false')).length).toBeGreaterThan(0);
  });
});

describe('the go1.19 pacer on its own', () => {
  test('the first sleep is 1000x the work (starting ratio 0.001), work under 1 ms counts as 1 ms', () => {
    const p = new ScavengerPacer(1);
    expect(p.sleepNs(250e3)).toBe(1e9);
    expect(p.sleepNs(2e6)).toBe(2e9);
  });
  test('GOMAXPROCS divides the CPU fraction the controller sees: more CPUs, shorter sleeps', () => {
    const [one, two] = [new ScavengerPacer(1), new ScavengerPacer(1)];
    one.slept(one.sleepNs(1e6), 1);
    two.slept(two.sleepNs(1e6), 2);
    expect(two.sleepNs(1e6)).toBeLessThan(one.sleepNs(1e6));
  });
  test('a batch stops at 1 ms of work or after a short call', () => {
    expect(ScavengerPacer.continues(999e3, SCAVENGE_QUANTUM_BYTES)).toBe(true);
    expect(ScavengerPacer.continues(1e6, 2 << 20)).toBe(false);
    expect(ScavengerPacer.continues(0, SCAVENGE_QUANTUM_BYTES - 4096)).toBe(false);
  });
});

describe('go1.19 against the recorded spike trace (Go 1.19.8, GOMAXPROCS=2)', () => {
  test('the three figures docs/policies.md reports, and GOMAXPROCS from the metadata', async () => {
    const f = await fidelity(join(TRACES, 'spike-gogc100-768.csv.gz'));
    // --gomaxprocs defaults to the trace's `# gomaxprocs=2`.
    expect(f.model.gomaxprocs).toBe(2);
    // Goals 3%, 10% and 5%; measured +0.1%, 30.3% and +0.4% (docs/policies.md says why the
    // gap is not met: the first spike's memory was not resident in the real run): held here
    // so that they can only get better.
    expect(Math.abs(f.releasedRatio - 1)).toBeLessThanOrEqual(0.005);
    expect(f.largestGapFraction).toBeLessThanOrEqual(0.305);
    expect(Math.abs(f.meanRssDiff)).toBeLessThanOrEqual(0.01);
    // From 3.5 s (after the first spike's releases) to 27 s (before the third spike's last
    // ones) the curves stay within 3.8% of the total of each other.
    const upTo = (c: { timeNs: number[]; cumBytes: number[] }, t: number) => {
      const n = c.timeNs.findIndex((x) => x > t);
      const k = n < 0 ? c.timeNs.length : n;
      return { timeNs: c.timeNs.slice(0, k), cumBytes: c.cumBytes.slice(0, k) };
    };
    const later = (c: { timeNs: number[]; cumBytes: number[] }) => {
      const from = upTo(c, 3.5e9).timeNs.length;
      const base = from > 0 ? c.cumBytes[from - 1] : 0;
      return { timeNs: c.timeNs.slice(from), cumBytes: c.cumBytes.slice(from).map((b) => b - base) };
    };
    expect(largestGapBytes(upTo(later(f.real.curve), 27e9), upTo(later(f.model.curve), 27e9)) / f.realReleasedBytes).toBeLessThanOrEqual(0.04);
  });
  test("sleeps last as Go's timers do on an idle machine: epoll_wait in whole milliseconds, each late by 147 us", () => {
    expect(timerSleepNs(0)).toBe(0);
    expect(timerSleepNs(500e3)).toBe(1.147e6);
    // 1.083 ms asked: one 1 ms wait ends 1.147 ms in, past it (recorded: 1.262 ms).
    expect(timerSleepNs(1.083e6)).toBe(1.147e6);
    // 1.2 ms: a 1 ms wait, then 53 us left, another whole 1 ms wait (recorded 1.1-1.9 ms asks: 2.1-2.5 ms).
    expect(timerSleepNs(1.2e6)).toBe(2.294e6);
    expect(timerSleepNs(3.2e6)).toBe(4.294e6);
    expect(timerSleepNs(1e9)).toBe(1e9 + 147e3);
  });
  test('the curve gap is the largest distance between two step curves', () => {
    const a = { timeNs: [1, 5], cumBytes: [10, 30] };
    const b = { timeNs: [2, 3, 9], cumBytes: [4, 8, 40] };
    // t in [5, 9): 30 against 8.
    expect(largestGapBytes(a, b)).toBe(22);
  });
});
