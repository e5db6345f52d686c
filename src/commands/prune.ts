import * as log from '../log/log.js';
import { isEmptyPolicy } from '../retention/policy.js';
import { packCount, type PruneResult, pruneStore } from '../retention/prune.js';
import type { PruneSettings } from '../settings/prune.js';
import { SNAPSHOT_KINDS, type SnapshotKind } from '../snapshot/manifest.js';
import { openUnits } from './selection.js';

/** `prune` (action and CLI): the retention policy applied per repository, every decision explained. */
export async function runPrune(
  settings: PruneSettings,
  now = new Date(),
  kinds: SnapshotKind[] = SNAPSHOT_KINDS,
): Promise<PruneResult[]> {
  const { policy, dryRun, orphanAge } = settings;
  const units = await openUnits(settings.store, settings.repositories, kinds);
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
      if (unit.packKeys.length)
        log.info(
          `${unit.source}: ${packCount(unit.packKeys)} unreferenced packs (${unit.packKeys.length} objects) ${dryRun ? 'would be removed' : 'removed'}`,
        );
      if (unit.packError) log.warning(`${unit.source}: ${unit.packError}`);
      if (unit.error) log.warning(`${unit.source}: nothing removed: ${unit.error}`);
    }
    results.push(result);
  }
  return results;
}
