import * as core from '@actions/core';
import { InputError } from '../util/errors.js';
import { type InputReader, readBackupSettings } from '../settings/backup.js';
import * as log from '../log/log.js';
import { parseReportSettings } from '../report/report.js';
import { isEmptyPolicy, parsePolicy } from '../retention/policy.js';
import type { SnapshotKind } from '../snapshot/manifest.js';
import { parseVerifySettings } from '../verify/checker.js';
import { parseEncryptionSettings } from '../crypto/age.js';
import { runBackupStep } from './backup.js';
import { runPruneStep } from './prune.js';
import { runReportStep } from './report.js';
import { runVerifyStep } from './verify.js';

/** The one-step path backs up repositories only: a file series of the same name is left alone. */
const KINDS: SnapshotKind[] = ['git'];

/**
 * The root action: backup → verify each repository's newest snapshot → prune (only when a keep-* rule
 * is given and everything before succeeded) → report. Every input is validated before any work starts.
 */
export async function oneStepAction(): Promise<void> {
  const read: InputReader = (name) => core.getInput(name);
  const backup = readBackupSettings(read);
  const verifyLevel = read('verify-level') || 'read-data';
  const verifyInputs = (repositories: string[]) =>
    stepReader(read, { level: verifyLevel, subset: read('verify-subset'), snapshot: 'latest', repositories });
  const all = backup.sources.map((source) => source.spec);
  withRootNames(() => {
    if (verifyLevel !== 'none') parseVerifySettings(verifyInputs(all));
    const encryption = parseEncryptionSettings(read);
    if (verifyLevel === 'restore' && encryption.encryptTo && !encryption.decryptWith) {
      throw new InputError(
        'encryption-identity',
        'is needed with verify-level restore: snapshots encrypted to encryption-recipients can only be restored with the matching identity. Give it, or use verify-level read-data.',
      );
    }
    parseReportSettings(read);
  });
  const prune = !isEmptyPolicy(parsePolicy(read));

  const results = await runBackupStep(backup);
  let ok = results.every((result) => result.status !== 'failed');
  const backedUp = results.filter((result) => result.status !== 'failed').map((result) => result.repository);

  if (verifyLevel !== 'none' && backedUp.length > 0) {
    const proven = await runVerifyStep(verifyInputs(backedUp), { outputPrefix: 'verify-', kinds: KINDS });
    ok &&= proven;
  }
  if (prune && ok) await runPruneStep(stepReader(read, { repositories: all, 'dry-run': 'false' }), KINDS);
  else if (prune)
    log.warning('prune skipped: a backup or a verification failed, so no older snapshot is removed.');

  ok = (await runReportStep(stepReader(read, { repositories: all, 'json-path': '' }), KINDS)) && ok;
  if (!ok) process.exitCode = 1;
}

/** The root action's inputs as a sub-step reads them: some replaced, the rest passed through. */
function stepReader(read: InputReader, replaced: Record<string, string | string[]>): InputReader {
  return (name) => {
    const value = replaced[name];
    if (value === undefined) return read(name);
    return Array.isArray(value) ? value.join('\n') : value;
  };
}

/** The root action names some sub-step inputs differently; errors must name the input the user wrote. */
const ROOT_NAMES: Record<string, string> = { level: 'verify-level', subset: 'verify-subset' };

function withRootNames(validate: () => void): void {
  try {
    validate();
  } catch (error) {
    if (error instanceof InputError && ROOT_NAMES[error.input]) {
      const problem =
        error.input === 'level' ? `${error.problem.replace(/\.$/, '')}, or none.` : error.problem;
      throw new InputError(ROOT_NAMES[error.input], problem);
    }
    throw error;
  }
}
