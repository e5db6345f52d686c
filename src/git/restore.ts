import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { DecryptWith } from '../crypto/age.js';
import { errorMessage, InputError } from '../util/errors.js';
import { mapLimit } from '../util/concurrency.js';
import { configEnvironment, git } from './git.js';
import { authEnvironment, type GitAuth, readRefs } from './mirror.js';
import type { Source } from './source.js';
import { readGitManifest, type SnapshotRef } from '../snapshot/catalog.js';
import { checkTarget, createFolders, downloadVerified } from '../snapshot/download.js';
import type { GitManifest } from '../snapshot/manifest.js';
import type { Store } from '../store/store.js';

export interface RestoreResult {
  manifest: GitManifest;
  target: string;
  refs: number;
}

export interface RestoreOptions {
  /**
   * Also re-hash every object (`git fsck --full`). Without it a pack-set snapshot is proven by every
   * part's SHA-256, connectivity (every object a ref reaches is there) and its refs: download-bound.
   * A bundle snapshot (format 1) is always fully checked.
   */
  fullCheck?: boolean;
}

/**
 * Restores a repository snapshot into a bare mirror at `target`, proving it on the way: every part's
 * size and SHA-256, `git fsck` (connectivity, or `--full`), and every ref against the manifest.
 */
export async function restoreSnapshot(
  store: Store,
  snapshot: SnapshotRef,
  target: string,
  keys?: DecryptWith,
  options: RestoreOptions = {},
): Promise<RestoreResult> {
  const manifest = await readGitManifest(store, snapshot);
  target = path.resolve(target);
  await checkTarget(target);
  // Everything happens in a staging folder beside the target; only a proven repository is moved there.
  // The folders created on the way to the target are removed again if the restore fails.
  const removeCreatedFolders = await createFolders(path.dirname(target));
  let staging: string;
  try {
    staging = await fs.mkdtemp(path.join(path.dirname(target), '.restore-'));
  } catch (error) {
    await removeCreatedFolders();
    throw error;
  }
  const repository = path.join(staging, 'repository.git');
  let refs: number;
  let restored = false;
  try {
    await git([
      'init',
      '--quiet',
      '--bare',
      `--object-format=${manifest.git.objectFormat || 'sha1'}`,
      repository,
    ]);
    const packs = manifest.formatVersion >= 2;
    if (packs) await placePacks(store, snapshot, manifest, repository, keys);
    else await fetchBundles(store, snapshot, manifest, staging, repository, keys);
    if (manifest.git.head) await git(['symbolic-ref', 'HEAD', manifest.git.head], { cwd: repository });
    // A restored mirror can be fetched into again, like the one it was made from.
    await git(['remote', 'add', '--mirror=fetch', 'origin', manifest.url], { cwd: repository });
    const depth = packs && !options.fullCheck ? '--connectivity-only' : '--full';
    await git(['fsck', depth, '--no-dangling', '--no-progress'], {
      cwd: repository,
      env: LEGACY_FORMAT_AS_WARNINGS,
    });
    refs = await compareRefs(repository, manifest.git.refs);
    // rmdir, not rm -r: if anything was written into the target meanwhile, fail rather than delete it.
    if (existsSync(target)) await fs.rmdir(target);
    await fs.rename(repository, target);
    restored = true;
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
    if (!restored) await removeCreatedFolders();
  }
  return { manifest, target, refs };
}

/** Downloads concurrently, at most this many parts at once. */
const DOWNLOADS = 4;

/**
 * Format 2: every pack and index goes straight into objects/pack/, its SHA-256 checked while it
 * streams (nothing is re-hashed by git); then the refs are written from the manifest.
 */
