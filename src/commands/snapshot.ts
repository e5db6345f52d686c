import { type FilesSnapshotResult, snapshotFiles } from '../files/backup.js';
import type { SnapshotSettings } from '../settings/snapshot.js';
import { openUnit } from './selection.js';

/** `snapshot` (action and CLI): the selected files → one streamed, verified snapshot. */
export async function runSnapshot(settings: SnapshotSettings): Promise<FilesSnapshotResult> {
  const { store } = await openUnit(settings.store, settings.repository, { create: true });
  return snapshotFiles(store, settings.files);
}
