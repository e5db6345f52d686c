import { errorMessage, InputError } from '../util/errors.js';
import { boolean, type InputReader, parseList } from '../settings/backup.js';
import * as log from '../log/log.js';
import { DEFAULT_ORPHAN_AGE, type PruneResult, pruneStore } from '../retention/prune.js';
import { formatBytes } from '../report/summaries.js';
import { parseDuration, subtractDuration } from '../retention/duration.js';
import { isEmptyPolicy, parsePolicy } from '../retention/policy.js';
import { openUnits } from './selection.js';
import { SNAPSHOT_KINDS, type SnapshotKind } from '../snapshot/manifest.js';

/** `prune` (action and CLI): the retention policy applied per repository, every decision explained. */
export async function runPrune(
  read: InputReader,
  now = new Date(),
  kinds: SnapshotKind[] = SNAPSHOT_KINDS,
): Promise<PruneResult[]> {
  const policy = parsePolicy(read);
  const dryRun = boolean(read, 'dry-run', false);
  const orphanAge = readOrphanAge(read, now);
  const units = await openUnits(read, parseList(read('repositories')), kinds);
  if (isEmptyPolicy(policy)) log.info('no keep-* rule given: no snapshot is removed (orphans still are)');
  const results: PruneResult[] = [];
  for (const { store, kind, sources } of units) {
    const result = await pruneStore(store, policy, { dryRun, orphanAge, now, kind, sources });
    for (const source of sources ?? []) {
      if (!result.units.some((unit) => unit.source === source))
        log.warning(`no snapshot of ${source} in ${store.location}`);
    }
    for (const unit of result.units) {
      for (const snapshot of unit.snapshots) {
        const verb = snapshot.keep ? 'keep  ' : dryRun ? 'would remove' : 'remove';
        log.info(`${unit.source} ${snapshot.id} ${verb}: ${snapshot.reasons.join(', ')}`);
      }
      if (unit.orphanKeys.length)
        log.info(`${unit.source}: ${unit.orphanKeys.length} orphaned objects of interrupted runs`);
      if (unit.error) log.warning(`${unit.source}: nothing removed: ${unit.error}`);
    }
    results.push(result);
  }
  return results;
}

/** Below this, prune could delete the parts of a backup that is uploading right now. */
const MIN_ORPHAN_AGE = 60 * 60 * 1000;

function readOrphanAge(read: InputReader, now: Date): number {
  const text = read('orphan-age');
  if (!text) return DEFAULT_ORPHAN_AGE;
  let age: number;
  try {
    age = now.getTime() - subtractDuration(now.getTime(), parseDuration(text));
  } catch (error) {
    throw new InputError('orphan-age', `${errorMessage(error)}`);
  }
  if (age < MIN_ORPHAN_AGE) {
    throw new InputError(
      'orphan-age',
      `"${text}" is too short: use at least 1h, or parts of a backup still uploading could be deleted.`,
    );
  }
  return age;
}

/** Job summary: a headline, a row per repository, and every decision in a folded list. */
export function pruneSummary(results: PruneResult[]): string {
  const units = results.flatMap((result) => result.units);
  const dryRun = results[0]?.dryRun ?? false;
  const removed = results.reduce((sum, result) => sum + result.snapshotsRemoved, 0);
  const freed = results.reduce((sum, result) => sum + result.bytesFreed, 0);
  const verb = dryRun ? 'would remove' : 'removed';
  const lines = [
    `## 🧹 Prune${dryRun ? ' (dry run)' : ''}: ${verb} ${removed} snapshots, ${formatBytes(freed)}`,
    '',
    '| Repository | Kept | Removed | Orphans | Freed |',
    '| --- | --- | --- | --- | --- |',
    ...units.map(
      (unit) =>
        `| ${unit.source} | ${unit.kept} | ${unit.removed} | ${unit.orphanKeys.length} | ${formatBytes(unit.bytesFreed)} |`,
    ),
    '',
    '<details><summary>Every decision</summary>',
    '',
    ...units.flatMap((unit) =>
      unit.snapshots.map(
        (s) => `- ${unit.source} \`${s.id}\`: ${s.keep ? 'kept' : verb} (${s.reasons.join(', ')})`,
      ),
    ),
    '',
    '</details>',
    '',
  ];
  return lines.join('\n');
}
