import { mapLimit } from '../util/concurrency.js';
import { errorMessage } from '../util/errors.js';
import { applyPolicy, type RetentionPolicy } from './policy.js';
import { idTime, parseSnapshotKey, readManifest } from '../snapshot/catalog.js';
import {
  isPackPart,
  type Manifest,
  MANIFEST_NAME,
  PACK_NAME,
  packPrefix,
  PACKS_ROOT,
  SNAPSHOT_KINDS,
  type SnapshotKind,
  sourcePrefix,
} from '../snapshot/manifest.js';
import type { Store, StoredObject } from '../store/store.js';

/** A folder without a manifest younger than this may be an upload in progress. */
export const DEFAULT_ORPHAN_AGE = 24 * 60 * 60 * 1000;
export const NEWEST_REASON = 'newest snapshot, always kept';
export const REMOVE_REASON = 'no rule matched';
const MANIFEST_READS = 64;
/** Pack folders listed at a time. */
const LISTINGS = 16;
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
  /**
   * Keys in the repository's pack folder (`packs/git/<source>/`, format 2) that no remaining snapshot
   * lists and that are older than orphanAge: packs and indexes to remove.
   */
  packKeys: string[];
  /** Bytes of removed snapshots, orphans and unreferenced packs. */
  bytesFreed: number;
  /** Set when the unit could not be evaluated (a manifest unreadable for keep-tag): nothing removed. */
  error?: string;
  /**
   * Set when a remaining snapshot's manifest could not be read: it might list any pack, so no pack of
   * the unit is removed (snapshots and orphans still are, unless `error` is set).
   */
  packError?: string;
}

/** In a dry run, "removed" and "deleted" mean "would be". */
export interface PruneResult {
  dryRun: boolean;
  units: PruneUnit[];
  snapshotsRemoved: number;
  orphanKeysRemoved: number;
  /** Pack and index keys no remaining snapshot lists (included in keysDeleted). */
  packKeysRemoved: number;
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
  /** Objects of the repository's pack folder named like packs (git units only). */
  packs: StoredObject[];
}

/** A manifest as read, or why it could not be, by manifest key. */
type Manifests = Map<string, Manifest | Error>;

/**
 * Applies `policy` to every unit (kind + source) of the store and deletes what it does not keep.
 *
 * Safety: everything is listed before anything is deleted, so a failed listing deletes nothing; the
 * newest complete snapshot of a unit is always kept; an empty policy keeps every snapshot. Manifests
 * of removed snapshots are deleted first (the snapshots disappear at once), then their parts. Folders
 * without a manifest are collected whatever the policy (they never were snapshots), but only when both
 * the id's time and every object in them are older than `orphanAge`: an upload in progress is left
 * alone.
 *
 * Packs (format 2) are shared by snapshots, so they are counted, not owned: once the decisions are made,
 * the manifests of every remaining snapshot of a repository are read (16 at a time), and a pack or index
 * goes only when none of them lists it and it is older than `orphanAge` (a backup in progress uploads
 * its pack before its manifest). One unreadable remaining manifest keeps every pack of its repository.
 * Packs are deleted last, after the removed snapshots' manifests and folders.
 */
