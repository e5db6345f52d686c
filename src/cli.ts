import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runBackup } from './commands/backup.js';
import { runList } from './commands/list.js';
import { runPrune } from './commands/prune.js';
import { runReport } from './commands/report.js';
import { runRestore } from './commands/restore.js';
import { runSnapshot } from './commands/snapshot.js';
import { runVerify } from './commands/verify.js';
import * as log from './log/log.js';
import { reportTable } from './report/table.js';
import { readBackupSettings } from './settings/backup.js';
import type { InputReader } from './settings/inputs.js';
import { readListSettings } from './settings/list.js';
import { readPruneSettings } from './settings/prune.js';
import { readReportSettings } from './settings/report.js';
import { parseSnapshotSelector, readRestoreSettings } from './settings/restore.js';
import { readSnapshotSettings } from './settings/snapshot.js';
import { readVerifySettings } from './settings/verify.js';
import { InputError } from './util/errors.js';
import { formatBytes } from './util/format.js';

export const USAGE = `Usage: backup-action <command> [options]

Commands:
  backup   --to <destination> --repo <owner/name | url | path> [--repo ...] [--force] [--tags a,b]
           [--concurrency n] [--mirror-dir dir]
  snapshot --to <destination> --name <name> --path <glob> [--path ...] [--compression zstd|gzip|none]
           [--tags a,b]   (paths relative to the current folder)
  list     --to <destination> [--repo <repository>] [--json]
  verify   --to <destination> [--repo <repository> ...] [--level manifest|read-data|restore]
           [--snapshot latest|all|<id>] [--subset n/t|auto/t] [--json]
  prune    --to <destination> [--repo <repository> ...] [--keep-last n] [--keep-hourly n] [--keep-daily n]
           [--keep-weekly n] [--keep-monthly n] [--keep-yearly n] [--keep-within 30d] [--keep-tag t]
           [--orphan-age 24h] [--dry-run] [--json]
  report   --to <destination> [--repo <repository> ...] [--max-age 26h] [--json]
  restore  --to <destination> --repo <repository> (--target <dir> | --to-repository <owner/name|url>)
           [--snapshot <latest|id|@time>] [--at <time>] [--force] [--dry-run] [--full-check]

Storage options (any command): --region, --endpoint, --force-path-style, --r2-account-id, --r2-jurisdiction.
Encryption (age): backup --encryption-recipients age1... (repeatable) or BACKUP_ACTION_PASSPHRASE;
restore/verify --encryption-identity-file <file> (or BACKUP_ACTION_IDENTITY, BACKUP_ACTION_PASSPHRASE).
Options take the names of the action's inputs (--destination is --to, --repositories is --repo).
Credentials come from the environment: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or any AWS profile)
for storage, GITHUB_TOKEN (or GH_TOKEN) for private GitHub repositories.`;

const OPTIONS = {
  to: { type: 'string' },
  destination: { type: 'string' },
  repo: { type: 'string', multiple: true },
  repositories: { type: 'string', multiple: true },
  force: { type: 'boolean' },
  tags: { type: 'string' },
  concurrency: { type: 'string' },
  'mirror-dir': { type: 'string' },
  region: { type: 'string' },
  endpoint: { type: 'string' },
  'force-path-style': { type: 'string' },
  'r2-account-id': { type: 'string' },
  'r2-jurisdiction': { type: 'string' },
  json: { type: 'boolean' },
  snapshot: { type: 'string' },
  at: { type: 'string' },
  target: { type: 'string' },
  'to-repository': { type: 'string' },
  'dry-run': { type: 'boolean' },
  'full-check': { type: 'boolean' },
  level: { type: 'string' },
  'max-age': { type: 'string' },
  path: { type: 'string', multiple: true },
  name: { type: 'string' },
  compression: { type: 'string' },
  'keep-last': { type: 'string' },
  'keep-hourly': { type: 'string' },
  'keep-daily': { type: 'string' },
  'keep-weekly': { type: 'string' },
  'keep-monthly': { type: 'string' },
  'keep-yearly': { type: 'string' },
  'keep-within': { type: 'string' },
  'keep-tag': { type: 'string', multiple: true },
  'orphan-age': { type: 'string' },
  'encryption-recipients': { type: 'string', multiple: true },
  'encryption-identity-file': { type: 'string' },
  subset: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

/** Runs one CLI command; returns the process exit code. */
export async function runCli(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  } catch (error) {
    throw new InputError('arguments', `${(error as Error).message}. Run backup-action --help for usage.`);
  }
  const { values, positionals } = parsed;
  if (values.json) log.sendProgressToStderr();
  const command = positionals[0];
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 1;
  }
  const read = inputReader(values);
  switch (command) {
    case 'backup':
      return backupCommand(read);
    case 'list':
      return listCommand(read, values);
    case 'restore':
      return restoreCommand(read, values);
    case 'verify':
      return verifyCommand(read, values);
    case 'prune':
      return pruneCommand(read, values);
    case 'snapshot':
      return snapshotCommand(read);
    case 'report':
      return reportCommand(read, values);
    default:
      throw new InputError(
        'command',
        `unknown command "${command}". Use backup, snapshot, list, restore, verify, prune or report.`,
      );
  }
}

