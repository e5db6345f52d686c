import { mapLimit } from '../util/concurrency.js';
import { errorMessage } from '../util/errors.js';
import { applyPolicy, type RetentionPolicy } from './policy.js';
import { idTime, parseSnapshotKey, readManifest } from '../snapshot/catalog.js';
import { MANIFEST_NAME, SNAPSHOT_KINDS, type SnapshotKind, sourcePrefix } from '../snapshot/manifest.js';
import type { Store, StoredObject } from '../store/store.js';

/** A folder without a manifest younger than this may be an upload in progress. */
export const DEFAULT_ORPHAN_AGE = 24 * 60 * 60 * 1000;
export const NEWEST_REASON = 'newest snapshot, always kept';
export const REMOVE_REASON = 'no rule matched';
const MANIFEST_READS = 16;
/** What backup and snapshot write into a snapshot folder (and the local store's temporary files). A
 * folder holding anything else is not ours to collect. */
const OWN_OBJECT =
  /^(manifest\.json|repo\.bundle|files\.tar(\.zst|\.gz)?)(\.age)?(\.[0-9a-f]{12}\.partial)?$/;

export interface PruneOptions {
  /** Compute everything, delete nothing. */
  dryRun: boolean;
  /** Milliseconds; default 24 hours. */
  orphanAge?: number;
  now?: Date;
  /** Only this kind (default: all kinds). */
  kind?: SnapshotKind;
  /** Only these sources (default: every source found). */
  sources?: string[];
}

export interface SnapshotDecision {
  id: string;
  keep: boolean;
  /** Why it is kept, or [REMOVE_REASON]. */
  reasons: string[];
  /** Objects in its folder and their total size. */
  keys: number;
  bytes: number;
}

export interface PruneUnit {
  kind: SnapshotKind;
  source: string;
  /** Complete snapshots, newest first. */
  snapshots: SnapshotDecision[];
  kept: number;
  removed: number;
  /** Keys of manifest-less folders old enough to remove. */
  orphanKeys: string[];
  /** Bytes of removed snapshots and orphans. */
  bytesFreed: number;
  /** Set when the unit could not be evaluated (a manifest unreadable for keep-tag): nothing removed. */
  error?: string;
}

/** In a dry run, "removed" and "deleted" mean "would be". */
export interface PruneResult {
  dryRun: boolean;
  units: PruneUnit[];
  snapshotsRemoved: number;
  orphanKeysRemoved: number;
  keysDeleted: number;
  bytesFreed: number;
}

/** One snapshot folder as found by listing: `<kind>/<source>/<id>/`. */
interface Folder {
  id: string;
  objects: StoredObject[];
  manifest?: StoredObject;
}

/** What to list; `source` when listing one source's prefix. */
interface Listing {
  kind: SnapshotKind;
  prefix: string;
  source?: string;
}

interface Listed {
  kind: SnapshotKind;
  source: string;
  folders: Map<string, Folder>;
}

/**
 * Applies `policy` to every unit (kind + source) of the store and deletes what it does not keep.
 *
 * Safety: everything is listed before anything is deleted, so a failed listing deletes nothing; the
 * newest complete snapshot of a unit is always kept; an empty policy keeps every snapshot. Manifests
 * of removed snapshots are deleted first (the snapshots disappear at once), then their parts. Folders
 * without a manifest are collected whatever the policy (they never were snapshots), but only when both
 * the id's time and every object in them are older than `orphanAge`: an upload in progress is left
 * alone.
 */
export async function pruneStore(
  store: Store,
  policy: RetentionPolicy,
  options: PruneOptions,
): Promise<PruneResult> {
  const now = options.now ?? new Date();
  const oldBefore = now.getTime() - (options.orphanAge ?? DEFAULT_ORPHAN_AGE);
  const listed = await listUnits(store, options);
  const tags = policy.tags?.length ? await readTags(store, listed) : undefined;
  const units = listed.map((unit) => planUnit(unit, policy, tags, now, oldBefore));

  const manifests: string[] = [];
  const rest: string[] = [];
  listed.forEach(({ folders }, i) => {
    for (const decision of units[i].snapshots.filter((s) => !s.keep)) {
      const folder = folders.get(decision.id)!;
      manifests.push(folder.manifest!.key);
      rest.push(...folder.objects.filter((o) => o !== folder.manifest).map((o) => o.key));
    }
    rest.push(...units[i].orphanKeys);
  });
  if (!options.dryRun) {
    if (manifests.length > 0) await store.delete(manifests);
    if (rest.length > 0) await store.delete(rest);
  }
  return {
    dryRun: options.dryRun,
    units,
    snapshotsRemoved: sum(units, (u) => u.removed),
    orphanKeysRemoved: sum(units, (u) => u.orphanKeys.length),
    keysDeleted: manifests.length + rest.length,
    bytesFreed: sum(units, (u) => u.bytesFreed),
  };
}

