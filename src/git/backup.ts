import { pipeline } from 'node:stream';
import { mapLimit } from '../util/concurrency.js';
import { describeEncryption, encryptStream, type EncryptTo } from '../crypto/age.js';
import { errorMessage } from '../util/errors.js';
import { gitStream } from './git.js';
import { type GitAuth, mirrorPath, readRefs, sameRefs, updateMirror, withMirrorLock } from './mirror.js';
import { restoreMirror, saveMirror } from './mirror-cache.js';
import type { Source } from './source.js';
import * as log from '../log/log.js';
import { redact } from '../util/secrets.js';
import { idTime, listSnapshots, readGitManifest, type SnapshotRef } from '../snapshot/catalog.js';
import { HashingStream } from '../snapshot/hash.js';
import {
  FORMAT_VERSION,
  type GitManifest,
  MANIFEST_NAME,
  newSnapshotId,
  type Part,
  snapshotPrefix,
} from '../snapshot/manifest.js';
import type { Store } from '../store/store.js';
import { TOOL } from '../util/version.js';

export interface BackupJob {
  source: Source;
  store: Store;
}

export interface BackupOptions {
  auth: GitAuth;
  /** Write a snapshot even when nothing changed. */
  force: boolean;
  tags: string[];
  concurrency: number;
  /** Where mirrors are kept between runs. */
  mirrorRoot: string;
  /** Restore/save mirrors with @actions/cache when running in Actions. */
  cacheMirrors: boolean;
  /** Encrypt parts (age) to these recipients or this passphrase. */
  encryptTo?: EncryptTo;
  now?: () => Date;
}

export interface RepositoryResult {
  repository: string;
  source: string;
  destination: string;
  status: 'created' | 'unchanged' | 'failed';
  snapshotId?: string;
  /** Bytes uploaded by this run for this repository. */
  bytes: number;
  refs: number;
  durationMs: number;
  error?: string;
}

/** Backs up every job; a failing repository is recorded and the others go on. */
export function backupAll(jobs: BackupJob[], options: BackupOptions): Promise<RepositoryResult[]> {
  return mapLimit(jobs, options.concurrency, async (job) => {
    const started = Date.now();
    try {
      const result = await backupRepository(job, options);
      return { ...result, durationMs: Date.now() - started };
    } catch (error) {
      return {
        repository: job.source.spec,
        source: job.source.name,
        destination: job.store.location,
        status: 'failed' as const,
        bytes: 0,
        refs: 0,
        durationMs: Date.now() - started,
        error: redact(errorMessage(error)),
      };
    }
  });
}

async function backupRepository(
  job: BackupJob,
  options: BackupOptions,
): Promise<Omit<RepositoryResult, 'durationMs'>> {
  const mirror = mirrorPath(options.mirrorRoot, job.source);
  return withMirrorLock(mirror, () => backupWithMirror(job, mirror, options));
}

