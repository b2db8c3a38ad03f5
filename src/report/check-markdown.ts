// `heapsim check --markdown FILE`: the gate's report as GitHub-flavoured Markdown, ready to
// append to a CI job summary ($GITHUB_STEP_SUMMARY). Written whatever the outcome: a pass,
// regressions (with the table), or an error (with its reason).
//
// Invariants: table cells never contain a raw `|` or newline (escaped), so a trace named
// `a|b.csv` cannot break the table; values use the same formatting as the terminal table
// (bytes human-readable).

import type { CheckReport, Regression } from '../check/check.js';
import { fmt, formatRowChange, formatTolerance } from './tables.js';

function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function table(rows: Regression[]): string[] {
  const out = ['| trace | backend | policy | metric | baseline | now | change | tolerance |', '|---|---|---|---|--:|--:|--:|--:|'];
  for (const r of rows) {
    const cells = [
      r.trace,
      r.backend,
      r.policy,
      `\`${r.metric}\``,
      fmt(r.unit, r.baseline),
      fmt(r.unit, r.now),
      formatRowChange(r),
      formatTolerance(r.tolerance),
    ];
    out.push(`| ${cells.map(cell).join(' | ')} |`);
  }
  return out;
}

function heading(report: CheckReport): string {
  const mode = report.mode === 'fresh' ? 'fresh recordings' : 'same trace';
  if (report.status === 'error') return `## heapsim check: error (exit 2, ${mode})`;
  if (report.status === 'regression')
    return `## heapsim check: FAILED, ${report.regressions.length} regression${report.regressions.length === 1 ? '' : 's'} (${mode})`;
  return `## heapsim check: passed (${mode})`;
}

/** The report as Markdown. */
export function renderCheckMarkdown(report: CheckReport): string {
  const lines = [heading(report), ''];
  if (report.error !== undefined) {
    lines.push(`> ${cell(report.error)}`, '');
    return lines.join('\n');
  }
  lines.push(
    `${report.checked} metrics checked over ${report.runs.length} run${report.runs.length === 1 ? '' : 's'}: ${report.regressions.length} worse and ${report.improvements.length} better beyond tolerance.`,
    '',
  );
  const sections: [string, Regression[]][] = [
    ['Regressions', report.regressions],
    ['Improvements', report.improvements],
    ["Workload changes (the recording's size; not judged)", report.workload],
  ];
  for (const [title, rows] of sections) {
    if (rows.length > 0) lines.push(`### ${title}`, '', ...table(rows), '');
  }
  if (report.improvements.length > 0) lines.push('Improvements are not failures; refresh the baseline with `--update-baseline` to keep them.', '');
  return lines.join('\n');
}
