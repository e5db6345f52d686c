import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BackupJob, BackupOptions } from '../git/backup.js';
import { parseEncryptionSettings } from '../crypto/age.js';
import { InputError } from '../util/errors.js';
import { resolveSource, type Source } from '../git/source.js';
import * as log from '../log/log.js';
import { addSecret } from '../util/secrets.js';
import {
  openStore,
  parseDestination,
  resolvePlaceholders,
  type StorageSettings,
  validateDestination,
} from '../store/destination.js';
import type { Store } from '../store/store.js';

/** Reads one input by its action.yml name; '' when not given. Actions and CLI each supply one. */
export type InputReader = (name: string) => string;

export interface BackupSettings {
  destination: string;
  storage: StorageSettings;
  /** Resolved, in the order given, each repository once. */
  sources: Source[];
  options: BackupOptions;
}

/** Parses and validates every input of `backup` before any work starts. */
export function readBackupSettings(read: InputReader, env: NodeJS.ProcessEnv = process.env): BackupSettings {
  const destination = required(read, 'destination');
  validateDestination(destination);
  const storage = readStorageSettings(read);
  const serverUrl = (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '');
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
    destination,
    storage,
    sources,
    options: {
      auth: { serverUrl, token: token || undefined },
      force: boolean(read, 'force', false),
      tags: readTags(read),
      concurrency: integer(read, 'concurrency', 4, 1, 64),
      mirrorRoot: path.resolve(mirrorDir),
      cacheMirrors: boolean(read, 'cache-mirrors', true),
      encryptTo: parseEncryptionSettings(read).encryptTo,
    },
  };
}

export function readStorageSettings(read: InputReader): StorageSettings {
  const endpoint = read('endpoint');
  if (endpoint && !isHttpUrl(endpoint)) {
    throw new InputError(
      'endpoint',
      `"${endpoint}" is not an http(s) URL. Example: https://s3.us-west-004.backblazeb2.com`,
    );
  }
  const r2AccountId = read('r2-account-id');
  addSecret(r2AccountId);
  if (r2AccountId && !/^[0-9a-f]{32}$/.test(r2AccountId)) {
    throw new InputError(
      'r2-account-id',
      'must be the 32 hexadecimal characters shown in the Cloudflare dashboard.',
    );
  }
  const r2Jurisdiction = (read('r2-jurisdiction') || 'default') as StorageSettings['r2Jurisdiction'];
  if (!['default', 'eu', 'fedramp'].includes(r2Jurisdiction!)) {
    throw new InputError('r2-jurisdiction', `"${r2Jurisdiction}" is not one of default, eu, fedramp.`);
  }
  const accessKeyId = read('access-key-id');
  const secretAccessKey = read('secret-access-key');
  const sessionToken = read('session-token');
  [accessKeyId, secretAccessKey, sessionToken].forEach(addSecret);
  if (Boolean(accessKeyId) !== Boolean(secretAccessKey)) {
    throw new InputError(
      accessKeyId ? 'secret-access-key' : 'access-key-id',
      'access-key-id and secret-access-key go together: give both, or neither to use the AWS environment.',
    );
  }
  if (sessionToken && !accessKeyId) {
    throw new InputError(
      'session-token',
      'belongs to the temporary access-key-id and secret-access-key it was issued with: give all three, or none to use the AWS environment.',
    );
  }
  const region = read('region');
  // AWS (eu-west-1), R2 (auto), B2 (us-west-004), MinIO (any such name): letters, digits and dashes.
  if (region && !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(region)) {
    throw new InputError(
      'region',
      `"${region}" is not a region name. Examples: eu-west-1, us-west-004, auto.`,
    );
  }
  const forcePathStyle = read('force-path-style');
  return {
    region: region || undefined,
    endpoint: endpoint || undefined,
    forcePathStyle: forcePathStyle === '' ? undefined : boolean(read, 'force-path-style', false),
    r2AccountId: r2AccountId || undefined,
    r2Jurisdiction,
    credentials: accessKeyId
      ? { accessKeyId, secretAccessKey, sessionToken: sessionToken || undefined }
      : undefined,
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

/**
 * Opens each repository's store (placeholders may give each its own bucket) and checks every distinct
 * store once, and the mirror folder, so that a wrong bucket, key or folder fails before any repository
 * is touched.
 */
export async function prepareJobs(settings: BackupSettings): Promise<BackupJob[]> {
  await checkWritableFolder('mirror-dir', settings.options.mirrorRoot);
  const stores = new Map<string, Store>();
  const jobs: BackupJob[] = [];
  for (const source of settings.sources) {
    const destination = resolvePlaceholders(settings.destination, source);
    let store = stores.get(destination);
    if (!store) {
      try {
        store = openStore(parseDestination(destination), settings.storage);
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        throw new InputError(error.input, `for ${source.spec}, ${destination}: ${error.problem}`);
      }
      stores.set(destination, store);
    }
    jobs.push({ source, store });
  }
  for (const store of stores.values()) await store.check({ create: true });
  return jobs;
}

async function checkWritableFolder(input: string, folder: string): Promise<void> {
  try {
    await fs.mkdir(folder, { recursive: true });
    await fs.access(folder, fs.constants.W_OK);
  } catch (error) {
    throw new InputError(
      input,
      `the folder ${folder} cannot be created or written (${(error as NodeJS.ErrnoException).code}). Give a writable folder.`,
    );
  }
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && !/\s/.test(text);
  } catch {
    return false;
  }
}

function defaultMirrorDir(env: NodeJS.ProcessEnv): string {
  if (env.RUNNER_TEMP) return path.join(env.RUNNER_TEMP, 'backup-action', 'mirrors');
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'backup-action', 'mirrors');
}

export function required(read: InputReader, name: string): string {
  const value = read(name);
  if (!value) throw new InputError(name, 'is required.');
  return value;
}

export function boolean(read: InputReader, name: string, fallback: boolean): boolean {
  const value = read(name);
  if (value === '') return fallback;
  if (value.toLowerCase() === 'true') return true;
  if (value.toLowerCase() === 'false') return false;
  throw new InputError(name, `"${value}" is not a boolean. Use true or false.`);
}

export function integer(read: InputReader, name: string, fallback: number, min: number, max: number): number {
  const value = read(name);
  if (value === '') return fallback;
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < min || number > max) {
    throw new InputError(name, `"${value}" is not a whole number from ${min} to ${max}.`);
  }
  return number;
}

/** A list of snapshot tags (the `tags` input, or `keep-tag`): up to 64 letters, digits, ".", "_", ":", "-". */
export function readTags(read: InputReader, input = 'tags'): string[] {
  const list = parseList(read(input));
  const bad = list.find((tag) => !/^[A-Za-z0-9._:-]{1,64}$/.test(tag));
  if (bad !== undefined) {
    throw new InputError(
      input,
      `"${bad}" is not a valid tag: use up to 64 letters, digits, ".", "_", ":" or "-".`,
    );
  }
  return list;
}

/** A list input: one item per line (commas also separate), `#` starts a comment. */
export function parseList(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line !== '');
}
