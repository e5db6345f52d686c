import type { RepositoryResult } from '../git/backup.js';
import type { PlanResult } from '../plan/shards.js';
import { packCount, type PruneResult } from '../retention/prune.js';
import { formatBytes, plural } from '../util/format.js';
import { redact } from '../util/secrets.js';
import type { VerifyReport } from '../verify/checker.js';

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

/** Job summary: a headline, a row per repository, and every decision in a folded list. */
export function pruneSummary(results: PruneResult[]): string {
  const units = results.flatMap((result) => result.units);
  const dryRun = results[0]?.dryRun ?? false;
  const removed = results.reduce((sum, result) => sum + result.snapshotsRemoved, 0);
  const freed = results.reduce((sum, result) => sum + result.bytesFreed, 0);
  const verb = dryRun ? 'would remove' : 'removed';
  const packs = packCount(units.flatMap((unit) => unit.packKeys));
  const packNotes = units.flatMap((unit) => [
    ...(unit.packKeys.length
      ? [
          `- ${unit.source}: ${verb} ${packCount(unit.packKeys)} unreferenced packs (${unit.packKeys.length} objects)`,
        ]
      : []),
    ...(unit.packError ? [`- ⚠️ ${unit.source}: ${unit.packError}`] : []),
  ]);
  const lines = [
    `## 🧹 Prune${dryRun ? ' (dry run)' : ''}: ${verb} ${removed} snapshots, ${formatBytes(freed)}${packs ? `, ${packs} unreferenced packs` : ''}`,
    '',
    '| Repository | Kept | Removed | Orphans | Freed |',
    '| --- | --- | --- | --- | --- |',
    ...units.map(
      (unit) =>
        `| ${unit.source} | ${unit.kept} | ${unit.removed} | ${unit.orphanKeys.length} | ${formatBytes(unit.bytesFreed)} |`,
    ),
    '',
    ...(packNotes.length ? [...packNotes, ''] : []),
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

/** The job summary: a headline with the counts and one row per shard. */
export function planSummary(plan: PlanResult): string {
  const n = plan.repositories.length;
  const rows = plan.shards.map((shard) => {
    const names = shard.repositories.split('\n');
    return `| ${shard.shard} | ${shard.count} | ${codeCell(names[0])} | ${codeCell(names[names.length - 1])} |`;
  });
  return redact(
    [
      `## 🗂️ Plan: ${n} ${n === 1 ? 'repository' : 'repositories'} in ${plan.shards.length} ${plan.shards.length === 1 ? 'shard' : 'shards'}`,
      '',
      '| Shard | Repositories | First | Last |',
      '| --- | --- | --- | --- |',
      ...rows,
      '',
    ].join('\n'),
  );
}

/** A name in a table cell, as code: a `|` would split the cell. */
function codeCell(text: string): string {
  return `\`${text.replace(/\|/g, '\\|').replace(/`/g, "'")}\``;
}
