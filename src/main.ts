import { backupAction } from './actions/backup.js';
import { oneStepAction } from './actions/one-step.js';
import { openIssueAction } from './actions/open-issue.js';
import { planAction } from './actions/plan.js';
import { pruneAction } from './actions/prune.js';
import { reportAction } from './actions/report.js';
import { restoreAction } from './actions/restore.js';
import { runAction, runLoggedAction } from './actions/run.js';
import { snapshotAction } from './actions/snapshot.js';
import { verifyAction } from './actions/verify.js';
import { runCli } from './cli.js';
import * as log from './log/log.js';

/** Every action by the name of its folder under actions/ (and of its stub in dist/); `one-step` is the root action. */
const ACTIONS: Record<string, () => Promise<void>> = {
  backup: backupAction,
  'one-step': oneStepAction,
  'open-issue-on-failure': openIssueAction,
  plan: planAction,
  prune: pruneAction,
  report: reportAction,
  restore: restoreAction,
  snapshot: snapshotAction,
  verify: verifyAction,
};

/**
 * The one bundle's entry: each action's stub in dist/ calls `main` with its name, so every action
 * shares one copy of the engine instead of one multi-megabyte bundle each.
 */
export async function main(entry: string): Promise<void> {
  if (entry === 'cli') {
    if (process.env.GITHUB_ACTIONS !== 'true') log.dropDebugCommands();
    return runAction(async () => {
      process.exitCode = await runCli(process.argv.slice(2));
    });
  }
  const action = ACTIONS[entry];
  if (!action) throw new Error(`unknown entry ${entry}`);
  return runLoggedAction(entry, action);
}
