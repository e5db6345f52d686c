import { type FilesSnapshotResult, parseSnapshotSettings, snapshotFiles } from '../files/backup.js';
import type { InputReader } from '../settings/backup.js';
import { openUnit } from './selection.js';

/**
 * `snapshot` (action and CLI). {owner}/{repo} in the destination are those of the repository the
 * workflow runs in (GITHUB_REPOSITORY).
 */
export async function runSnapshot(read: InputReader, env = process.env): Promise<FilesSnapshotResult> {
  const settings = parseSnapshotSettings(read, env);
  const placeholders = /\{(owner|repo)\}/.test(read('destination'));
  const repository = placeholders ? env.GITHUB_REPOSITORY || undefined : undefined;
  const { store } = await openUnit(read, repository, { create: true });
  return snapshotFiles(store, settings);
}
