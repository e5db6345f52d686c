import { errorMessage } from '../errors.js';
import type { Store } from '../store/store.js';
import { readAll } from '../store/store.js';
import { MANIFEST_NAME, type Manifest, parseManifest, SNAPSHOT_ID, sourcePrefix } from './manifest.js';

/** A complete snapshot: one whose manifest exists. */
export interface SnapshotRef {
  source: string;
  id: string;
  manifestKey: string;
}

/** Far above any real manifest (a million refs), far below what would exhaust memory. */
const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;

const MANIFEST_KEY = new RegExp(`^git/(.+)/(${SNAPSHOT_ID.source.slice(1, -1)})/${MANIFEST_NAME}$`);

/**
 * Lists complete snapshots, newest first. With a source, only that source's prefix is listed, so
 * finding one repository's snapshots does not read the whole bucket.
 */
export async function listSnapshots(store: Store, source?: string): Promise<SnapshotRef[]> {
  const found: SnapshotRef[] = [];
  for await (const object of store.list(source ? sourcePrefix(source) : 'git/')) {
    const match = MANIFEST_KEY.exec(object.key);
    if (!match || (source && match[1] !== source)) continue;
    found.push({ source: match[1], id: match[2], manifestKey: object.key });
  }
  return found.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

export async function readManifest(store: Store, snapshot: SnapshotRef): Promise<Manifest> {
  const where = `manifest of ${snapshot.source} ${snapshot.id}`;
  let text: string;
  try {
    text = (await readAll(await store.download(snapshot.manifestKey), MAX_MANIFEST_BYTES)).toString('utf8');
  } catch (error) {
    throw new Error(`${where} cannot be read: ${errorMessage(error)}`, { cause: error });
  }
  const manifest = parseManifest(text, where);
  if (manifest.id !== snapshot.id || manifest.source !== snapshot.source) {
    throw new Error(
      `manifest of ${snapshot.source} ${snapshot.id} names another snapshot (${manifest.source} ${manifest.id})`,
    );
  }
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
