import * as core from '@actions/core';
import { readRestoreSettings, runRestore } from '../commands/restore.js';
import { formatBytes } from '../report/summaries.js';

/** The `restore` action: inputs → engine → outputs and a summary line. */
export async function restoreAction(): Promise<void> {
  const read = (name: string) => core.getInput(name);
  const outcome = await runRestore(read, readRestoreSettings(read));
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
