import * as core from '@actions/core';
import { runSnapshot } from '../commands/snapshot.js';
import { readSnapshotSettings } from '../settings/snapshot.js';
import { formatBytes } from '../util/format.js';
import { actionInput } from './run.js';

/** The `snapshot` action: files → one streamed, verified snapshot. */
export async function snapshotAction(): Promise<void> {
  const result = await runSnapshot(readSnapshotSettings(actionInput));
  core.setOutput('snapshot-id', result.snapshotId);
  core.setOutput('bytes', String(result.bytes));
  core.setOutput('files', String(result.files));
  await core.summary
    .addRaw(
      `## ✅ Snapshot \`${result.snapshotId}\`: ${result.files} entries, ${formatBytes(result.sourceBytes)} stored in ${formatBytes(result.bytes)}\n`,
    )
    .write();
}
