import { parseEncryptionSettings } from '../crypto/age.js';
import { type InputReader, parseList } from '../settings/backup.js';
import * as log from '../log/log.js';
import { formatBytes } from '../report/summaries.js';
import { openUnits } from './selection.js';
import { SNAPSHOT_KINDS, type SnapshotKind } from '../snapshot/manifest.js';
import { parseVerifySettings, type VerifyReport, verifyStore } from '../verify/checker.js';

/** `verify` (action and CLI): every selected store, every selected snapshot, every problem reported. */
export async function runVerify(
  read: InputReader,
  now?: Date,
  kinds: SnapshotKind[] = SNAPSHOT_KINDS,
): Promise<VerifyReport[]> {
  const settings = parseVerifySettings(read);
  const { decryptWith } = parseEncryptionSettings(read);
  const units = await openUnits(read, parseList(read('repositories')), kinds);
  const reports: VerifyReport[] = [];
  for (const { store, kind, sources } of units) {
    reports.push(await verifyStore(store, settings, { kind, sources, now, decryptWith }));
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

/** Job summary: a headline, then a row per snapshot checked (failures first). */
export function verifySummary(reports: VerifyReport[]): string {
  const results = reports.flatMap((report) => report.results).sort((a, b) => Number(a.ok) - Number(b.ok));
  const failed = results.filter((result) => !result.ok).length;
  const missing = reports.flatMap((report) => report.missing);
  const level = reports[0]?.level ?? 'read-data';
  const subset = reports[0]?.subset ? `, subset ${reports[0].subset.n}/${reports[0].subset.t}` : '';
  const headline =
    failed || missing.length
      ? `❌ Verify (${level}${subset}): ${failed} of ${results.length} snapshots failed${missing.length ? `, ${missing.length} missing` : ''}`
      : `✅ Verify (${level}${subset}): ${results.length} snapshots proven`;
  const rows = results.map((result) =>
    [
      result.source,
      `\`${result.id}\``,
      result.ok ? '✅' : '❌',
      formatBytes(result.bytesRead),
      result.problems
        .map((p) => `${p.part ? `${p.part}: ` : ''}${p.message}`.replace(/\|/g, '\\|'))
        .join('<br>'),
    ].join(' | '),
  );
  return [
    `## ${headline}`,
    '',
    ...missing.map((text) => `- ❌ ${text}`),
    '| Repository | Snapshot | Result | Read | Problems |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((row) => `| ${row} |`),
    '',
  ].join('\n');
}
