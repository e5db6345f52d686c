import * as os from 'node:os';
import * as path from 'node:path';
import type { BackupOptions } from '../git/backup.js';
import { resolveSource, type Source } from '../git/source.js';
import * as log from '../log/log.js';
import { InputError } from '../util/errors.js';
import { addSecret } from '../util/secrets.js';
import { readStoreSettings, type StoreSettings } from './destination.js';
import { readEncryptionSettings } from './encryption.js';
import { boolean, type InputReader, integer, parseList, readTags } from './inputs.js';

/** What `backup` was asked to do, validated before any work. */
export interface BackupSettings {
  store: StoreSettings;
  /** Resolved, in the order given, each repository once. */
  sources: Source[];
  options: BackupOptions;
}

/** Parses and validates every input of `backup` before any work starts. */
export function readBackupSettings(read: InputReader, env: NodeJS.ProcessEnv = process.env): BackupSettings {
  const store = readStoreSettings(read, env);
  const serverUrl = store.serverUrl;
  const token = read('token');
  addSecret(token);

  let repositories = parseList(read('repositories'));
  if (repositories.length === 0 && env.GITHUB_REPOSITORY) repositories = [env.GITHUB_REPOSITORY];
  if (repositories.length === 0) {
    throw new InputError('repositories', 'is empty. List owner/name, git URLs or local paths, one per line.');
  }
  // Resolve now so that a malformed line fails before anything is fetched or uploaded.
  const sources = uniqueSources(repositories.map((spec) => resolveSource(spec, serverUrl)));

  const mirrorDir = read('mirror-dir') || defaultMirrorDir(env);
  return {
    store,
    sources,
    options: {
      auth: { serverUrl, token: token || undefined },
      force: boolean(read, 'force', false),
      tags: readTags(read),
      concurrency: integer(read, 'concurrency', 4, 1, 64),
      mirrorRoot: path.resolve(mirrorDir),
      cacheMirrors: boolean(read, 'cache-mirrors', true),
      encryptTo: readEncryptionSettings(read).encryptTo,
    },
  };
}

/**
 * Two spellings of one repository (owner/name and its URL) are backed up once. Two repositories that
 * would be stored under one name (local folders with the same name) are an error.
 */
function uniqueSources(sources: Source[]): Source[] {
  const byName = new Map<string, Source>();
  for (const source of sources) {
    const other = byName.get(source.name);
    if (!other) byName.set(source.name, source);
    else if (other.url === source.url)
      log.warning(`repositories: "${source.spec}" is ${source.name} again; backing it up once.`);
    else {
      throw new InputError(
        'repositories',
        `"${other.spec}" and "${source.spec}" would both be stored as ${source.name}. Back them up in separate runs with different destinations.`,
      );
    }
  }
  return [...byName.values()];
}

function defaultMirrorDir(env: NodeJS.ProcessEnv): string {
  if (env.RUNNER_TEMP) return path.join(env.RUNNER_TEMP, 'backup-action', 'mirrors');
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'backup-action', 'mirrors');
}
