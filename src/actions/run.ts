import { errorMessage } from '../errors.js';
import * as log from '../log.js';

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
