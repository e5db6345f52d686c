import * as core from '@actions/core';
import { runVerify } from '../commands/verify.js';
import { record } from '../log/run-log.js';
import { verifySummary } from '../report/step-summaries.js';
import { readVerifySettings, type VerifySettings } from '../settings/verify.js';
import type { SnapshotKind } from '../snapshot/manifest.js';
import { actionInput } from './run.js';

/** The `verify` action: proves the selected snapshots; any problem fails the step, named. */
export async function verifyAction(): Promise<void> {
  if (!(await runVerifyStep(readVerifySettings(actionInput)))) process.exitCode = 1;
}

/** Verifies, records each snapshot, sets the outputs (`outputPrefix` + ok, checked…) and the summary. */
export async function runVerifyStep(
  settings: VerifySettings,
  { outputPrefix = '', kinds }: { outputPrefix?: string; kinds?: SnapshotKind[] } = {},
): Promise<boolean> {
  const reports = await runVerify(settings, undefined, kinds);
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
  core.setOutput(`${outputPrefix}ok`, String(ok));
  core.setOutput(`${outputPrefix}checked`, String(results.length));
  core.setOutput(`${outputPrefix}failed`, String(results.filter((result) => !result.ok).length));
  core.setOutput(`${outputPrefix}results`, JSON.stringify(results));
  await core.summary.addRaw(verifySummary(reports)).write();
  return ok;
}
