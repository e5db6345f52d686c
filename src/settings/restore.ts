import * as path from 'node:path';
import type { DecryptWith } from '../crypto/age.js';
import type { GitAuth } from '../git/mirror.js';
import { resolveSource, type Source } from '../git/source.js';
import { SNAPSHOT_ID } from '../snapshot/manifest.js';
import { InputError } from '../util/errors.js';
import { addSecret } from '../util/secrets.js';
import { readStoreSettings, type StoreSettings } from './destination.js';
import { readEncryptionSettings } from './encryption.js';
import { boolean, type InputReader, serverUrlOf } from './inputs.js';

/** What `restore` (action and CLI) was asked to do, validated before any work. */
export interface RestoreSettings {
  store: StoreSettings;
  /** The repository, or (with `files`) the file snapshot name. */
  repository: string;
  /** Restore a file snapshot (the `name` input) rather than a repository. */
  files: boolean;
  selector: string;
  at?: Date;
  /** Folder to restore into; a temporary one when only pushing. */
  target?: string;
  toRepository?: Source;
  force: boolean;
  dryRun: boolean;
  /** Re-hash every object (`git fsck --full`) besides checking the parts, connectivity and refs. */
  fullCheck: boolean;
  auth: GitAuth;
  decryptWith?: DecryptWith;
}

export function readRestoreSettings(
  read: InputReader,
  env: NodeJS.ProcessEnv = process.env,
): RestoreSettings {
  const name = read('name');
  const repository = name || read('repository') || env.GITHUB_REPOSITORY || '';
  if (!repository) {
    throw new InputError('repository', 'is required: the repository whose snapshot to restore.');
  }
  if (name && read('to-repository')) {
    throw new InputError(
      'to-repository',
      'only repositories can be pushed; a file snapshot (name) restores into target.',
    );
  }
  const serverUrl = serverUrlOf(env);
  const token = read('token');
  addSecret(token);
  const toRepository = read('to-repository') ? remoteOf(read('to-repository'), serverUrl) : undefined;
  const target = read('target') ? path.resolve(read('target')) : undefined;
  if (!target && !toRepository) {
    throw new InputError('target', 'is required unless to-repository is given: the folder to restore into.');
  }
  return {
    repository,
    files: Boolean(name),
    ...parseSnapshotSelector(read('snapshot')),
    target,
    toRepository,
    force: boolean(read, 'force', false),
    dryRun: boolean(read, 'dry-run', false),
    fullCheck: boolean(read, 'full-check', false),
    auth: { serverUrl, token: token || undefined },
    decryptWith: readEncryptionSettings(read).decryptWith,
    // Where last: the restore's own inputs are checked first (the target folder's emptiness, which
    // reads the disk, only once every input is valid: see runRestore).
    store: readStoreSettings(read, env),
  };
}

function remoteOf(spec: string, serverUrl: string): Source {
  try {
    return resolveSource(spec, serverUrl);
  } catch (error) {
    if (error instanceof InputError) throw new InputError('to-repository', error.problem);
    throw error;
  }
}

/** `latest`, a snapshot id, or `@<time>` (the newest at or before it), as the `snapshot` input takes. */
export function parseSnapshotSelector(text: string, input = 'snapshot'): { selector: string; at?: Date } {
  if (!text.startsWith('@')) {
    // Checked here, before the store is read: anything else used to be looked up as an id and reported
    // as "no snapshot matches" only after listing the store.
    if (text !== '' && text !== 'latest' && !SNAPSHOT_ID.test(text)) {
      throw new InputError(
        input,
        `"${text}" is not latest, a snapshot id (like 20261122T020000.123Z-1a2b3c4d) or @<time> (like @2026-11-01T00:00Z).`,
      );
    }
    return { selector: text || 'latest' };
  }
  const at = new Date(text.slice(1));
  if (Number.isNaN(at.getTime())) {
    throw new InputError(input, `"${text}" is not a time. Write @2026-11-01T00:00Z, an id, or latest.`);
  }
  return { selector: 'latest', at };
}
