import * as core from '@actions/core';
import { redact } from './secrets.js';

/**
 * All output goes through here so that no secret can reach a log line. The runner's `::error::` /
 * `::warning::` syntax is used in a terminal too: one format, easy to grep.
 */
export function info(message: string): void {
  core.info(redact(message));
}

export function warning(message: string): void {
  core.warning(redact(message));
}

export function error(message: string): void {
  core.error(redact(message));
}
