/**
 * An error the user can fix by changing one input. The message names the input, says what was wrong
 * and how to fix it; entrypoints print it as a single `::error::` line.
 */
export class InputError extends Error {
  constructor(
    readonly input: string,
    readonly problem: string,
  ) {
    super(`Input "${input}": ${problem}`);
    this.name = 'InputError';
  }
}

/** An error while working on one repository; other repositories still run. */
export class RepositoryError extends Error {
  constructor(
    readonly repository: string,
    message: string,
  ) {
    super(message);
    this.name = 'RepositoryError';
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
