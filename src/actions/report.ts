import * as core from '@actions/core';
import { runReport } from '../commands/report.js';
import { writeReportJson } from '../report/collect.js';
import { reportSummary } from '../report/markdown.js';
import { readReportSettings, type ReportSettings } from '../settings/report.js';
import type { SnapshotKind } from '../snapshot/manifest.js';
import { actionInput } from './run.js';

/** The `report` action: freshness of every repository from the store; stale ones fail the step. */
export async function reportAction(): Promise<void> {
  if (!(await runReportStep(readReportSettings(actionInput)))) process.exitCode = 1;
}

/** Reports, writes the JSON, sets the outputs and the summary; false when anything is not fresh. */
export async function runReportStep(settings: ReportSettings, kinds?: SnapshotKind[]): Promise<boolean> {
  const report = await runReport(settings, undefined, kinds);
  await writeReportJson(report, settings.jsonPath);
  core.setOutput('stale', String(report.counts.units - report.counts.fresh));
  core.setOutput('json', settings.jsonPath);
  await core.summary.addRaw(reportSummary(report, { jsonPath: settings.jsonPath })).write();
  return report.ok;
}
