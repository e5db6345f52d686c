import * as core from '@actions/core';
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import { errorMessage } from '../util/errors.js';
import * as log from '../log/log.js';
import { closeRunLog, record, startRunLog } from '../log/run-log.js';
import { uploadRunLog } from '../log/upload.js';
import type { InputReader } from '../settings/inputs.js';
import { readRunLogSettings, type RunLogSettings } from '../settings/run-log.js';

/** The action face's inputs: what the runner passed as INPUT_* (action.yml defaults merged). */
export const actionInput: InputReader = (name) => core.getInput(name);

/**
 * Runs an action body: any error that escapes becomes a single `::error::` line and exit code 1.
 * Stack traces are for bugs, not for bad input, so they are never printed.
 */
export async function runAction(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    // What core.setFailed does, through our log (which knows where errors go in the CLI).
    log.error(errorMessage(error));
    process.exitCode = 1;
  }
}

/**
 * Runs an action with its structured run log (JSON lines: every log line, and what the action records
 * per repository), uploaded as an artifact at the end (`upload-logs`, `log-retention-days`). Outside
 * Actions the log stays on disk and the step says where.
 */
export async function runLoggedAction(name: string, body: () => Promise<void>): Promise<void> {
  let logSettings: RunLogSettings = { upload: true, retentionDays: 30 };
  await runAction(async () => {
    logSettings = readRunLogSettings(actionInput);
  });
  if (process.exitCode === 1) return;
  startRunLog(name, process.env.RUNNER_TEMP || os.tmpdir());
  const started = Date.now();
  await runAction(body);
  const failed = process.exitCode === 1;
  record({ step: name, outcome: failed ? 'failed' : 'ok', durationMs: Date.now() - started });
  const file = await closeRunLog();
  const artifact = `backup-action-${name}-log-${process.env.GITHUB_JOB ?? 'job'}-${randomBytes(3).toString('hex')}`;
  const { upload, retentionDays } = logSettings;
  const result = upload ? await uploadRunLog(file, { name: artifact, retentionDays }) : { uploaded: false };
  log.info(result.uploaded ? `run log uploaded as artifact ${artifact}` : `run log: ${file}`);
}
