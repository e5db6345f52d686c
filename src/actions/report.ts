import * as core from '@actions/core';
import { reportSummary, runReport, writeReportJson } from '../report/report.js';

/** The `report` action: freshness of every repository from the store; stale ones fail the step. */
export async function reportAction(): Promise<void> {
  const { settings, report } = await runReport((name) => core.getInput(name));
  await writeReportJson(report, settings.jsonPath);
  core.setOutput('stale', String(report.counts.units - report.counts.fresh));
  core.setOutput('json', settings.jsonPath);
  await core.summary.addRaw(reportSummary(report, { jsonPath: settings.jsonPath })).write();
  if (!report.ok) process.exitCode = 1;
}
