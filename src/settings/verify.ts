import type { DecryptWith } from '../crypto/age.js';
import { SNAPSHOT_ID } from '../snapshot/manifest.js';
import { InputError } from '../util/errors.js';
import { type CheckSettings, LEVELS, type VerifyLevel } from '../verify/checker.js';
import { readStoreSettings, type StoreSettings } from './destination.js';
import { readEncryptionSettings } from './encryption.js';
import { type InputReader, parseList } from './inputs.js';

/** What `verify` was asked to do, validated before any store is read. */
export interface VerifySettings {
  store: StoreSettings;
  /** Repositories (or file snapshot names) to check; empty: everything in the destination. */
  repositories: string[];
  check: CheckSettings;
  /** Keys for encrypted snapshots (the restore level only). */
  decryptWith?: DecryptWith;
}

export function readVerifySettings(read: InputReader, env: NodeJS.ProcessEnv = process.env): VerifySettings {
  // In the order the inputs were always checked: what to check, the keys, then where.
  const check = readCheckSettings(read);
  const { decryptWith } = readEncryptionSettings(read);
  return {
    store: readStoreSettings(read, env),
    repositories: parseList(read('repositories')),
    check,
    decryptWith,
  };
}

/** `level`, `snapshot` and `subset`: what to check in each store. */
export function readCheckSettings(read: InputReader): CheckSettings {
  const check: CheckSettings = {
    level: readVerifyLevel(read('level'), 'level'),
    snapshot: readVerifiedSnapshot(read('snapshot')),
    subset: readSubset(read('subset'), 'subset'),
  };
  if (!check.subset) delete check.subset;
  return check;
}

/** A verify level; the root action also takes `none` (`orNone`), and names its input `verify-level`. */
export function readVerifyLevel(text: string, input: string): VerifyLevel;
export function readVerifyLevel(text: string, input: string, orNone: true): VerifyLevel | 'none';
export function readVerifyLevel(text: string, input: string, orNone = false): VerifyLevel | 'none' {
  const level = (text || 'read-data') as VerifyLevel | 'none';
  if (orNone && level === 'none') return level;
  if (!LEVELS.includes(level as VerifyLevel)) {
    throw new InputError(input, `"${level}" is not one of ${LEVELS.join(', ')}${orNone ? ', or none' : ''}.`);
  }
  return level;
}

function readVerifiedSnapshot(text: string): string {
  const snapshot = text || 'latest';
  if (snapshot !== 'latest' && snapshot !== 'all' && !SNAPSHOT_ID.test(snapshot)) {
    throw new InputError(
      'snapshot',
      `"${snapshot}" is not latest, all or a snapshot id (like 20261122T020000.123Z-1a2b3c4d).`,
    );
  }
  return snapshot;
}

/** `n/t` or `auto/t`; undefined when not given. */
export function readSubset(text: string, input: string): CheckSettings['subset'] {
  if (text === '') return undefined;
  const match = /^(auto|\d+)\/(\d+)$/.exec(text);
  const n = match?.[1] === 'auto' ? 'auto' : Number(match?.[1]);
  const t = Number(match?.[2]);
  if (!match || !Number.isSafeInteger(t) || t < 1 || (n !== 'auto' && (n < 1 || n > t))) {
    throw new InputError(
      input,
      `"${text}" is not n/t (check group n of t, 1 ≤ n ≤ t, e.g. 1/7) or auto/t (a different group each day).`,
    );
  }
  return { n, t };
}
