import { parseDuration, subtractDuration } from '../retention/duration.js';
import { COUNT_RULES, type RetentionPolicy, UNLIMITED } from '../retention/policy.js';
import { DEFAULT_ORPHAN_AGE } from '../retention/prune.js';
import { errorMessage, InputError } from '../util/errors.js';
import { readStoreSettings, type StoreSettings } from './destination.js';
import { boolean, type InputReader, parseList, readTags } from './inputs.js';

/** What `prune` was asked to do, validated before any store is read. */
export interface PruneSettings {
  store: StoreSettings;
  /** Repositories (or file snapshot names) to prune; empty: everything in the destination. */
  repositories: string[];
  policy: RetentionPolicy;
  dryRun: boolean;
  /** Milliseconds: parts without a manifest older than this are orphans of interrupted runs. */
  orphanAge: number;
}

/** `now` is the time the orphan age counts back from (a month is not a fixed number of milliseconds). */
export function readPruneSettings(
  read: InputReader,
  now = new Date(),
  env: NodeJS.ProcessEnv = process.env,
): PruneSettings {
  const policy = readPolicy(read);
  const dryRun = boolean(read, 'dry-run', false);
  const orphanAge = readOrphanAge(read, now);
  const store = readStoreSettings(read, env);
  return { store, repositories: parseList(read('repositories')), policy, dryRun, orphanAge };
}

/** Reads `keep-*` inputs; each bad value is an InputError naming its input. */
export function readPolicy(read: InputReader): RetentionPolicy {
  const policy: RetentionPolicy = {};
  for (const { rule } of COUNT_RULES) {
    const count = parseCount(read, `keep-${rule}`);
    if (count !== undefined) policy[rule] = count;
  }
  const within = read('keep-within').trim();
  if (within !== '') {
    try {
      policy.within = parseDuration(within);
    } catch (error) {
      throw new InputError('keep-within', (error as Error).message);
    }
  }
  const tags = readTags(read, 'keep-tag');
  if (tags.length > 0) policy.tags = tags;
  return policy;
}

function parseCount(read: InputReader, name: string): number | undefined {
  const text = read(name).trim();
  if (text === '') return undefined;
  if (text.toLowerCase() === 'unlimited') return UNLIMITED;
  if (/^-\d+$/.test(text)) {
    throw new InputError(name, `"${text}" is negative. Give a count such as 7, or unlimited to keep all.`);
  }
  if (!/^\d{1,9}$/.test(text)) {
    throw new InputError(
      name,
      `"${text}" is not a whole number. Give a count such as 7, or unlimited to keep all.`,
    );
  }
  return Number(text);
}

/** Below this, prune could delete the parts of a backup that is uploading right now. */
const MIN_ORPHAN_AGE = 60 * 60 * 1000;

export function readOrphanAge(read: InputReader, now: Date): number {
  const text = read('orphan-age');
  if (!text) return DEFAULT_ORPHAN_AGE;
  let age: number;
  try {
    age = now.getTime() - subtractDuration(now.getTime(), parseDuration(text));
  } catch (error) {
    throw new InputError('orphan-age', `${errorMessage(error)}`);
  }
  if (age < MIN_ORPHAN_AGE) {
    throw new InputError(
      'orphan-age',
      `"${text}" is too short: use at least 1h, or parts of a backup still uploading could be deleted.`,
    );
  }
  return age;
}
