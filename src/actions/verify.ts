import * as core from '@actions/core';
import { runVerify, verifySummary } from '../verify-command.js';

/** The `verify` action: proves the selected snapshots; any problem fails the step, named. */
export async function verifyAction(): Promise<void> {
  const reports = await runVerify((name) => core.getInput(name));
  const results = reports.flatMap((report) => report.results);
  const ok = reports.every((report) => report.ok);
  core.setOutput('ok', String(ok));
  core.setOutput('checked', String(results.length));
  core.setOutput('failed', String(results.filter((result) => !result.ok).length));
  core.setOutput('results', JSON.stringify(results));
  await core.summary.addRaw(verifySummary(reports)).write();
  if (!ok) process.exitCode = 1;
}
