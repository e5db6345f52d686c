import * as core from '@actions/core';
import { backupAction } from './actions/backup.js';
import { runAction } from './actions/run.js';
import { runCli } from './cli.js';
import { errorMessage } from './errors.js';
import { redact } from './secrets.js';

/**
 * The one bundle's entry: each action's stub in dist/ calls `main` with its name, so every action
 * shares one copy of the engine instead of one multi-megabyte bundle each.
 */
export async function main(entry: string): Promise<void> {
  switch (entry) {
    case 'backup':
      return runAction(backupAction);
    case 'cli':
      try {
        process.exitCode = await runCli(process.argv.slice(2));
      } catch (error) {
        core.error(redact(errorMessage(error)));
        process.exitCode = 1;
      }
      return;
    default:
      throw new Error(`unknown entry ${entry}`);
  }
}
