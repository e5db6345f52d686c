import * as log from '../log/log.js';
import type { VerifySettings } from '../settings/verify.js';
import { SNAPSHOT_KINDS, type SnapshotKind } from '../snapshot/manifest.js';
import { type VerifyReport, verifyStore } from '../verify/checker.js';
import { openUnits } from './selection.js';

/** `verify` (action and CLI): every selected store, every selected snapshot, every problem reported. */
export async function runVerify(
  settings: VerifySettings,
  now?: Date,
  kinds: SnapshotKind[] = SNAPSHOT_KINDS,
): Promise<VerifyReport[]> {
  const units = await openUnits(settings.store, settings.repositories, kinds);
  const reports: VerifyReport[] = [];
  for (const { store, kind, sources } of units) {
    const options = { kind, sources, now, decryptWith: settings.decryptWith };
    reports.push(await verifyStore(store, settings.check, options));
  }
  for (const report of reports) {
    for (const result of report.results.filter((r) => !r.ok)) {
      for (const problem of result.problems) {
        log.error(
          `${result.source} ${result.id}${problem.part ? ` ${problem.part}` : ''}: ${problem.message}`,
        );
      }
    }
    for (const missing of report.missing) log.error(missing);
  }
  return reports;
}
