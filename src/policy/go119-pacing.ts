// go1.19 scavenger pacing: when the background scavenger works and for how long it
// sleeps (go1.19.8 src/runtime/mgcscavenge.go scavengerState.run and .sleep, and the
// piController of mgcpacer.go). Clock-free: the caller (the go1.19 policy, or the
// differential test against the real scavengerState) supplies the time each unit of work
// took and the time each sleep lasted; this file decides the rest, as Go does.
//
// The loop Go runs (bgscavenge): run() a batch; if it released nothing, park until woken;
// otherwise sleep(worked) and run again.
// - A batch (run): while the work done is under minScavWorkTime (1 ms) and shouldStop is
//   false, scavenge one scavengeQuantum (64 KiB; the page allocator may release more, a
//   whole huge page, in one call), adding the call's measured duration to the work (a
//   duration of 0: 10 us per physical page released); stop early after a call that
//   released less than a quantum (the heap is exhausted).
// - A sleep (sleep(worked)): work below 1 ms counts as 1 ms; times (1 + scavengeCostRatio)
//   (0 on Linux, 0.7 on Darwin/iOS); the sleep asked for is trunc(worked / sleepRatio).
//   After it: during a controller cooldown, the cooldown shrinks by slept + worked and
//   nothing else changes; otherwise the CPU fraction used, worked / ((slept + worked) *
//   GOMAXPROCS), goes to the PI controller with the setpoint scavengePercent / 100 and the
//   period slept + worked, whose output is the new sleepRatio. When the controller fails
//   (its input or its integral overflowed to Inf/NaN) sleepRatio drops back to the
//   starting 0.001 and the controller is bypassed for a 5-second cooldown.
// - The controller (kp 0.3375, ti 3.2e6, tt 1e9, output in [0.001, 1000]): output =
//   clamp(kp * error + integral); integral += (kp * period / ti) * error + (period / tt) *
//   (output - unclamped) (the second term is anti-windup). Its state (integral), the
//   sleep ratio and the cooldown live as long as the program: they survive parking.
// Arithmetic is float64 in Go's order of operations, so that the differential test can
// demand bit-equal sleeps.

/** startingScavSleepRatio: the first sleep ratio, and the fallback after a controller failure. */
export const STARTING_SLEEP_RATIO = 0.001;
/** minScavWorkTime: a batch works at least 1 ms (shorter work is counted as 1 ms). */
export const MIN_SCAV_WORK_NS = 1e6;
/** scavengeQuantum: the bytes the scavenger asks the page allocator for per call. */
export const SCAVENGE_QUANTUM_BYTES = 64 << 10;
/** approxWorkedNSPerPhysicalPage: the work charged per physical page when a call's duration reads 0. */
export const APPROX_WORKED_NS_PER_PHYS_PAGE = 10e3;
/** scavengeCostRatio on Linux (0.7 on Darwin and iOS, where reusing scavenged memory costs a syscall). */
export const SCAVENGE_COST_RATIO = 0;
/** The controller cooldown after a failure: 5 s of sleep and work without the controller. */
export const CONTROLLER_COOLDOWN_NS = 5e9;

/** piController: a PI controller with output clamping and anti-windup (mgcpacer.go). */
export class PiController {
  private errIntegral = 0;
  /** Whether the last next() succeeded; false after an Inf/NaN, which resets the integral. */
  ok = true;

  constructor(
    readonly kp: number,
    readonly ti: number,
    readonly tt: number,
    readonly min: number,
    readonly max: number,
  ) {}

  /** The new output for a sample `input` against `setpoint`, `period` after the last one. */
  next(input: number, setpoint: number, period: number): number {
    const prop = this.kp * (setpoint - input);
    const rawOutput = prop + this.errIntegral;
    if (!Number.isFinite(rawOutput)) {
      this.errIntegral = 0;
      this.ok = false;
      return this.min;
    }
    const output = rawOutput < this.min ? this.min : rawOutput > this.max ? this.max : rawOutput;
    if (this.ti !== 0 && this.tt !== 0) {
      this.errIntegral += ((this.kp * period) / this.ti) * (setpoint - input) + (period / this.tt) * (output - rawOutput);
      if (!Number.isFinite(this.errIntegral)) {
        this.errIntegral = 0;
        this.ok = false;
        return this.min;
      }
    }
    this.ok = true;
    return output;
  }
}

/** The scavenger's sleep controller, with the gains Go 1.19 tuned (Ziegler-Nichols, loosely). */
export function scavengerController(): PiController {
  return new PiController(0.3375, 3.2e6, 1e9, 0.001, 1000);
}

/** scavengerState's pacing: the sleep ratio, its controller and the cooldown. */
export class ScavengerPacer {
  sleepRatio = STARTING_SLEEP_RATIO;
  readonly controller = scavengerController();
  /** Nanoseconds of sleep and work left before the controller is used again. */
  cooldownNs = 0;
  /** The work a sleep is based on (after the 1 ms floor and the cost ratio). */
  private workedNs = 0;

  /** `cpuPercent`: scavengePercent, the share of GOMAXPROCS CPUs the scavenger aims at. */
  constructor(readonly cpuPercent: number) {}

  /** Whether a batch that has worked `workedNs` and last released `lastBytes` calls again. */
  static continues(workedNs: number, lastBytes: number): boolean {
    return workedNs < MIN_SCAV_WORK_NS && lastBytes >= SCAVENGE_QUANTUM_BYTES;
  }

  /** The work one call adds to a batch: its duration, or 10 us per physical page when that reads 0. */
  static callWorkNs(releasedBytes: number, durationNs: number, physPageBytes: number): number {
    return durationNs === 0 ? APPROX_WORKED_NS_PER_PHYS_PAGE * Math.floor(releasedBytes / physPageBytes) : durationNs;
  }

  /** sleep(worked), first half: the nanoseconds to sleep after a batch that worked `workedNs`. */
  sleepNs(workedNs: number): number {
    let worked = workedNs < MIN_SCAV_WORK_NS ? MIN_SCAV_WORK_NS : workedNs;
    worked *= 1 + SCAVENGE_COST_RATIO;
    this.workedNs = worked;
    return Math.trunc(worked / this.sleepRatio);
  }

  /** sleep(worked), second half: the sleep lasted `sleptNs` (less when woken early). */
  slept(sleptNs: number, gomaxprocs: number): void {
    const worked = this.workedNs;
    if (this.cooldownNs > 0) {
      const t = sleptNs + Math.trunc(worked);
      this.cooldownNs = t > this.cooldownNs ? 0 : this.cooldownNs - t;
      return;
    }
    const idealFraction = this.cpuPercent / 100;
    const cpuFraction = worked / ((sleptNs + worked) * gomaxprocs);
    this.sleepRatio = this.controller.next(cpuFraction, idealFraction, sleptNs + worked);
    if (!this.controller.ok) {
      this.sleepRatio = STARTING_SLEEP_RATIO;
      this.cooldownNs = CONTROLLER_COOLDOWN_NS;
    }
  }
}
