import * as core from '@actions/core';
import type { InputReader } from '../settings/backup.js';
import { record } from '../log/run-log.js';
import type { SnapshotKind } from '../snapshot/manifest.js';
import { runVerify, verifySummary } from '../commands/verify.js';

/** The `verify` action: proves the selected snapshots; any problem fails the step, named. */
export async function verifyAction(): Promise<void> {
  if (!(await runVerifyStep((name) => core.getInput(name)))) process.exitCode = 1;
}

/** Verifies, records each snapshot, sets the outputs (`outputPrefix` + ok, checked…) and the summary. */
export async function runVerifyStep(
  read: InputReader,
  { outputPrefix = '', kinds }: { outputPrefix?: string; kinds?: SnapshotKind[] } = {},
): Promise<boolean> {
  const reports = await runVerify(read, undefined, kinds);
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
