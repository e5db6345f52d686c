import * as path from 'node:path';
import {
  type Compression,
  defaultCompression,
  type FilesSnapshotSettings,
  zstdAvailable,
} from '../files/backup.js';
import { SNAPSHOT_ID } from '../snapshot/manifest.js';
import { InputError } from '../util/errors.js';
import { readStoreSettings, type StoreSettings } from './destination.js';
import { readEncryptionSettings } from './encryption.js';
import { type InputReader, readTags, required } from './inputs.js';

/** What `snapshot` (files) was asked to do; the files themselves are selected when it runs. */
export interface SnapshotSettings {
  store: StoreSettings;
  files: FilesSnapshotSettings;
  /** The repository whose {owner}/{repo} fill the destination's placeholders, when it has any. */
  repository?: string;
}

/** Parses and validates the inputs of a file snapshot; files are selected when it runs. */
export function readSnapshotSettings(
  read: InputReader,
  env: NodeJS.ProcessEnv = process.env,
): SnapshotSettings {
  const files = readFilesSettings(read, env);
  // {owner}/{repo} in the destination are those of the repository the workflow runs in.
  const store = readStoreSettings(read, env);
  const placeholders = /\{(owner|repo)\}/.test(store.destination);
  return { store, files, repository: placeholders ? env.GITHUB_REPOSITORY || undefined : undefined };
}

export function readFilesSettings(read: InputReader, env: NodeJS.ProcessEnv): FilesSnapshotSettings {
  const patterns = required(read, 'path');
  return {
    name: snapshotName(required(read, 'name')),
    patterns,
    baseDir: path.resolve(env.GITHUB_WORKSPACE || process.cwd()),
    compression: compression(read('compression')),
    tags: readTags(read),
    encryptTo: readEncryptionSettings(read).encryptTo,
  };
}

function snapshotName(name: string): string {
  const segments = name.split('/');
  const bad = segments.find(
    (segment) => !/^[A-Za-z0-9._-]+$/.test(segment) || segment === '.' || segment === '..',
  );
  if (bad !== undefined || name.length > 200) {
    throw new InputError(
      'name',
      `"${name}" is not a valid name: use letters, digits, ".", "_" and "-", with "/" between parts (no empty, "." or ".." part), up to 200 characters.`,
    );
  }
  // A part shaped like a snapshot id would make `a/<id>` look like a snapshot of `a`.
  if (segments.some((segment) => SNAPSHOT_ID.test(segment))) {
    throw new InputError('name', `"${name}" has a part shaped like a snapshot id; choose another name.`);
  }
  return name;
}

function compression(value: string): Compression {
  if (value === '') return defaultCompression();
  if (value !== 'zstd' && value !== 'gzip' && value !== 'none') {
    throw new InputError('compression', `"${value}" is not one of zstd, gzip, none.`);
  }
  if (value === 'zstd' && !zstdAvailable()) {
    throw new InputError(
      'compression',
      `zstd needs Node.js 22.15 or later, or the zstd command on PATH (this is Node.js ${process.versions.node}). Use gzip.`,
    );
  }
  return value;
}
