import * as log from '../log/log.js';
import { buildReport } from '../report/collect.js';
import type { Report } from '../report/report.js';
import { failureText } from '../report/text.js';
import type { ReportSettings } from '../settings/report.js';
import { SNAPSHOT_KINDS, type SnapshotKind } from '../snapshot/manifest.js';
import { openUnits } from './selection.js';

/**
 * `report` (action and CLI): the stores of the selected repositories (or the whole destination), each
 * failing unit logged as an error, named. Writing the JSON and the summary is the caller's.
 */
export async function runReport(
  settings: ReportSettings,
  now = new Date(),
  kinds: SnapshotKind[] = SNAPSHOT_KINDS,
): Promise<Report> {
  const stores = await openUnits(settings.store, settings.repositories, kinds);
  const report = await buildReport(stores, settings, now);
  for (const unit of report.units.filter((u) => u.verdict !== 'fresh')) log.error(failureText(unit, report));
  for (const problem of report.problems) log.error(problem);
  return report;
}
