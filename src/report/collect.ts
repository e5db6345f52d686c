import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { subtractDuration } from '../retention/duration.js';
import { idTime, parseSnapshotKey, readManifest, type SnapshotRef } from '../snapshot/catalog.js';
import {
  type Manifest,
  MANIFEST_NAME,
  packPrefix,
  SNAPSHOT_KINDS,
  type SnapshotKind,
  sourcePrefix,
} from '../snapshot/manifest.js';
import type { Store } from '../store/store.js';
import { mapLimit } from '../util/concurrency.js';
import { errorMessage, InputError } from '../util/errors.js';
import { redact } from '../util/secrets.js';
import {
  HISTORY_POINTS,
  type LatestSnapshot,
  type Report,
  type ReportOptions,
  type ReportUnit,
  type SnapshotChange,
  type Verdict,
} from './report.js';
import { compareText, isoTime } from './text.js';

/** Listings and manifest reads in flight at once. */
const CONCURRENCY = 16;

/**
 * Reads what the stores hold: one listing per kind of each store (or per kind and named source, so a
 * few repositories do not read a whole bucket), then the manifests of the newest two snapshots of each
 * unit, CONCURRENCY at a time. An unreadable manifest makes its unit `unreadable`, never the report fail.
 */
export async function buildReport(
  stores: Array<{ store: Store; sources?: string[] }>,
  settings: ReportOptions,
  now: Date,
): Promise<Report> {
  const staleBefore = subtractDuration(now.getTime(), settings.maxAgeDuration);
  const units: ReportUnit[] = [];
  const problems: string[] = [];
  for (const { store, sources } of stores) {
    const found = await listStore(store, sources);
    if (!sources && found.length === 0) problems.push(`no snapshots in ${store.location}`);
    units.push(
      ...(await mapLimit(found, CONCURRENCY, (listed) => describeUnit(store, listed, now, staleBefore))),
    );
  }
  units.sort((a, b) => compareText(a.source, b.source) || compareText(a.kind ?? '', b.kind ?? ''));
  const count = (verdict: Verdict) => units.filter((unit) => unit.verdict === verdict).length;
  const counts = {
    units: units.length,
    fresh: count('fresh'),
    stale: count('stale'),
    never: count('never'),
    unreadable: count('unreadable'),
  };
  return {
    format: 'backup-action-report',
    formatVersion: 1,
    generatedAt: now.toISOString(),
    maxAge: settings.maxAge,
    staleBefore: isoTime(staleBefore),
    ok: counts.fresh === counts.units && problems.length === 0,
    counts,
    units,
    problems,
  };
}

/** The JSON report (every unit, full detail), for the `json` output; the folder is created. */
export async function writeReportJson(report: Report, file: string): Promise<void> {
  await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await fs.writeFile(file, redact(JSON.stringify(report, null, 2)) + '\n');
}

/** A unit as listed: its complete snapshots, newest first, with the bytes of each folder. */
interface Listed {
  kind: SnapshotKind | null;
  source: string;
  snapshots: Array<{ ref: SnapshotRef; bytes: number }>;
  /** The listing failed (for a named source only: a whole-store listing failure is thrown). */
  error?: string;
}

async function listStore(store: Store, sources: string[] | undefined): Promise<Listed[]> {
  if (!sources) {
    const units = new Map<string, Listed>();
    for (const kind of SNAPSHOT_KINDS) {
      try {
        await collect(store, kind, `${kind}/`, undefined, units);
      } catch (error) {
        if (error instanceof InputError) throw error;
        throw new Error(`cannot list ${kind}/ in ${store.location}: ${errorMessage(error)}`, {
          cause: error,
        });
      }
    }
    return [...units.values()];
  }
  const perSource = await mapLimit([...new Set(sources)], CONCURRENCY, async (source): Promise<Listed[]> => {
    const units = new Map<string, Listed>();
    try {
      for (const kind of SNAPSHOT_KINDS)
        await collect(store, kind, sourcePrefix(kind, source), source, units);
    } catch (error) {
      if (error instanceof InputError) throw error;
      return [{ kind: null, source, snapshots: [], error: `cannot list ${source}: ${errorMessage(error)}` }];
    }
    return units.size > 0 ? [...units.values()] : [{ kind: null, source, snapshots: [] }];
  });
  return perSource.flat();
}

