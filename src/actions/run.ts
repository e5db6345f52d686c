import * as core from '@actions/core';
import { errorMessage } from '../errors.js';
import { redact } from '../secrets.js';

/**
 * Runs an action body: any error that escapes becomes a single `::error::` line and exit code 1.
 * Stack traces are for bugs, not for bad input, so they are never printed.
 */
export async function runAction(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    core.setFailed(redact(errorMessage(error)));
  }
}
