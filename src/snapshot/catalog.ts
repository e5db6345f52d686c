import { errorMessage } from '../util/errors.js';
import type { Store } from '../store/store.js';
import { readAll } from '../store/store.js';
import {
  type GitManifest,
  MANIFEST_NAME,
  type Manifest,
  parseManifest,
  quoted,
  SNAPSHOT_ID,
  SNAPSHOT_KINDS,
  type SnapshotKind,
  sourcePrefix,
} from './manifest.js';

/** A complete snapshot: one whose manifest exists. */
export interface SnapshotRef {
  kind: SnapshotKind;
  source: string;
  id: string;
  manifestKey: string;
  /** The manifest's size as listed, when the listing gave it. */
  manifestSize?: number;
}

/** Far above any real manifest (a million refs), far below what would exhaust memory. */
export const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;

const MANIFEST_KEY = new RegExp(
  `^(${SNAPSHOT_KINDS.join('|')})/(.+)/(${SNAPSHOT_ID.source.slice(1, -1)})/${MANIFEST_NAME}$`,
);

/**
 * Lists complete snapshots, newest first: of one kind and source (listing only that prefix, so finding
 * one repository's snapshots does not read the whole bucket), of one kind, or all.
 */
export async function listSnapshots(
  store: Store,
  kind?: SnapshotKind,
  source?: string,
): Promise<SnapshotRef[]> {
  const prefixes = kind
    ? [source ? sourcePrefix(kind, source) : `${kind}/`]
    : SNAPSHOT_KINDS.map((k) => `${k}/`);
  const found: SnapshotRef[] = [];
  for (const prefix of prefixes) {
    for await (const object of store.list(prefix)) {
      const match = MANIFEST_KEY.exec(object.key);
      if (!match || (source && match[2] !== source)) continue;
      found.push({
        kind: match[1] as SnapshotKind,
        source: match[2],
        id: match[3],
        manifestKey: object.key,
        manifestSize: object.size,
      });
    }
  }
  return found.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

export async function readManifest(store: Store, snapshot: SnapshotRef): Promise<Manifest> {
  const where = `manifest of ${snapshot.source} ${snapshot.id}`;
  const tooLarge = `${where} is larger than the ${MAX_MANIFEST_BYTES} bytes a manifest may have; not read`;
  // Refused by its listed size without downloading a byte; the limit on reading is the backstop (a
  // listing without sizes, or an object that grew since).
  if ((snapshot.manifestSize ?? 0) > MAX_MANIFEST_BYTES) throw new Error(tooLarge);
  let text: string;
  try {
    text = (await readAll(await store.download(snapshot.manifestKey), MAX_MANIFEST_BYTES)).toString('utf8');
  } catch (error) {
    if (errorMessage(error) === `more than ${MAX_MANIFEST_BYTES} bytes`)
      throw new Error(tooLarge, { cause: error }); // readAll's limit
    throw new Error(`${where} cannot be read: ${errorMessage(error)}`, { cause: error });
  }
  const manifest = parseManifest(text, where);
  if (manifest.id !== snapshot.id || manifest.source !== snapshot.source || manifest.kind !== snapshot.kind) {
    // Quoted and cut short: a hostile manifest's source can be anything (the key's is not).
    throw new Error(
      `${where} names another snapshot (${manifest.kind} ${quoted(manifest.source)} ${manifest.id})`,
    );
  }
  return manifest;
}

export async function readGitManifest(store: Store, snapshot: SnapshotRef): Promise<GitManifest> {
  const manifest = await readManifest(store, snapshot);
  if (manifest.kind !== 'git')
    throw new Error(`${snapshot.source} ${snapshot.id} is not a repository snapshot`);
  return manifest;
}

/** `latest`, a snapshot id, or a time (`2026-11-01T00:00Z`: the newest at or before it). */
export function selectSnapshot(
  snapshots: SnapshotRef[],
  selector: string,
  at?: Date,
): SnapshotRef | undefined {
  if (at) return snapshots.find((snapshot) => idTime(snapshot.id) <= at.getTime());
  if (selector === 'latest') return snapshots[0];
  return snapshots.find((snapshot) => snapshot.id === selector);
}

/** The creation time encoded in a snapshot id. */
export function idTime(id: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z/.exec(id);
  if (!m) return NaN;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], +m[7]);
}

/**
 * `<kind>/<source…>/<id>/<name>` → its parts, or undefined for a key that is not in a snapshot folder
 * (the id is the folder right above the object; sources may have any number of segments).
 */
export function parseSnapshotKey(
  key: string,
): { kind: SnapshotKind; source: string; id: string; name: string } | undefined {
  const segments = key.split('/');
  const kind = segments[0] as SnapshotKind;
  const sourceSegments = segments.slice(1, -2);
  const id = segments[segments.length - 2];
  if (!SNAPSHOT_KINDS.includes(kind) || sourceSegments.length === 0 || sourceSegments.includes(''))
    return undefined;
  if (!SNAPSHOT_ID.test(id ?? '')) return undefined;
  return { kind, source: sourceSegments.join('/'), id, name: segments[segments.length - 1] };
}
