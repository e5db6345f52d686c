import * as core from '@actions/core';
import { formatBytes } from '../report/summaries.js';
import { runSnapshot } from '../commands/snapshot.js';

/** The `snapshot` action: files → one streamed, verified snapshot. */
export async function snapshotAction(): Promise<void> {
  const result = await runSnapshot((name) => core.getInput(name));
  core.setOutput('snapshot-id', result.snapshotId);
  core.setOutput('bytes', String(result.bytes));
  core.setOutput('files', String(result.files));
  await core.summary
    .addRaw(
      `## ✅ Snapshot \`${result.snapshotId}\`: ${result.files} entries, ${formatBytes(result.sourceBytes)} stored in ${formatBytes(result.bytes)}\n`,
    )
    .write();
}
