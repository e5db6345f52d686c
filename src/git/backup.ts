import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { mapLimit } from '../util/concurrency.js';
import type { EncryptTo } from '../crypto/age.js';
import { errorMessage } from '../util/errors.js';
import {
  droppedBytes,
  mirrorPack,
  packBase,
  presentObjects,
  StoredPacks,
  storePack,
  writePack,
} from './packs.js';
import { type GitAuth, mirrorPath, readRefs, sameRefs, updateMirror, withMirrorLock } from './mirror.js';
import { restoreMirror, saveMirror } from './mirror-cache.js';
import type { Source } from './source.js';
import * as log from '../log/log.js';
import { redact } from '../util/secrets.js';
import { idTime, listSnapshots, readGitManifest, type SnapshotRef } from '../snapshot/catalog.js';
import {
  type GitManifest,
  MANIFEST_NAME,
  newSnapshotId,
  PACKS_FORMAT_VERSION,
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
  const { parts, dropped } =
    refCount > 0
      ? await uploadPacks(store, source, mirror, state.refs, previous, options.encryptTo)
      : { parts: [], dropped: 0 };
  const added = parts.filter((part) => part.added).reduce((sum, part) => sum + part.size, 0);

  const manifest: GitManifest = {
    format: 'backup-action-snapshot',
    formatVersion: PACKS_FORMAT_VERSION,
    id,
    kind: 'git',
    source: source.name,
    url: source.url,
    createdAt: now.toISOString(),
    tool: TOOL,
    tags: options.tags,
    git: {
      empty: refCount === 0,
      objectFormat: state.objectFormat,
      head: state.head,
      refs: state.refs,
      droppedBytes: dropped,
    },
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
  log.info(
    `${source.spec}: snapshot ${id} written, ${added} bytes uploaded, ${manifest.size} bytes in its packs`,
  );
  return { ...base, status: 'created', snapshotId: id, bytes: added + body.length, refs: refCount };
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

/**
 * The snapshot's pack set: the previous snapshot's packs plus one new pack of what its refs do not
 * reach (or one full pack when the set starts afresh, see packBase), uploaded with its index.
 */
async function uploadPacks(
  store: Store,
  source: Source,
  mirror: string,
  refs: Record<string, string>,
  previous: GitManifest | undefined,
  encryptTo?: EncryptTo,
): Promise<{ parts: Part[]; dropped: number }> {
  const stored = await StoredPacks.list(store, source.name);
  const { base, fresh } = packBase(previous, stored, encryptTo);
  if (fresh) log.info(`${source.spec}: one full pack (${fresh})`);
  const oldTips = base ? await presentObjects(mirror, Object.values(base.refs)) : [];
  // Beside the mirror, not in it: git must never see these as the mirror's own packs.
  const folder = await fs.mkdtemp(path.join(path.dirname(mirror), '.pack-'));
  try {
    // A fresh set can often use the mirror's own pack (one pack of exactly what the refs reach).
    const written = (!base && (await mirrorPack(mirror))) || (await writePack(mirror, refs, oldTips, folder));
    const reused = base?.parts ?? [];
    // Content-addressed: a pack the set has already (the same objects) is not uploaded again.
    const known = written && reused.some((part) => part.pack === written.checksum);
    const uploaded = written && !known ? await storePack(store, source.name, written, stored, encryptTo) : [];
    const dropped = base ? base.droppedBytes + (await droppedBytes(mirror, oldTips, Object.values(refs))) : 0;
    return { parts: [...reused.map(withoutAdded), ...uploaded], dropped };
  } finally {
    await fs.rm(folder, { recursive: true, force: true });
  }
}

/** A reused part: listed again, but not added by this snapshot. */
function withoutAdded(part: Part): Part {
  const copy = { ...part };
  delete copy.added;
  return copy;
}