/** Makes CLI flags look like action inputs, so both faces share one parser. */
function inputReader(values: Values): InputReader {
  const aliases: Record<string, string[]> = {
    destination: ['destination', 'to'],
    repositories: ['repositories', 'repo'],
    repository: ['repository', 'repo'],
  };
  return (name) => {
    if (name === 'token') return process.env.GITHUB_TOKEN || process.env.GH_TOKEN || '';
    if (name === 'cache-mirrors') return 'false';
    if (name === 'snapshot' && values.at) return `@${values.at}`;
    // Secrets come from the environment or a file, never from the command line (shell history, ps).
    if (name === 'encryption-passphrase') return process.env.BACKUP_ACTION_PASSPHRASE ?? '';
    if (name === 'encryption-identity') {
      const file = values['encryption-identity-file'];
      return file ? readIdentityFile(file) : (process.env.BACKUP_ACTION_IDENTITY ?? '');
    }
    for (const key of aliases[name] ?? [name]) {
      const value = (values as Record<string, unknown>)[key];
      if (Array.isArray(value)) return value.join('\n');
      if (typeof value === 'boolean') return String(value);
      if (typeof value === 'string') return value;
    }
    return '';
  };
}

/**
 * The environment as the CLI's settings see it: the repository the terminal is in is not a default
 * (the CLI always says what it backs up or restores).
 */
function cliEnv(): NodeJS.ProcessEnv {
  return { ...process.env, GITHUB_REPOSITORY: '' };
}

function readIdentityFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new InputError(
      'encryption-identity-file',
      `cannot read ${file} (${(error as NodeJS.ErrnoException).code}).`,
    );
  }
}

async function backupCommand(read: InputReader): Promise<number> {
  const results = await runBackup(readBackupSettings(read, cliEnv()));
  for (const result of results) {
    const what =
      result.status === 'failed' ? `FAILED: ${result.error}` : `${result.status} ${result.snapshotId}`;
    console.log(`${result.repository}: ${what} (${formatBytes(result.bytes)} uploaded)`);
  }
  const failed = results.filter((result) => result.status === 'failed').length;
  return failed > 0 ? 1 : 0;
}

async function listCommand(read: InputReader, values: Values): Promise<number> {
  const settings = readListSettings(read);
  const { location, rows, unreadable } = await runList(settings);
  const repository = settings.repository;
  if (values.json) {
    console.log(JSON.stringify(rows, null, 2));
    return unreadable > 0 ? 1 : 0;
  }
  if (rows.length === 0 && unreadable === 0)
    console.log(`no snapshots in ${location}${repository ? ` for ${repository}` : ''}`);
  let current = '';
  for (const row of rows) {
    if (row.repository !== current)
      console.log(`${(current = row.repository)}${row.kind === 'files' ? ' (files)' : ''}`);
    const what =
      row.kind === 'git' ? `${row.refs} refs${row.empty ? ' (empty repository)' : ''}` : `${row.files} files`;
    const tags = row.tags.length ? `  tags: ${row.tags.join(',')}` : '';
    console.log(`  ${row.id}  ${row.createdAt}  ${formatBytes(row.size).padStart(10)}  ${what}${tags}`);
  }
  return unreadable > 0 ? 1 : 0;
}

async function restoreCommand(read: InputReader, values: Values): Promise<number> {
  if (values.at) parseSnapshotSelector(`@${values.at}`, 'at'); // --at is the CLI's spelling of snapshot: @time
  const outcome = await runRestore(readRestoreSettings(read, cliEnv()));
  if (outcome.dryRun) return 0;
  const where = [outcome.path, outcome.pushedTo].filter(Boolean).join(' and ');
  console.log(
    outcome.kind === 'git'
      ? `restored ${outcome.source} snapshot ${outcome.snapshotId} into ${where}: ${outcome.refs} refs verified, git fsck clean`
      : `restored ${outcome.source} snapshot ${outcome.snapshotId} into ${where}: ${outcome.refs} entries, checksum verified`,
  );
  return 0;
}

async function verifyCommand(read: InputReader, values: Values): Promise<number> {
  const reports = await runVerify(readVerifySettings(read));
  const results = reports.flatMap((report) => report.results);
  if (values.json) console.log(JSON.stringify(reports, null, 2));
  else {
    for (const result of results) {
      const problems = result.problems.map((p) => `${p.part ? `${p.part}: ` : ''}${p.message}`).join('; ');
      console.log(
        `${result.ok ? 'ok    ' : 'FAILED'} ${result.source} ${result.id} (${result.level}) ${problems}`,
      );
    }
  }
  return reports.every((report) => report.ok) ? 0 : 1;
}

async function pruneCommand(read: InputReader, values: Values): Promise<number> {
  const results = await runPrune(readPruneSettings(read));
  if (values.json) console.log(JSON.stringify(results, null, 2));
  return 0;
}

async function snapshotCommand(read: InputReader): Promise<number> {
  const result = await runSnapshot(
    readSnapshotSettings(read, { ...process.env, GITHUB_WORKSPACE: process.cwd() }),
  );
  console.log(`snapshot ${result.snapshotId}: ${result.files} entries, ${formatBytes(result.bytes)} stored`);
  return 0;
}

async function reportCommand(read: InputReader, values: Values): Promise<number> {
  const report = await runReport(readReportSettings(read));
  console.log(values.json ? JSON.stringify(report, null, 2) : reportTable(report));
  return report.ok ? 0 : 1;
}
