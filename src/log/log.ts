import * as core from '@actions/core';
import { record } from './run-log.js';
import { redact } from '../util/secrets.js';

/**
 * All output goes through here so that no secret can reach a log line. The runner's `::error::` /
 * `::warning::` syntax is used in a terminal too: one format, easy to grep.
 */
let progressToStderr = false;

/** With `--json`, stdout carries only the JSON: progress, warnings and errors go to stderr. */
export function sendProgressToStderr(): void {
  progressToStderr = true;
}

export function info(message: string): void {
  record({ step: 'log', outcome: 'info', message });
  if (progressToStderr) process.stderr.write(`${redact(message)}\n`);
  else core.info(redact(message));
}

export function warning(message: string): void {
  record({ step: 'log', outcome: 'warning', message });
  if (progressToStderr) process.stderr.write(`::warning::${redact(message)}\n`);
  else core.warning(redact(message));
}

export function error(message: string): void {
  record({ step: 'log', outcome: 'error', message });
  if (progressToStderr) process.stderr.write(`::error::${redact(message)}\n`);
  else core.error(redact(message));
}

/**
 * In a terminal, libraries' `::debug::` runner commands (from @actions/glob, @actions/artifact) are
 * noise: the runner would hide them unless debugging is on, so the CLI drops them.
 */
export function dropDebugCommands(): void {
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (typeof chunk === 'string' && chunk.startsWith('::debug::')) return true;
    return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
}
