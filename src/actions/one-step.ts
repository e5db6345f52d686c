import * as log from '../log/log.js';
import { readOneStepSettings } from '../settings/one-step.js';
import type { SnapshotKind } from '../snapshot/manifest.js';
import { runBackupStep } from './backup.js';
import { runPruneStep } from './prune.js';
import { runReportStep } from './report.js';
import { actionInput } from './run.js';
import { runVerifyStep } from './verify.js';

/** The one-step path backs up repositories only: a file series of the same name is left alone. */
const KINDS: SnapshotKind[] = ['git'];

/**
 * The root action: backup → verify each repository's newest snapshot → prune (only when a keep-* rule
 * is given and everything before succeeded) → report. Every input is validated before any work starts.
 */
export async function oneStepAction(): Promise<void> {
  const settings = readOneStepSettings(actionInput);

  const results = await runBackupStep(settings.backup);
  let ok = results.every((result) => result.status !== 'failed');
  const backedUp = results.filter((result) => result.status !== 'failed').map((result) => result.repository);

  if (settings.verify && backedUp.length > 0) {
    const verify = { ...settings.verify, repositories: backedUp };
    ok = (await runVerifyStep(verify, { outputPrefix: 'verify-', kinds: KINDS })) && ok;
  }
  if (settings.prune && ok) await runPruneStep(settings.prune, KINDS);
  else if (settings.prune)
    log.warning('prune skipped: a backup or a verification failed, so no older snapshot is removed.');

  ok = (await runReportStep(settings.report, KINDS)) && ok;
  if (!ok) process.exitCode = 1;
}
