import * as log from '../log/log.js';
import type { ListSettings } from '../settings/list.js';
import { readManifest } from '../snapshot/catalog.js';
import { type Manifest, SNAPSHOT_KINDS, type SnapshotKind } from '../snapshot/manifest.js';
import { errorMessage, InputError } from '../util/errors.js';
import { findSnapshots, openUnit } from './selection.js';

/** One line of `list`: a repository snapshot has refs, a file snapshot files. */
export interface ListRow {
  kind: SnapshotKind;
  repository: string;
  id: string;
  createdAt: string;
  size: number;
  refs?: number;
  empty?: boolean;
  files?: number;
  tags: string[];
}

export interface Listing {
  /** Where it looked, without secrets. */
  location: string;
  /** Grouped by repository (or snapshot name), newest first within each. */
  rows: ListRow[];
  /** Snapshots whose manifest could not be read (each logged as an error). */
  unreadable: number;
}

/** `list`: every snapshot of one repository (or of the whole destination) from its manifest. */
export async function runList(settings: ListSettings): Promise<Listing> {
  const { store, names } = await openUnit(settings.store, settings.repository);
  const snapshots = await findSnapshots(store, names, SNAPSHOT_KINDS);
  snapshots.sort(
    (a, b) => a.kind.localeCompare(b.kind) || a.source.localeCompare(b.source) || b.id.localeCompare(a.id),
  );
  const rows: ListRow[] = [];
  let unreadable = 0;
  for (const snapshot of snapshots) {
    let manifest: Manifest;
    try {
      manifest = await readManifest(store, snapshot);
    } catch (error) {
      // One broken or hostile manifest must not hide every other snapshot: it is named as an error,
      // the rest are listed, and the command fails at the end.
      if (error instanceof InputError) throw error;
      log.error(errorMessage(error));
      unreadable++;
      continue;
    }
    rows.push({
      kind: manifest.kind,
      repository: manifest.source,
      id: manifest.id,
      createdAt: manifest.createdAt,
      size: manifest.size,
      ...(manifest.kind === 'git'
        ? { refs: Object.keys(manifest.git.refs).length, empty: manifest.git.empty }
        : { files: manifest.files.count }),
      // Written by every version, but not required to read a snapshot (prune and report do the same).
      tags: Array.isArray(manifest.tags) ? manifest.tags : [],
    });
  }
  return { location: store.location, rows, unreadable };
}
