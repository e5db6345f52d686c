import * as core from '@actions/core';
import { runRestore } from '../commands/restore.js';
import { readRestoreSettings } from '../settings/restore.js';
import { formatBytes } from '../util/format.js';
import { actionInput } from './run.js';

/** The `restore` action: inputs → engine → outputs and a summary line. */
export async function restoreAction(): Promise<void> {
  const outcome = await runRestore(readRestoreSettings(actionInput));
  core.setOutput('snapshot-id', outcome.snapshotId);
  core.setOutput('path', outcome.path ?? '');
  core.setOutput('refs', String(outcome.refs));
  const where = [outcome.path, outcome.pushedTo].filter(Boolean).join(' and ');
  const what = `${outcome.refs} ${outcome.kind === 'git' ? 'refs' : 'entries'}`;
  const headline = outcome.dryRun
    ? `🔎 Restore dry run: ${what} (${formatBytes(outcome.bytes)}) of ${outcome.source} snapshot \`${outcome.snapshotId}\``
    : `✅ Restored ${outcome.source} snapshot \`${outcome.snapshotId}\` into ${where}: ${what} verified`;
  await core.summary.addRaw(`## ${headline}\n`).write();
}