export async function pruneStore(
  store: Store,
  policy: RetentionPolicy,
  options: PruneOptions,
): Promise<PruneResult> {
  const now = options.now ?? new Date();
  const oldBefore = now.getTime() - (options.orphanAge ?? DEFAULT_ORPHAN_AGE);
  const listed = await listUnits(store, options);
  const manifests: Manifests = new Map();
  if (policy.tags?.length) await readManifests(store, listed.flatMap(completeRefs), manifests);
  const tags = policy.tags?.length ? tagsOf(manifests) : undefined;
  const units = listed.map((unit) => planUnit(unit, policy, tags, now, oldBefore));
  await planPacks(store, listed, units, manifests, oldBefore);

  const removedManifests: string[] = [];
  const rest: string[] = [];
  listed.forEach(({ folders }, i) => {
    for (const decision of units[i].snapshots.filter((s) => !s.keep)) {
      const folder = folders.get(decision.id)!;
      removedManifests.push(folder.manifest!.key);
      rest.push(...folder.objects.filter((o) => o !== folder.manifest).map((o) => o.key));
    }
    rest.push(...units[i].orphanKeys);
  });
  const packs = units.flatMap((unit) => unit.packKeys);
  if (!options.dryRun) {
    if (removedManifests.length > 0) await store.delete(removedManifests);
    if (rest.length > 0) await store.delete(rest);
    if (packs.length > 0) await store.delete(packs);
  }
  return {
    dryRun: options.dryRun,
    units,
    snapshotsRemoved: sum(units, (u) => u.removed),
    orphanKeysRemoved: sum(units, (u) => u.orphanKeys.length),
    packKeysRemoved: packs.length,
    keysDeleted: removedManifests.length + rest.length + packs.length,
    bytesFreed: sum(units, (u) => u.bytesFreed),
  };
}

/**
 * One listing per kind gives every manifest and part (or one per named source, to not read the
 * whole bucket for a few), and one of `packs/git/` for the repositories' packs (or one per named source).
 * Keys not shaped `<kind>/<source>/<id>/<name>` or `packs/git/<source>/pack-<checksum>.pack|idx[.age]`
 * are not ours: never touched.
 */
async function listUnits(store: Store, options: PruneOptions): Promise<Listed[]> {
  const listings = (options.kind ? [options.kind] : SNAPSHOT_KINDS).flatMap((kind): Listing[] =>
    options.sources
      ? [...new Set(options.sources)].map((source) => ({ kind, prefix: sourcePrefix(kind, source), source }))
      : [{ kind, prefix: `${kind}/` }],
  );
  const units = new Map<string, Listed>();
  const unitOf = (kind: SnapshotKind, source: string): Listed => {
    const unitKey = `${kind}/${source}`;
    let unit = units.get(unitKey);
    if (!unit) units.set(unitKey, (unit = { kind, source, folders: new Map(), packs: [] }));
    return unit;
  };
  // The pack folders are listed while the snapshots are (they are independent).
  const packsFound = (async () => {
    if (options.kind && options.kind !== 'git') return [];
    // Named sources: their pack folders, 16 at a time. The whole store: one listing of `packs/git/`
    // (which also finds the packs of a repository whose first backup never wrote its manifest).
    const packListings: Array<{ prefix: string; source?: string }> = options.sources
      ? [...new Set(options.sources)].map((source) => ({ prefix: packPrefix(source), source }))
      : [{ prefix: PACKS_ROOT }];
    return mapLimit(packListings, LISTINGS, async ({ prefix, source }) => {
      const packs: Array<{ source: string; object: StoredObject }> = [];
      for await (const object of store.list(prefix)) {
        const parsed = parsePackKey(object.key);
        // `source` also excludes a nested source's packs (`a/b/c` listed under `a/b/`): it has its own.
        if (parsed && (source === undefined || parsed.source === source))
          packs.push({ source: parsed.source, object });
      }
      return packs;
    });
  })();
  packsFound.catch(() => {}); // awaited below; a failed snapshot listing must not leave it unhandled
  for (const { kind, prefix, source } of listings) {
    for await (const object of store.list(prefix)) {
      const parsed = parseSnapshotKey(object.key);
      // `source` also excludes a nested source (`a/b/c` listed under `a/b/`): it has its own listing.
      if (!parsed || parsed.kind !== kind || (source !== undefined && parsed.source !== source)) continue;
      const unit = unitOf(kind, parsed.source);
      let folder = unit.folders.get(parsed.id);
      if (!folder) unit.folders.set(parsed.id, (folder = { id: parsed.id, objects: [] }));
      folder.objects.push(object);
      if (parsed.name === MANIFEST_NAME) folder.manifest = object;
    }
  }
  for (const { source, object } of (await packsFound).flat()) unitOf('git', source).packs.push(object);
  return [...units.values()].sort((a, b) => compare(a.kind, b.kind) || compare(a.source, b.source));
}

