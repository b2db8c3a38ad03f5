// heapsim's library API: read a trace, replay it on a backend, get the result object
// that the CLI prints. The CLI uses nothing else.

export { HeapsimError, TraceError, UsageError } from './errors.js';
export { openTrace, openTraceText, TraceReader, type ReadOptions } from './trace/reader.js';
export { EventBatch, OP_NAMES, type TraceMeta, type ReadStats } from './trace/events.js';
export { SimOS, SimulatedOomError, AddressSpaceLimitError, AddressSpaceExhaustedError, type OsMemory, type OsOptions } from './os/sim-os.js';
export { HeapConfigError, type PageHeap, type BackendInfo, type FreeStats, type HeapClock, type HeapOptions } from './heap/types.js';
export { backends, defaultBackend, findBackend } from './heap/registry.js';
export {
  createPolicy,
  findPolicy,
  POLICIES,
  POLICY_NAMES,
  TRIGGERS,
  TRIGGER_DOC,
  type PolicyContext,
  type PolicyInfo,
  type ReleasePolicy,
  type Trigger,
} from './policy/index.js';
export { Replayer, type ReplayOptions, type EmitSink } from './replay/engine.js';
export { fitTouch, FIT_COARSE_STEP, type TouchFit, type FitOptions } from './replay/touch-fit.js';
export { InvariantError } from './replay/invariants.js';
export { DEFAULTS, RUN_OPTIONS, OptionError, resolveRunOptions, type RunOptions, type ResolvedRunOptions, type OptionSpec } from './options.js';
export { METERS, FIGURES, findFigure, type Figure, type Meter, type ReplayState, type EventRecord, type ReleaseRecord } from './metrics/index.js';
export {
  replayFile,
  replayReader,
  replayLoaded,
  compareLoaded,
  compareFile,
  replayWith,
  eraBackend,
  planComparison,
  loadTrace,
  loadReader,
  type CompareRun,
  type ComparePlan,
  type CompareOptions,
  type CompareFileOptions,
  type ReplayRunOutput,
  type ReplayWithOptions,
  type LoadedTrace,
  type ProgressOptions,
} from './replay/replay.js';
export type { ReplayResult, LatencyStats } from './replay/result.js';
export { renderReplay, renderCompare, renderCheck, oomMessage, type RenderOptions } from './report/tables.js';
export { renderChart, type Series } from './report/chart.js';
export { renderHtml } from './report/html.js';
export {
  buildReport,
  reportCompare,
  reportDocument,
  reportReplay,
  traceSection,
  REPORT_INPUTS,
  type ReportDocument,
  type ReportInput,
  type ReportOptions,
  type ReportRun,
  type ReportSection,
  type TraceSection,
} from './report/report-data.js';
export { ReportRecorder, traceTimeRange, type RunSeries, type HeapMap } from './metrics/report-recorder.js';
export { GAP_PARTS, PageTracker, gapSum, type GapBreakdown, type GapPart } from './metrics/gap.js';
export { CsvEmitter } from './report/emit.js';
export { Timeline, TIMELINE_HEADER } from './metrics/timeline.js';
export { COST, modelledNs } from './metrics/cost-model.js';
export { formatBytes } from './report/format.js';
export { resolveTraceArg, listBundledTraces, bundledTracesDir, packageVersion, packageRoot, type BundledTrace } from './traces.js';
export { generate, type GenOptions } from './gen/generate.js';
export { WORKLOADS, findWorkload, type Workload } from './gen/workloads.js';
export {
  BASELINE_SCHEMA,
  CHECK_REPORT_SCHEMA,
  BaselineMismatchError,
  compareWithBaseline,
  entryOf,
  metricsOf,
  measureTraces,
  readBaseline,
  baselineText,
  parseTolerances,
  runCheck,
  errorReport,
  FRESH_TOLERANCES,
  type CheckMode,
  type CheckRun,
  type RunCheckOptions,
  type CheckOptions,
  type BaselineEntry,
  type BaselineFile,
  type CheckReport,
  type Regression,
} from './check/check.js';
export { NORMALISED, normalisedOf, type NormalisedFigure } from './check/normalised.js';
export { renderCheckMarkdown } from './report/check-markdown.js';
export { renderCheckJunit } from './report/junit.js';
export { record, testBinaryArgs, type RecordOptions, type RecordResult } from './record/record.js';
export { Recording, describeEnding, type DecodeSummary, type Ending, type RecordingMeta } from './record/decode.js';
export { detectToolchain, supportedVersions, RecordError, type Toolchain } from './record/toolchain.js';
export { writeOverlay, applySites, readSites, type Site, type Sites } from './record/overlay.js';
export { WorkerPool, defaultWorkers, type RunTaskOptions } from './pool/pool.js';
export {
  GRID_SCHEMA,
  parseGrid,
  readGrid,
  planSweep,
  sweepTraces,
  runKey,
  versionOf,
  parseShard,
  shardRuns,
  type Grid,
  type ParamValue,
  type PlannedRun,
  type Shard,
  type SweepConfig,
  type SweepPlan,
  type SweepTrace,
} from './sweep/grid.js';
export { SWEEP_FIGURES, atDefaults, type SweepRunOutcome, type SweepTask } from './sweep/run.js';
export { runSweep, expandTraces, type SweepOptions, type SweepProgress, type SweepSummary } from './sweep/sweep.js';
export {
  SWEEP_RUN_SCHEMA,
  sweepLine,
  lineText,
  readResults,
  checkSameSweep,
  mergeResults,
  type SweepLine,
  type ResultsFile,
  type Merged,
} from './sweep/results.js';
export { renderSweepReport, paretoFront, type ReportPoint, type SweepReportOptions } from './sweep/report.js';