async function placePacks(
  store: Store,
  snapshot: SnapshotRef,
  manifest: GitManifest,
  repository: string,
  keys?: DecryptWith,
): Promise<void> {
  const folder = path.join(repository, 'objects', 'pack');
  await mapLimit(manifest.parts, DOWNLOADS, async (part) => {
    // Written under a temporary name: git never sees a pack whose index (or bytes) is not proven yet.
    const file = path.join(folder, part.name.replace(/\.age$/, ''));
    await downloadVerified(store, snapshot, part, `${file}.part`, keys);
    await fs.rename(`${file}.part`, file);
  });
  const refs = Object.entries(manifest.git.refs);
  if (refs.length > 0) {
    const commands = refs.map(([ref, id]) => `create ${ref} ${id}\n`).join('');
    await git(['update-ref', '--stdin'], { cwd: repository, input: commands });
  }
}

/** Format 1: each bundle is fetched, which indexes it and so checks every object's hash. */
async function fetchBundles(
  store: Store,
  snapshot: SnapshotRef,
  manifest: GitManifest,
  staging: string,
  repository: string,
  keys?: DecryptWith,
): Promise<void> {
  await fs.mkdir(path.join(staging, 'parts'));
  for (const part of manifest.parts) {
    const file = path.join(staging, 'parts', part.name);
    await downloadVerified(store, snapshot, part, file, keys);
    // `git bundle verify` would not check the objects' hashes.
    await git(['fetch', '--quiet', '--no-write-fetch-head', file, '+refs/*:refs/*'], { cwd: repository });
    await fs.rm(file);
  }
}

/**
 * Malformed-but-valid history that old tools wrote (a "+05" timezone, an odd e-mail) is backed up
 * faithfully, so it must restore: fsck reports it as a warning. Hashes and connectivity stay errors.
 */
const LEGACY_FORMAT_MESSAGES = [
  'badDate',
  'badDateOverflow',
  'badEmail',
  'badName',
  'badTimezone',
  'missingEmail',
  'missingNameBeforeEmail',
  'missingSpaceBeforeDate',
  'missingSpaceBeforeEmail',
  'multipleAuthors',
  'zeroPaddedDate',
];
const LEGACY_FORMAT_AS_WARNINGS = configEnvironment(
  LEGACY_FORMAT_MESSAGES.map((id) => [`fsck.${id}`, 'warn']),
);

/** Fails unless the repository has exactly the manifest's refs; returns their number. */
async function compareRefs(repository: string, expected: Record<string, string>): Promise<number> {
  const restored = (await readRefs(repository)).refs;
  const names = new Set([...Object.keys(expected), ...Object.keys(restored)]);
  const mismatched = [...names].filter((ref) => expected[ref] !== restored[ref]);
  if (mismatched.length > 0) {
    throw new Error(`restored refs differ from the manifest: ${mismatched.slice(0, 5).join(', ')}`);
  }
  return names.size;
}

/**
 * Pushes every ref of a restored mirror to `remote`. An existing repository with refs is refused unless
 * `force`, and even then nothing is deleted there: refs are created or moved, never pruned. GitHub's
 * read-only `refs/pull/*` are left out (a negative refspec).
 */
export async function pushToRemote(
  repository: string,
  remote: Source,
  auth: GitAuth,
  force: boolean,
): Promise<number> {
  const env = authEnvironment(remote, auth);
  let existing: string;
  try {
    existing = await git(['ls-remote', '--', remote.url], { env });
  } catch (error) {
    throw new InputError(
      'to-repository',
      `cannot reach ${remote.spec}: ${errorMessage(error)}. Create it first, and give a token that can push to it.`,
    );
  }
  const count = existing.split('\n').filter(Boolean).length;
  if (count > 0 && !force) {
    throw new InputError(
      'to-repository',
      `${remote.spec} already has ${count} refs. Restore into an empty repository, or set force: true to overwrite refs (none are deleted).`,
    );
  }
  await git(['push', '--quiet', '--', remote.url, '+refs/*:refs/*', '^refs/pull/*'], {
    cwd: repository,
    env,
  });
  return Object.keys((await readRefs(repository)).refs).filter((ref) => !ref.startsWith('refs/pull/')).length;
}