/** How many packs `keys` (pack and index keys) hold: a pack and its index count once. */
export function packCount(keys: string[]): number {
  return new Set(keys.map((key) => key.replace(/\.(pack|idx)(\.age)?$/, ''))).size;
}

/** `packs/git/<source>/<pack name>` → its source, or undefined for a key that is not a pack of ours. */
function parsePackKey(key: string): { source: string } | undefined {
  const slash = key.lastIndexOf('/');
  if (!key.startsWith(PACKS_ROOT) || slash < PACKS_ROOT.length) return undefined;
  const source = key.slice(PACKS_ROOT.length, slash);
  if (source.split('/').includes('') || !PACK_NAME.test(key.slice(slash + 1))) return undefined;
  return { source };
}

/** The complete snapshots of a unit, as catalog references. */
function completeRefs({ kind, source, folders }: Listed) {
  return [...folders.values()]
    .filter((folder) => folder.manifest)
    .map((folder) => ({
      kind,
      source,
      id: folder.id,
      manifestKey: folder.manifest!.key,
      manifestSize: folder.manifest!.size,
    }));
}

/**
 * Reads the manifests not in `into` yet, 16 at a time, into `into`; an unreadable one is kept as its
 * error (for keep-tag its unit fails, nothing removed: it might carry a kept tag; for packs its unit
 * removes no pack: it might list any).
 */
async function readManifests(
  store: Store,
  refs: ReturnType<typeof completeRefs>,
  into: Manifests,
): Promise<void> {
  await mapLimit(
    refs.filter((ref) => !into.has(ref.manifestKey)),
    MANIFEST_READS,
    async (ref) => {
      try {
        into.set(ref.manifestKey, await readManifest(store, ref));
      } catch (error) {
        into.set(ref.manifestKey, error as Error);
      }
    },
  );
}

/** The tags of every manifest read (an unreadable one as its error). */
function tagsOf(manifests: Manifests): Map<string, string[] | Error> {
  const tags = new Map<string, string[] | Error>();
  for (const [key, manifest] of manifests) {
    tags.set(key, manifest instanceof Error ? manifest : Array.isArray(manifest.tags) ? manifest.tags : []);
  }
  return tags;
}

/**
 * Reference counting, after the decisions: per repository with packs older than `oldBefore`, reads
 * the manifests of the snapshots that remain (those read for keep-tag are reused) and marks for removal
 * the old packs and indexes none of them lists. A repository with fewer old packs reads nothing.
 */
async function planPacks(
  store: Store,
  listed: Listed[],
  units: PruneUnit[],
  manifests: Manifests,
  oldBefore: number,
): Promise<void> {
  const candidates = listed.map((unit) => unit.packs.filter((o) => o.lastModified.getTime() < oldBefore));
  const remaining = listed.map((unit, i) => {
    if (candidates[i].length === 0) return [];
    const kept = new Set(units[i].snapshots.filter((s) => s.keep).map((s) => s.id));
    return completeRefs(unit).filter((ref) => kept.has(ref.id));
  });
  await readManifests(store, remaining.flat(), manifests);
  units.forEach((unit, i) => {
    if (candidates[i].length === 0) return;
    const listedNames = new Set<string>();
    for (const ref of remaining[i]) {
      const manifest = manifests.get(ref.manifestKey)!;
      if (manifest instanceof Error) {
        unit.packError = `no pack removed: ${errorMessage(manifest)}`;
        return;
      }
      for (const part of manifest.parts) if (isPackPart(part)) listedNames.add(part.name);
    }
    const unreferenced = candidates[i].filter(
      (o) => !listedNames.has(o.key.slice(o.key.lastIndexOf('/') + 1)),
    );
    unit.packKeys = unreferenced.map((o) => o.key);
    unit.bytesFreed += sum(unreferenced, (o) => o.size);
  });
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
      packKeys: [],
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
    packKeys: [],
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
