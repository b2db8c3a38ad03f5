// `heapsim check --junit FILE`: the gate's report as JUnit XML, which CI systems (GitLab,
// Jenkins, GitHub test-report actions) show as test results. One test case per replayed
// run (trace × backend × policy): it fails with one line per regressed metric. A check
// that could not be made (bad input, a baseline for other traces) is one test case in
// error, carrying the reason.
//
// Invariants: every attribute and text node is XML-escaped; characters XML 1.0 forbids
// (control characters) are dropped, so any trace name yields a well-formed file.

import type { CheckReport, Regression } from '../check/check.js';
import { fmt, formatRowChange, formatTolerance } from './tables.js';

function xml(text: string): string {
  return text
    .replace(/[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

function line(r: Regression): string {
  return `${r.metric}: ${fmt(r.unit, r.baseline)} -> ${fmt(r.unit, r.now)} (${formatRowChange(r)}, tolerance ${formatTolerance(r.tolerance)})`;
}

function testCases(report: CheckReport): string[] {
  if (report.error !== undefined) {
    return [
      `    <testcase classname="heapsim.check" name="baseline comparison">`,
      `      <error message="${xml(report.error)}" type="error"/>`,
      '    </testcase>',
    ];
  }
  const out: string[] = [];
  for (const run of report.runs) {
    const rows = report.regressions.filter((r) => r.trace === run.trace && r.backend === run.backend && r.policy === run.policy);
    const open = `    <testcase classname="heapsim.check.${xml(run.trace)}" name="${xml(`${run.backend} / ${run.policy}`)}"`;
    if (rows.length === 0) {
      out.push(`${open}/>`);
      continue;
    }
    const message = `${rows.length} metric${rows.length === 1 ? '' : 's'} regressed`;
    out.push(`${open}>`, `      <failure message="${message}" type="regression">${xml(rows.map(line).join('\n'))}</failure>`, '    </testcase>');
  }
  return out;
}

/** The report as a JUnit XML document. */
export function renderCheckJunit(report: CheckReport): string {
  const tests = report.error !== undefined ? 1 : report.runs.length;
  const errors = report.error !== undefined ? 1 : 0;
  const failures = new Set(report.regressions.map((r) => `${r.trace}\0${r.backend}\0${r.policy}`)).size;
  const counts = `tests="${tests}" failures="${failures}" errors="${errors}"`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="heapsim check" ${counts}>`,
    `  <testsuite name="heapsim check (${report.mode})" ${counts}>`,
    ...testCases(report),
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
