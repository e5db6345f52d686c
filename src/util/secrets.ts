import * as core from '@actions/core';

/**
 * Every secret the run handles is registered here: the runner masks it in logs, and `redact` removes
 * it from any text we write ourselves (summaries, manifests, error messages, CLI output).
 */
const secrets = new Set<string>();

export function addSecret(value: string | undefined): void {
  if (!value) return;
  // `::add-mask::` is a runner command; printed in a terminal it would show the secret.
  if (process.env.GITHUB_ACTIONS === 'true') core.setSecret(value);
  // Replacing one to three characters everywhere would garble our own text more than it hides.
  if (value.length >= 4) secrets.add(value);
}

export function redact(text: string): string {
  let result = text;
  for (const secret of secrets) result = result.split(secret).join('***');
  return result;
}
