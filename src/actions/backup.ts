import * as core from '@actions/core';
import { runBackup } from '../commands/backup.js';
import type { RepositoryResult } from '../git/backup.js';
import * as log from '../log/log.js';
import { record } from '../log/run-log.js';
import { backupSummary } from '../report/step-summaries.js';
import { type BackupSettings, readBackupSettings } from '../settings/backup.js';
import { actionInput } from './run.js';

/** The `backup` action: inputs → engine → outputs, job summary, and one error line per failure. */
export async function backupAction(): Promise<void> {
  const results = await runBackupStep(readBackupSettings(actionInput));
  if (results.some((result) => result.status === 'failed')) process.exitCode = 1;
}

/** Backs up, then records each repository, sets the outputs and writes the summary; never throws per repository. */
export async function runBackupStep(settings: BackupSettings): Promise<RepositoryResult[]> {
  const results = await runBackup(settings);

  for (const result of results) {
    record({
      repository: result.repository,
      step: 'backup',
      bytes: result.bytes,
      durationMs: result.durationMs,
      outcome: result.status,
      message: result.snapshotId ?? result.error,
    });
  }
  const created = results.filter((result) => result.status === 'created');
  core.setOutput('updated', String(created.length > 0));
  core.setOutput('snapshot-ids', JSON.stringify(created.map((result) => result.snapshotId)));
  core.setOutput('bytes-uploaded', String(results.reduce((sum, result) => sum + result.bytes, 0)));
  core.setOutput('results', JSON.stringify(results));
  await core.summary.addRaw(backupSummary(results)).write();

  const failed = results.filter((result) => result.status === 'failed');
  for (const failure of failed) log.error(`${failure.repository}: ${failure.error}`);
  if (failed.length > 0) {
    const others = results.length - failed.length;
    log.info(
      `${failed.length} of ${results.length} failed${others ? `; the other ${others} were backed up` : ''}.`,
    );
  }
  return results;
}
