import * as core from '@actions/core';
import type { InputReader } from '../settings/backup.js';
import { reportSummary, runReport, writeReportJson } from '../report/report.js';
import type { SnapshotKind } from '../snapshot/manifest.js';

/** The `report` action: freshness of every repository from the store; stale ones fail the step. */
export async function reportAction(): Promise<void> {
  if (!(await runReportStep((name) => core.getInput(name)))) process.exitCode = 1;
}

/** Reports, writes the JSON, sets the outputs and the summary; false when anything is not fresh. */
export async function runReportStep(read: InputReader, kinds?: SnapshotKind[]): Promise<boolean> {
  const { settings, report } = await runReport(read, process.env, undefined, kinds);
  await writeReportJson(report, settings.jsonPath);
  core.setOutput('stale', String(report.counts.units - report.counts.fresh));
  core.setOutput('json', settings.jsonPath);
  await core.summary.addRaw(reportSummary(report, { jsonPath: settings.jsonPath })).write();
  return report.ok;
}
