import * as core from '@actions/core';
import { record } from '../logs/run-log.js';
import { runVerify, verifySummary } from '../verify-command.js';

/** The `verify` action: proves the selected snapshots; any problem fails the step, named. */
export async function verifyAction(): Promise<void> {
  const reports = await runVerify((name) => core.getInput(name));
  const results = reports.flatMap((report) => report.results);
  for (const result of results) {
    record({
      repository: result.source,
      step: `verify ${result.level}`,
      bytes: result.bytesRead,
      durationMs: result.durationMs,
      outcome: result.ok ? 'ok' : 'failed',
      message: result.id,
    });
  }
  const ok = reports.every((report) => report.ok);
  core.setOutput('ok', String(ok));
  core.setOutput('checked', String(results.length));
  core.setOutput('failed', String(results.filter((result) => !result.ok).length));
  core.setOutput('results', JSON.stringify(results));
  await core.summary.addRaw(verifySummary(reports)).write();
  if (!ok) process.exitCode = 1;
}
