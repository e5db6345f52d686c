import { resolveSource, type Source } from '../git/source.js';
import type { StoreSettings } from '../settings/destination.js';
import { listSnapshots, type SnapshotRef } from '../snapshot/catalog.js';
import type { SnapshotKind } from '../snapshot/manifest.js';
import { openStore, parseDestination, resolvePlaceholders } from '../store/destination.js';
import type { Store } from '../store/store.js';
import { InputError } from '../util/errors.js';

/**
 * Finding snapshots after the fact (list, restore, verify, prune): the store of one repository or
 * snapshot name (placeholders resolved), and the names it may be stored under.
 */
export interface Unit {
  store: Store;
  /** What `list` shows (github.com/owner/repo, local/name, a file snapshot's name) or what backup was given. */
  names: string[];
}

/**
 * The store for one repository (placeholders resolved) or for the whole destination, and the stored
 * names the repository may have: what `list` shows (github.com/owner/repo, local/name) or what was
 * given to backup (owner/repo, a URL, a path).
 */
export async function openUnit(
  settings: StoreSettings,
  repository?: string,
  { create = false } = {},
): Promise<Unit> {
  const template = settings.destination;
  let names: string[] = [];
  let destination = template;
  if (repository) {
    let resolved: Source | undefined;
    try {
      resolved = resolveSource(repository, settings.serverUrl);
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
    throw new InputError(
      'repositories',
      'the destination has {owner}/{repo} placeholders: name the repositories (--repo in the CLI).',
    );
  }
  const store = openStore(parseDestination(destination), settings.storage);
  await store.check({ create });
  return { store, names };
}

/** Snapshots of the first name that has any (all snapshots when no name is given), newest first. */
export async function findSnapshots(
  store: Store,
  names: string[],
  kinds: SnapshotKind[],
): Promise<SnapshotRef[]> {
  if (names.length === 0) return (await Promise.all(kinds.map((kind) => listSnapshots(store, kind)))).flat();
  for (const name of names) {
    for (const kind of kinds) {
      const snapshots = await listSnapshots(store, kind, name);
      if (snapshots.length > 0) return snapshots;
    }
  }
  return [];
}

/** A store and, per kind, the stored names selected in it (absent: everything of that kind). */
export interface UnitSelection {
  store: Store;
  kind?: SnapshotKind;
  sources?: string[];
}

/**
 * Which stores hold which of the given repositories (or file snapshot names), resolved per kind: a
 * name is matched against git snapshots and file snapshots separately, so `myorg/site` selects the
 * repository github.com/myorg/site and the file series myorg/site, each under its own kind. A name with
 * no snapshot at all stays selected (as a repository), so that verify reports it missing.
 */
export async function openUnits(
  settings: StoreSettings,
  repositories: string[],
  kinds: SnapshotKind[],
): Promise<UnitSelection[]> {
  if (repositories.length === 0) return [{ store: (await openUnit(settings)).store }];
  const selections = new Map<string, { store: Store; kind: SnapshotKind; sources: string[] }>();
  const add = (store: Store, kind: SnapshotKind, source: string) => {
    const key = `${kind} ${store.location}`;
    const entry = selections.get(key) ?? { store, kind, sources: [] };
    selections.set(key, entry);
    entry.sources.push(source);
  };
  for (const repository of repositories) {
    const { store, names } = await openUnit(settings, repository);
    let found = false;
    for (const kind of kinds) {
      const match = (await findSnapshots(store, names, [kind]))[0];
      if (match) add(store, kind, match.source);
      found ||= Boolean(match);
    }
    if (!found) add(store, kinds[0], names[0]);
  }
  return [...selections.values()];
}
