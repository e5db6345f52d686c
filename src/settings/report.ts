import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_MAX_AGE, type ReportOptions } from '../report/report.js';
import { type Duration, formatDuration, isZeroDuration, parseDuration } from '../retention/duration.js';
import { errorMessage, InputError } from '../util/errors.js';
import { readStoreSettings, type StoreSettings } from './destination.js';
import { type InputReader, parseList } from './inputs.js';

/** What the report measures (max-age, the repositories expected) and where its JSON goes. */
export interface ReportQuery extends ReportOptions {
  /** `repositories` as given: each one expected to have a snapshot. Empty: whatever the store holds. */
  repositories: string[];
  /** Where the JSON report is written (`json-path`, default `$RUNNER_TEMP/backup-report.json`). */
  jsonPath: string;
}

/** What `report` was asked to do, validated before anything is read. */
export interface ReportSettings extends ReportQuery {
  store: StoreSettings;
}

export function readReportSettings(read: InputReader, env: NodeJS.ProcessEnv = process.env): ReportSettings {
  const query = readReportQuery(read, env);
  return { ...query, store: readStoreSettings(read, env) };
}

/** `max-age`, `repositories` and `json-path`: what the report measures and where its JSON goes. */
export function readReportQuery(read: InputReader, env: NodeJS.ProcessEnv = process.env): ReportQuery {
  const text = read('max-age').trim() || DEFAULT_MAX_AGE;
  let maxAgeDuration: Duration;
  try {
    maxAgeDuration = parseDuration(text);
  } catch (error) {
    throw new InputError('max-age', errorMessage(error));
  }
  if (isZeroDuration(maxAgeDuration)) {
    throw new InputError('max-age', `"${text}" is zero: every snapshot would be stale. Use e.g. 26h or 2d.`);
  }
  const jsonPath = read('json-path').trim();
  if (jsonPath) checkWritablePath('json-path', path.resolve(jsonPath));
  return {
    maxAge: formatDuration(maxAgeDuration),
    maxAgeDuration,
    repositories: parseList(read('repositories')),
    jsonPath: jsonPath ? path.resolve(jsonPath) : defaultJsonPath(env),
  };
}

/** Fails now, naming the input, when `file` could never be written: a folder, or below a file. */
function checkWritablePath(input: string, file: string): void {
  if (existsSync(file) && statSync(file).isDirectory()) {
    throw new InputError(
      input,
      `${file} is a folder. Give a file name, e.g. ${path.join(file, 'report.json')}.`,
    );
  }
  for (let folder = path.dirname(file); ; folder = path.dirname(folder)) {
    if (existsSync(folder)) {
      if (!statSync(folder).isDirectory()) {
        throw new InputError(input, `${folder} is a file, so ${file} cannot be created. Give another path.`);
      }
      return;
    }
    if (path.dirname(folder) === folder) return;
  }
}

/** `$RUNNER_TEMP/backup-report.json`, or a new name in the system's temporary folder. */
export function defaultJsonPath(env: NodeJS.ProcessEnv): string {
  return env.RUNNER_TEMP
    ? path.join(env.RUNNER_TEMP, 'backup-report.json')
    : path.join(os.tmpdir(), `backup-report-${randomBytes(6).toString('hex')}.json`);
}
