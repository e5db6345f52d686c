import { isEmptyPolicy } from '../retention/policy.js';
import { InputError } from '../util/errors.js';
import { type BackupSettings, readBackupSettings } from './backup.js';
import { readEncryptionSettings } from './encryption.js';
import type { InputReader } from './inputs.js';
import { type PruneSettings, readOrphanAge, readPolicy } from './prune.js';
import { defaultJsonPath, readReportQuery, type ReportSettings } from './report.js';
import { readSubset, readVerifyLevel, type VerifySettings } from './verify.js';

/**
 * The root action's steps, each with its own settings, all validated before the first one runs. The
 * root action names some inputs differently from the sub-actions (`verify-level`), and errors name
 * the input the user wrote.
 */
export interface OneStepSettings {
  backup: BackupSettings;
  /** Absent with `verify-level: none`; `repositories` is filled with those backed up. */
  verify?: VerifySettings;
  /** Absent when no keep-* rule is given. */
  prune?: PruneSettings;
  report: ReportSettings;
}

export function readOneStepSettings(
  read: InputReader,
  env: NodeJS.ProcessEnv = process.env,
): OneStepSettings {
  const backup = readBackupSettings(read, env);
  const { store } = backup;
  const repositories = backup.sources.map((source) => source.spec);

  const level = readVerifyLevel(read('verify-level'), 'verify-level', true);
  const subset = level === 'none' ? undefined : readSubset(read('verify-subset'), 'verify-subset');
  const encryption = readEncryptionSettings(read);
  if (level === 'restore' && encryption.encryptTo && !encryption.decryptWith) {
    throw new InputError(
      'encryption-identity',
      'is needed with verify-level restore: snapshots encrypted to encryption-recipients can only be restored with the matching identity. Give it, or use verify-level read-data.',
    );
  }
  const verify: VerifySettings | undefined =
    level === 'none'
      ? undefined
      : {
          store,
          repositories,
          check: { level, snapshot: 'latest', ...(subset ? { subset } : {}) },
          decryptWith: encryption.decryptWith,
        };

  // The report's JSON always goes to its default place.
  const report: ReportSettings = {
    ...readReportQuery(read, env),
    repositories,
    jsonPath: defaultJsonPath(env),
    store,
  };
  const policy = readPolicy(read);
  const prune: PruneSettings | undefined = isEmptyPolicy(policy)
    ? undefined
    : { store, repositories, policy, dryRun: false, orphanAge: readOrphanAge(read, new Date()) };
  return { backup, verify, prune, report };
}
