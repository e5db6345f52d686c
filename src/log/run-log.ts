import * as fs from 'node:fs';
import * as path from 'node:path';
import { redact } from '../util/secrets.js';

/**
 * A structured log of one run: one JSON object per line (JSON Lines), one line per event, so a failed
 * nightly backup can be read (or `jq`-ed) step by step after the fact. Every string goes through
 * `redact` before it is written: a secret registered with `addSecret` never reaches the file.
 *
 * Writes are synchronous on purpose: lines land in the order they were recorded, and a run that
 * crashes still leaves every line recorded before the crash on disk.
 */
export interface RunLogEntry {
  /** `owner/name` (or a local path) the event is about; omitted for run-wide events. */
  repository?: string;
  /** What was being done, e.g. `clone`, `upload`, `verify`. */
  step: string;
  bytes?: number;
  durationMs?: number;
  outcome: 'ok' | 'failed' | 'skipped' | (string & {});
  message?: string;
}

/** What one line holds: the entry plus when it happened and which action wrote it. */
export interface RunLogLine extends RunLogEntry {
  /** ISO 8601, UTC (`new Date().toISOString()`). */
  time: string;
  action: string;
}

interface OpenLog {
  action: string;
  file: string;
  fd: number;
}

let current: OpenLog | undefined;

/**
 * `2024-05-01T02:03:04.567Z` → `20240501T020304567Z`: sortable, and free of `:`, which artifact
 * uploads (and Windows) refuse in file names.
 */
function fileTimestamp(date: Date): string {
  return date.toISOString().replace(/[-:.]/g, '');
}

/** The action name as it may appear in a file (and artifact) name. */
function safeName(action: string): string {
  return redact(action).replace(/[^A-Za-z0-9._-]+/g, '-') || 'run';
}

/**
 * Opens `<dir>/backup-action-<action>-<timestamp>.jsonl` (creating `dir`) and makes it the log that
 * `record` writes to; returns its path. A log still open is closed first. Never overwrites a file:
 * two logs started in the same millisecond get `-1`, `-2`… suffixes.
 */
export function startRunLog(action: string, dir: string): string {
  if (current) closeCurrent();
  fs.mkdirSync(dir, { recursive: true });
  const base = path.join(path.resolve(dir), `backup-action-${safeName(action)}-${fileTimestamp(new Date())}`);
  for (let attempt = 0; ; attempt++) {
    const file = attempt === 0 ? `${base}.jsonl` : `${base}-${attempt}.jsonl`;
    try {
      const fd = fs.openSync(file, 'wx', 0o600);
      current = { action: redact(action), file, fd };
      return file;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 100) throw error;
    }
  }
}

/** The path of the open run log, if any. */
export function runLogPath(): string | undefined {
  return current?.file;
}

/**
 * Appends one line for `entry`. Without an open log (e.g. a unit test of a caller) it does nothing:
 * logging must never be the reason a backup fails.
 */
export function record(entry: RunLogEntry): void {
  if (!current) return;
  const line: RunLogLine = {
    time: new Date().toISOString(),
    action: current.action,
    ...(entry.repository !== undefined && { repository: redact(String(entry.repository)) }),
    step: redact(String(entry.step)),
    ...(typeof entry.bytes === 'number' && Number.isFinite(entry.bytes) && { bytes: entry.bytes }),
    ...(typeof entry.durationMs === 'number' &&
      Number.isFinite(entry.durationMs) && { durationMs: Math.round(entry.durationMs) }),
    outcome: redact(String(entry.outcome)),
    ...(entry.message !== undefined && { message: redact(String(entry.message)) }),
  };
  // Values are redacted, not the JSON text: redacting the text could hit a key or the syntax (a
  // secret such as `step` or `",`) and break the line. JSON.stringify escapes newlines inside
  // strings, so one entry is always exactly one line.
  fs.writeSync(current.fd, `${JSON.stringify(line)}\n`);
}

function closeCurrent(): string {
  const { fd, file } = current!;
  current = undefined;
  fs.closeSync(fd);
  return file;
}

/** Closes the run log and resolves with its path. Rejects if no log is open. */
export async function closeRunLog(): Promise<string> {
  if (!current) throw new Error('No run log is open');
  return closeCurrent();
}