/**
 * One listing per kind gives every manifest and part (or one per named source, to not read the
 * whole bucket for a few). Keys not shaped `<kind>/<source>/<id>/<name>` are not ours: never touched.
 */
async function listUnits(store: Store, options: PruneOptions): Promise<Listed[]> {
  const listings = (options.kind ? [options.kind] : SNAPSHOT_KINDS).flatMap((kind): Listing[] =>
    options.sources
      ? [...new Set(options.sources)].map((source) => ({ kind, prefix: sourcePrefix(kind, source), source }))
      : [{ kind, prefix: `${kind}/` }],
  );
  const units = new Map<string, Listed>();
  for (const { kind, prefix, source } of listings) {
    for await (const object of store.list(prefix)) {
      const parsed = parseSnapshotKey(object.key);
      // `source` also excludes a nested source (`a/b/c` listed under `a/b/`): it has its own listing.
      if (!parsed || parsed.kind !== kind || (source !== undefined && parsed.source !== source)) continue;
      const unitKey = `${kind}/${parsed.source}`;
      let unit = units.get(unitKey);
      if (!unit) units.set(unitKey, (unit = { kind, source: parsed.source, folders: new Map() }));
      let folder = unit.folders.get(parsed.id);
      if (!folder) unit.folders.set(parsed.id, (folder = { id: parsed.id, objects: [] }));
      folder.objects.push(object);
      if (parsed.name === MANIFEST_NAME) folder.manifest = object;
    }
  }
  return [...units.values()].sort((a, b) => compare(a.kind, b.kind) || compare(a.source, b.source));
}

/**
 * Tags of every complete snapshot, read from the manifests, 16 at a time. An unreadable manifest makes
 * its unit fail (nothing removed there): it might carry a kept tag.
 */
async function readTags(store: Store, units: Listed[]): Promise<Map<string, string[] | Error>> {
  const refs = units.flatMap(({ kind, source, folders }) =>
    [...folders.values()]
      .filter((folder) => folder.manifest)
      .map((folder) => ({ kind, source, id: folder.id, manifestKey: folder.manifest!.key })),
  );
  const tags = new Map<string, string[] | Error>();
  await mapLimit(refs, MANIFEST_READS, async (ref) => {
    try {
      const manifest = await readManifest(store, ref);
      tags.set(ref.manifestKey, Array.isArray(manifest.tags) ? manifest.tags : []);
    } catch (error) {
      tags.set(ref.manifestKey, error as Error);
    }
  });
  return tags;
}

function planUnit(
  unit: Listed,
  policy: RetentionPolicy,
  tags: Map<string, string[] | Error> | undefined,
  now: Date,
  oldBefore: number,
): PruneUnit {
  const folders = [...unit.folders.values()];
  const complete = folders.filter((f) => f.manifest).sort((a, b) => compare(b.id, a.id));
  const base = { kind: unit.kind, source: unit.source };
  const failed = complete.map((f) => tags?.get(f.manifest!.key)).find((t) => t instanceof Error);
  if (failed) {
    const reasons = [`not pruned: ${errorMessage(failed)}`];
    const snapshots = complete.map((f) => ({ id: f.id, keep: true, reasons, ...size(f) }));
    return {
      ...base,
      snapshots,
      kept: snapshots.length,
      removed: 0,
      orphanKeys: [],
      bytesFreed: 0,
      error: reasons[0],
    };
  }

  const input = complete.map((f) => ({
    id: f.id,
    time: new Date(idTime(f.id)),
    tags: (tags?.get(f.manifest!.key) as string[] | undefined) ?? [],
  }));
  const reasonsOf = new Map(applyPolicy(input, policy, now).keep.map((k) => [k.id, k.reasons]));
  if (complete.length > 0 && !reasonsOf.has(complete[0].id)) reasonsOf.set(complete[0].id, [NEWEST_REASON]);
  const snapshots = complete.map((folder) => {
    const reasons = reasonsOf.get(folder.id);
    return { id: folder.id, keep: Boolean(reasons), reasons: reasons ?? [REMOVE_REASON], ...size(folder) };
  });
  const removed = snapshots.filter((s) => !s.keep);
  const orphans = folders.filter(
    (f) =>
      !f.manifest &&
      idTime(f.id) < oldBefore &&
      f.objects.every(
        (o) =>
          o.lastModified.getTime() < oldBefore && OWN_OBJECT.test(o.key.slice(o.key.lastIndexOf('/') + 1)),
      ),
  );
  return {
    ...base,
    snapshots,
    kept: snapshots.length - removed.length,
    removed: removed.length,
    orphanKeys: orphans.flatMap((f) => f.objects.map((o) => o.key)),
    bytesFreed: sum(removed, (s) => s.bytes) + sum(orphans, (f) => size(f).bytes),
  };
}

function size(folder: Folder): { keys: number; bytes: number } {
  return { keys: folder.objects.length, bytes: sum(folder.objects, (o) => o.size) };
}

function sum<T>(items: T[], value: (item: T) => number): number {
  return items.reduce((total, item) => total + value(item), 0);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
