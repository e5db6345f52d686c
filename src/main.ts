import { backupAction } from './actions/backup.js';
import { openIssueAction } from './actions/open-issue.js';
import { pruneAction } from './actions/prune.js';
import { reportAction } from './actions/report.js';
import { restoreAction } from './actions/restore.js';
import { snapshotAction } from './actions/snapshot.js';
import { verifyAction } from './actions/verify.js';
import { runAction } from './actions/run.js';
import { runCli } from './cli.js';

/**
 * The one bundle's entry: each action's stub in dist/ calls `main` with its name, so every action
 * shares one copy of the engine instead of one multi-megabyte bundle each.
 */
export async function main(entry: string): Promise<void> {
  switch (entry) {
    case 'backup':
      return runAction(backupAction);
    case 'restore':
      return runAction(restoreAction);
    case 'prune':
      return runAction(pruneAction);
    case 'snapshot':
      return runAction(snapshotAction);
    case 'report':
      return runAction(reportAction);
    case 'open-issue-on-failure':
      return runAction(openIssueAction);
    case 'verify':
      return runAction(verifyAction);
    case 'cli':
      return runAction(async () => {
        process.exitCode = await runCli(process.argv.slice(2));
      });
    default:
      throw new Error(`unknown entry ${entry}`);
  }
}