async function backupWithMirror(
  { source, store }: BackupJob,
  mirror: string,
  options: BackupOptions,
): Promise<Omit<RepositoryResult, 'durationMs'>> {
  const base = { repository: source.spec, source: source.name, destination: store.location };
  const cachedKey = options.cacheMirrors ? await restoreMirror(source, mirror) : undefined;
  const how = await updateMirror(source, mirror, options.auth);
  const state = await readRefs(mirror);
  const refCount = Object.keys(state.refs).length;
  log.info(`${source.spec}: ${how}${cachedKey ? ' (mirror from cache)' : ''}, ${refCount} refs`);
  // Saved once the snapshot is safe (or known unchanged), so that the next run fetches only what is new.
  const cacheMirror = async () => {
    if (options.cacheMirrors && refCount > 0) await saveMirror(source, mirror, state, cachedKey);
  };

  const newest = (await listSnapshots(store, 'git', source.name))[0];
  const previous = newest && (await readPrevious(store, newest, source));
  if (previous && !options.force && sameRefs(previous.git, state)) {
    log.info(`${source.spec}: unchanged since snapshot ${newest.id}; nothing uploaded`);
    await cacheMirror();
    return { ...base, status: 'unchanged', snapshotId: newest.id, bytes: 0, refs: refCount };
  }

  // Ids sort by time: never give a new snapshot a time at or before the newest one's (clock skew).
  const clock = (options.now ?? (() => new Date()))().getTime();
  const now = new Date(newest ? Math.max(clock, idTime(newest.id) + 1) : clock);
  const id = newSnapshotId(now);
  const folder = snapshotPrefix('git', source.name, id);
  const parts: Part[] = [];
  if (refCount > 0) parts.push(await uploadBundle(store, folder, mirror, options.encryptTo));

  const manifest: GitManifest = {
    format: 'backup-action-snapshot',
    formatVersion: FORMAT_VERSION,
    id,
    kind: 'git',
    source: source.name,
    url: source.url,
    createdAt: now.toISOString(),
    tool: TOOL,
    tags: options.tags,
    git: { empty: refCount === 0, objectFormat: state.objectFormat, head: state.head, refs: state.refs },
    parts,
    size: parts.reduce((sum, part) => sum + part.size, 0),
  };
  // Written last and never over an existing one: the manifest is what makes the snapshot exist. It
  // holds no secret by construction (the URL's credentials were taken out), so it is not redacted:
  // masking a short secret that happens to occur in a ref name would corrupt it.
  const body = Buffer.from(JSON.stringify(manifest, null, 2) + '\n');
  if (!(await store.createExclusive(`${folder}${MANIFEST_NAME}`, body))) {
    throw new Error(`snapshot ${id} already has a manifest; refusing to overwrite it`);
  }
  await cacheMirror();
  log.info(`${source.spec}: snapshot ${id} written, ${manifest.size} bytes`);
  return { ...base, status: 'created', snapshotId: id, bytes: manifest.size + body.length, refs: refCount };
}

/**
 * The newest manifest, to compare refs with. One that cannot be read must not block backups forever:
 * we warn and write a new snapshot. One of another repository under the same name is an error.
 */
async function readPrevious(
  store: Store,
  newest: SnapshotRef,
  source: Source,
): Promise<GitManifest | undefined> {
  let previous: GitManifest;
  try {
    previous = await readGitManifest(store, newest);
  } catch (error) {
    log.warning(
      `${source.spec}: newest snapshot ${newest.id} is unreadable (${errorMessage(error)}); writing a new one`,
    );
    return undefined;
  }
  if (previous.url !== source.url) {
    throw new Error(
      `${store.location} holds snapshots of ${previous.url} under the name ${source.name}, not of ${source.url}. ` +
        'Back this repository up to another destination (or rename one of the folders).',
    );
  }
  return previous;
}

/** git bundle → (age encryption) → SHA-256 and size on the way → store, as one stream. */
async function uploadBundle(
  store: Store,
  folder: string,
  mirror: string,
  encryptTo?: EncryptTo,
): Promise<Part> {
  const name = encryptTo ? 'repo.bundle.age' : 'repo.bundle';
  const hashing = new HashingStream();
  const bundle = gitStream(['bundle', 'create', '--quiet', '-', '--all'], { cwd: mirror });
  // pipeline() destroys every stream on the first error, so a failing git aborts the upload.
  if (encryptTo) pipeline(bundle, encryptStream(encryptTo), hashing, () => {});
  else pipeline(bundle, hashing, () => {});
  try {
    await store.upload(`${folder}${name}`, hashing);
  } catch (error) {
    hashing.destroy(); // and so git, through the pipeline
    throw error;
  }
  return {
    name,
    type: 'git-bundle',
    size: hashing.bytes,
    sha256: hashing.digest(),
    ...(encryptTo ? { encryption: describeEncryption(encryptTo) } : {}),
  };
}
