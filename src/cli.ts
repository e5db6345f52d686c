import { parseArgs } from 'node:util';
import { backupAll } from './backup.js';
import { InputError } from './errors.js';
import { resolveSource, type Source } from './git/source.js';
import {
  type InputReader,
  prepareJobs,
  readBackupSettings,
  readStorageSettings,
  required,
} from './inputs.js';
import { formatBytes } from './report/backup-summary.js';
import { restoreSnapshot } from './restore.js';
import { listSnapshots, readManifest, selectSnapshot, type SnapshotRef } from './snapshot/catalog.js';
import { SNAPSHOT_KINDS, type SnapshotKind } from './snapshot/manifest.js';
import {
  openStore,
  parseDestination,
  resolvePlaceholders,
  validateDestination,
} from './store/destination.js';
import type { Store } from './store/store.js';

export const USAGE = `Usage: backup-action <command> [options]

Commands:
  backup   --to <destination> --repo <owner/name | url | path> [--repo ...] [--force] [--tags a,b]
           [--concurrency n] [--mirror-dir dir]
  list     --to <destination> [--repo <repository>] [--json]
  restore  --to <destination> --repo <repository> --target <dir> [--snapshot <id|latest>] [--at <time>]

Storage options (any command): --region, --endpoint, --force-path-style, --r2-account-id, --r2-jurisdiction.
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
    default:
      throw new InputError('command', `unknown command "${command}". Use backup, list or restore.`);
  }
}

/** Makes CLI flags look like action inputs, so both faces share one parser. */
function inputReader(values: Values): InputReader {
  const aliases: Record<string, string[]> = {
    destination: ['destination', 'to'],
    repositories: ['repositories', 'repo'],
  };
  return (name) => {
    if (name === 'token') return process.env.GITHUB_TOKEN || process.env.GH_TOKEN || '';
    if (name === 'cache-mirrors') return 'false';
    for (const key of aliases[name] ?? [name]) {
      const value = (values as Record<string, unknown>)[key];
      if (Array.isArray(value)) return value.join('\n');
      if (typeof value === 'boolean') return String(value);
      if (typeof value === 'string') return value;
    }
    return '';
  };
}

async function backupCommand(read: InputReader): Promise<number> {
  // The repository the terminal is in is not a default: the CLI always says what it backs up.
  const settings = readBackupSettings(read, { ...process.env, GITHUB_REPOSITORY: '' });
  const results = await backupAll(await prepareJobs(settings), settings.options);
  for (const result of results) {
    const what =
      result.status === 'failed' ? `FAILED: ${result.error}` : `${result.status} ${result.snapshotId}`;
    console.log(`${result.repository}: ${what} (${formatBytes(result.bytes)} uploaded)`);
  }
  const failed = results.filter((result) => result.status === 'failed').length;
  return failed > 0 ? 1 : 0;
}

/**
 * The store for one repository (placeholders resolved) or for the whole destination, and the stored
 * names the repository may have: what `list` shows (github.com/owner/repo, local/name) or what was
 * given to backup (owner/repo, a URL, a path).
 */
async function openFor(read: InputReader, repository?: string): Promise<{ store: Store; names: string[] }> {
  const template = required(read, 'destination');
  validateDestination(template);
  const storage = readStorageSettings(read);
  let names: string[] = [];
  let destination = template;
  if (repository) {
    let resolved: Source | undefined;
    try {
      resolved = resolveSource(repository, process.env.GITHUB_SERVER_URL || 'https://github.com');
    } catch {
      // Not something backup would take: a stored name, then.
    }
    names = [...new Set([resolved?.name, repository.replace(/^\/+|\/+$/g, '')])].filter(
      (name) => name !== undefined,
    );
    const segments = repository.split('/').filter(Boolean);
    const repo = resolved?.repo ?? segments[segments.length - 1] ?? repository;
    const owner = resolved?.owner ?? segments[segments.length - 2] ?? repo;
    destination = resolvePlaceholders(template, { owner, repo });
  } else if (/\{(owner|repo)\}/.test(template)) {
    throw new InputError('repo', 'the destination has placeholders; name the repository with --repo.');
  }
  const store = openStore(parseDestination(destination), storage);
  await store.check();
  return { store, names };
}

/** Snapshots of the first name that has any (all snapshots when no name is given), newest first. */
async function findSnapshots(store: Store, names: string[], kinds: SnapshotKind[]): Promise<SnapshotRef[]> {
  if (names.length === 0) return (await Promise.all(kinds.map((kind) => listSnapshots(store, kind)))).flat();
  for (const name of names) {
    for (const kind of kinds) {
      const snapshots = await listSnapshots(store, kind, name);
      if (snapshots.length > 0) return snapshots;
    }
  }
  return [];
}

/** One line of `list`: a repository snapshot has refs, a file snapshot files. */
interface ListRow {
  kind: SnapshotKind;
  repository: string;
  id: string;
  createdAt: string;
  size: number;
  refs?: number;
  empty?: boolean;
  files?: number;
  tags: string[];
}

async function listCommand(read: InputReader, values: Values): Promise<number> {
  const repository = read('repositories') || undefined;
  const { store, names } = await openFor(read, repository);
  const snapshots = await findSnapshots(store, names, SNAPSHOT_KINDS);
  // Grouped by repository (or snapshot name), newest first within each.
  snapshots.sort(
    (a, b) => a.kind.localeCompare(b.kind) || a.source.localeCompare(b.source) || b.id.localeCompare(a.id),
  );
  const rows: ListRow[] = [];
  for (const snapshot of snapshots) {
    const manifest = await readManifest(store, snapshot);
    rows.push({
      kind: manifest.kind,
      repository: manifest.source,
      id: manifest.id,
      createdAt: manifest.createdAt,
      size: manifest.size,
      ...(manifest.kind === 'git'
        ? { refs: Object.keys(manifest.git.refs).length, empty: manifest.git.empty }
        : { files: manifest.files.count }),
      tags: manifest.tags,
    });
  }
  if (values.json) {
    console.log(JSON.stringify(rows, null, 2));
    return 0;
  }
  if (rows.length === 0)
    console.log(`no snapshots in ${store.location}${repository ? ` for ${repository}` : ''}`);
  let current = '';
  for (const row of rows) {
    if (row.repository !== current)
      console.log(`${(current = row.repository)}${row.kind === 'files' ? ' (files)' : ''}`);
    const what =
      row.kind === 'git' ? `${row.refs} refs${row.empty ? ' (empty repository)' : ''}` : `${row.files} files`;
    const tags = row.tags.length ? `  tags: ${row.tags.join(',')}` : '';
    console.log(`  ${row.id}  ${row.createdAt}  ${formatBytes(row.size).padStart(10)}  ${what}${tags}`);
  }
  return 0;
}

async function restoreCommand(read: InputReader, values: Values): Promise<number> {
  const repository = required(read, 'repositories');
  const target = required(read, 'target');
  let at: Date | undefined;
  if (values.at) {
    at = new Date(values.at);
    if (Number.isNaN(at.getTime()))
      throw new InputError('at', `"${values.at}" is not a time. Example: 2026-11-01T00:00Z`);
  }
  const { store, names } = await openFor(read, repository);
  const selector = values.snapshot || 'latest';
  const snapshot = selectSnapshot(await findSnapshots(store, names, ['git']), selector, at);
  if (!snapshot) {
    throw new InputError(
      'snapshot',
      `no snapshot of ${repository} matches ${at ? `--at ${values.at}` : selector} in ${store.location}.`,
    );
  }
  const result = await restoreSnapshot(store, snapshot, target);
  console.log(
    `restored ${result.manifest.source} snapshot ${snapshot.id} into ${result.target}: ${result.refs} refs verified, git fsck clean`,
  );
  return 0;
}
