import type { RepositoryResult } from '../git/backup.js';
import { redact } from '../util/secrets.js';

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

const STATUS = { created: '✅ new snapshot', unchanged: '⏸️ unchanged', failed: '❌ failed' };

/** The job summary of a backup run: a headline and one table row per repository. */
export function backupSummary(results: RepositoryResult[]): string {
  const failed = results.filter((result) => result.status === 'failed').length;
  const created = results.filter((result) => result.status === 'created').length;
  const bytes = results.reduce((sum, result) => sum + result.bytes, 0);
  const headline = failed
    ? `❌ Backup: ${failed} of ${results.length} ${plural(results.length, 'repository', 'repositories')} failed`
    : `✅ Backup: ${results.length} ${plural(results.length, 'repository', 'repositories')} safe, ${created} new, ${formatBytes(bytes)} uploaded`;
  const rows = results.map((result) =>
    [
      cell(result.repository),
      STATUS[result.status],
      result.snapshotId ? `\`${result.snapshotId}\`` : '',
      formatBytes(result.bytes),
      String(result.refs),
      `${(result.durationMs / 1000).toFixed(1)} s`,
      cell(result.error ?? ''),
    ].join(' | '),
  );
  return redact(
    [
      `## ${headline}`,
      '',
      '| Repository | Status | Snapshot | Uploaded | Refs | Time | Error |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...rows.map((row) => `| ${row} |`),
      '',
    ].join('\n'),
  );
}

/** Table cells hold user text: a `|` would split the cell, a newline the row. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function plural(count: number, one: string, many: string): string {
  return count === 1 ? one : many;
}