/** Adds the complete snapshots under `prefix` to `units`; `source` excludes nested sources (`a/b/c` under `a/b/`). */
async function collect(
  store: Store,
  kind: SnapshotKind,
  prefix: string,
  source: string | undefined,
  units: Map<string, Listed>,
): Promise<void> {
  const folders = new Map<
    string,
    { kind: SnapshotKind; source: string; id: string; bytes: number; manifest?: string }
  >();
  for await (const object of store.list(prefix)) {
    const parsed = parseSnapshotKey(object.key);
    if (!parsed || parsed.kind !== kind || (source !== undefined && parsed.source !== source)) continue;
    const folderKey = `${parsed.source}/${parsed.id}`;
    let folder = folders.get(folderKey);
    if (!folder) folders.set(folderKey, (folder = { kind, source: parsed.source, id: parsed.id, bytes: 0 }));
    if (parsed.name === MANIFEST_NAME) folder.manifest = object.key;
    else folder.bytes += object.size;
  }
  for (const folder of folders.values()) {
    if (!folder.manifest) continue; // an upload in progress or an interrupted one: not a snapshot
    const unitKey = `${kind}/${folder.source}`;
    let unit = units.get(unitKey);
    if (!unit) units.set(unitKey, (unit = { kind, source: folder.source, snapshots: [] }));
    const ref = { kind, source: folder.source, id: folder.id, manifestKey: folder.manifest };
    unit.snapshots.push({ ref, bytes: folder.bytes });
  }
  for (const unit of units.values()) unit.snapshots.sort((a, b) => compareText(b.ref.id, a.ref.id));
}

async function describeUnit(
  store: Store,
  listed: Listed,
  now: Date,
  staleBefore: number,
): Promise<ReportUnit> {
  const base = {
    kind: listed.kind,
    source: listed.source,
    location: store.location,
    snapshots: listed.snapshots.length,
    history: listed.snapshots.slice(0, HISTORY_POINTS).map((s) => ({ id: s.ref.id, size: s.bytes })),
  };
  if (listed.error) return { ...base, verdict: 'unreadable', error: listed.error };
  const [newest, previous] = listed.snapshots;
  if (!newest) return { ...base, verdict: 'never' };

  const time = idTime(newest.ref.id);
  const latest: LatestSnapshot = {
    id: newest.ref.id,
    createdAt: isoTime(time),
    ageMs: now.getTime() - time,
  };
  const [current, before] = await Promise.all([newest, previous].map((s) => s && attempt(store, s.ref)));
  if (current instanceof Error) return { ...base, verdict: 'unreadable', latest, error: current.message };
  Object.assign(latest, contents(current));
  const unit: ReportUnit = { ...base, verdict: time < staleBefore ? 'stale' : 'fresh', latest };
  if (current.kind === 'git' && current.formatVersion >= 2) {
    // Pack sets: a snapshot's folder holds only its manifest, so sizes come from the manifests.
    const older = listed.snapshots.slice(2, HISTORY_POINTS).map((s) => attempt(store, s.ref));
    const manifests = [current, before, ...(await Promise.all(older))];
    unit.history = unit.history.map((point, i) => {
      const manifest = manifests[i];
      return manifest && !(manifest instanceof Error)
        ? { ...point, size: manifest.size, added: addedBytes(manifest) }
        : point;
    });
    unit.packBytes = await packFolderBytes(store, listed.source);
  }
  if (before instanceof Error) unit.previousError = before.message;
  else if (before) unit.change = compareManifests(current, before);
  return unit;
}

async function attempt(store: Store, ref: SnapshotRef): Promise<Manifest | Error> {
  try {
    return await readManifest(store, ref);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** Format 2: bytes of the parts a snapshot uploaded itself. */
function addedBytes(manifest: Manifest): number {
  return manifest.parts.filter((part) => part.added).reduce((sum, part) => sum + part.size, 0);
}

async function packFolderBytes(store: Store, source: string): Promise<number> {
  let bytes = 0;
  for await (const object of store.list(packPrefix(source))) bytes += object.size;
  return bytes;
}

function contents(manifest: Manifest): Partial<LatestSnapshot> {
  const common = {
    size: manifest.size,
    ...(manifest.formatVersion >= 2 && manifest.kind === 'git' ? { added: addedBytes(manifest) } : {}),
    tags: Array.isArray(manifest.tags) ? manifest.tags : [],
  };
  return manifest.kind === 'git'
    ? { ...common, refs: Object.keys(manifest.git.refs).length, empty: manifest.git.empty }
    : { ...common, files: manifest.files.count, fileBytes: manifest.files.bytes };
}

function compareManifests(current: Manifest, previous: Manifest): SnapshotChange {
  const change: SnapshotChange = {
    previousId: previous.id,
    previousCreatedAt: isoTime(idTime(previous.id)),
    sizeDelta: current.size - previous.size,
  };
  if (current.kind === 'git' && previous.kind === 'git') {
    const now = current.git.refs;
    const then = previous.git.refs;
    const has = (refs: Record<string, string>, name: string) => Object.hasOwn(refs, name);
    change.refs = {
      added: Object.keys(now)
        .filter((name) => !has(then, name))
        .sort(),
      removed: Object.keys(then)
        .filter((name) => !has(now, name))
        .sort(),
      moved: Object.keys(now)
        .filter((name) => has(then, name) && then[name] !== now[name])
        .sort(),
    };
  } else if (current.kind === 'files' && previous.kind === 'files') {
    change.filesDelta = current.files.count - previous.files.count;
  }
  return change;
}

// ---- Rendering ----
