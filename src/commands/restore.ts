import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { restoreFiles } from '../files/restore.js';
import { pushToRemote, restoreSnapshot } from '../git/restore.js';
import * as log from '../log/log.js';
import type { RestoreSettings } from '../settings/restore.js';
import { errorMessage, InputError } from '../util/errors.js';
import { formatBytes } from '../util/format.js';
import { findSnapshots, openUnit } from './selection.js';
import { readGitManifest, selectSnapshot, type SnapshotRef } from '../snapshot/catalog.js';
import { checkTarget } from '../snapshot/download.js';
import type { SnapshotKind } from '../snapshot/manifest.js';
import type { Store } from '../store/store.js';

export interface RestoreOutcome {
  snapshotId: string;
  kind: SnapshotKind;
  source: string;
  /** Where the repository was restored (absent for a dry run or a push-only restore). */
  path?: string;
  /** Refs restored (repositories) or entries written (file snapshots). */
  refs: number;
  bytes: number;
  pushedTo?: string;
  dryRun: boolean;
}

/** Finds the snapshot, proves it while restoring it, and pushes it on when asked. */
export async function runRestore(settings: RestoreSettings): Promise<RestoreOutcome> {
  // A target that is not a new or empty folder fails before the store is opened or read (the restore
  // checks it again before writing).
  if (settings.target) await checkTarget(settings.target);
  const { store, names } = await openUnit(settings.store, settings.repository);
  const kind: SnapshotKind = settings.files ? 'files' : 'git';
  const snapshot = selectSnapshot(await findSnapshots(store, names, [kind]), settings.selector, settings.at);
  if (!snapshot) {
    const wanted = settings.at ? `a time at or before ${settings.at.toISOString()}` : settings.selector;
    throw new InputError(
      'snapshot',
      `no snapshot of ${settings.repository} matches ${wanted} in ${store.location}.`,
    );
  }
  try {
    return await restoreFound(store, snapshot, kind, settings);
  } catch (error) {
    // Every failure names the snapshot: git's own messages ("restored refs differ from the manifest",
    // "git fetch failed") do not. InputErrors stay as they are: they name the input to fix.
    const what = `${snapshot.source} ${snapshot.id}`;
    if (error instanceof InputError || errorMessage(error).includes(what)) throw error;
    throw new Error(`${what}: ${errorMessage(error)}`, { cause: error });
  }
}

async function restoreFound(
  store: Store,
  snapshot: SnapshotRef,
  kind: SnapshotKind,
  settings: RestoreSettings,
): Promise<RestoreOutcome> {
  const base = { snapshotId: snapshot.id, source: snapshot.source, kind, dryRun: settings.dryRun };
  if (settings.files) {
    const { manifest, entries } = await restoreFiles(store, snapshot, settings.target!, {
      dryRun: settings.dryRun,
      keys: settings.decryptWith,
    });
    const verb = settings.dryRun ? 'dry run: would write' : 'wrote';
    for (const entry of entries)
      log.info(`${verb} ${entry.type} ${entry.path}${entry.type === 'file' ? ` (${entry.size} B)` : ''}`);
    return {
      ...base,
      path: settings.dryRun ? undefined : settings.target,
      refs: entries.length,
      bytes: manifest.size,
    };
  }
  if (settings.dryRun) {
    const manifest = await readGitManifest(store, snapshot);
    const refs = Object.keys(manifest.git.refs);
    const where = [settings.target, settings.toRepository?.spec].filter(Boolean).join(' and ');
    log.info(
      `dry run: would restore ${refs.length} refs (${formatBytes(manifest.size)}) of ${snapshot.source} ${snapshot.id} into ${where}`,
    );
    for (const ref of refs) log.info(`  ${manifest.git.refs[ref]} ${ref}`);
    return { ...base, refs: refs.length, bytes: manifest.size };
  }
  const target =
    settings.target ??
    path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'backup-action-push-')), 'repository.git');
  try {
    const restored = await restoreSnapshot(store, snapshot, target, settings.decryptWith, {
      fullCheck: settings.fullCheck,
    });
    const outcome: RestoreOutcome = {
      ...base,
      path: settings.target,
      refs: restored.refs,
      bytes: restored.manifest.size,
    };
    if (settings.toRepository) {
      outcome.refs = await pushToRemote(target, settings.toRepository, settings.auth, settings.force);
      outcome.pushedTo = settings.toRepository.spec;
    }
    return outcome;
  } finally {
    if (!settings.target) await fs.rm(path.dirname(target), { recursive: true, force: true });
  }
}
