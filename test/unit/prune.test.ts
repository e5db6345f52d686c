import * as fs from 'node:fs';
import * as path from 'node:path';
import { NEWEST_REASON, pruneStore, REMOVE_REASON, type PruneOptions } from '../../src/retention/prune.js';
import { EMPTY_POLICY_REASON } from '../../src/retention/policy.js';
import { idTime, listSnapshots } from '../../src/snapshot/catalog.js';
import { BUNDLE_FORMAT_VERSION, type Manifest, type SnapshotKind } from '../../src/snapshot/manifest.js';
import { LocalStore } from '../../src/store/local-store.js';
import { S3Store } from '../../src/store/s3-store.js';
import type { Store } from '../../src/store/store.js';
import { tempDir } from '../support/fixtures.js';
import { delegating } from '../support/stores.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';

// Snapshots are written straight through the Store (parts, then the manifest), with chosen ids, on
// both stores: a local folder and a real S3-protocol server on 127.0.0.1.
const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
let s3: S3Server;
let folder: string;
let counter = 0;

beforeAll(async () => {
  s3 = await startS3Server({ buckets: ['prune'] });
  folder = tempDir();
});

afterAll(async () => {
  await s3.stop();
  fs.rmSync(folder, { recursive: true, force: true });
});

const stores: Array<[string, () => Store]> = [
  ['local folder', () => new LocalStore(path.join(folder, `store-${++counter}`))],
  [
    'S3',
    () =>
      new S3Store({
        bucket: 'prune',
        prefix: `run-${++counter}`,
        location: `s3://prune/run-${counter}`,
        region: s3.region,
        endpoint: s3.endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
        endpointInput: 'endpoint',
      }),
  ],
];

/** `2026-01-05 10:00` → `20260105T100000.000Z-0000000a`. */
function idAt(time: string, tail = 'a'): string {
  const stamp = new Date(`${time.replace(' ', 'T')}Z`).toISOString().replace(/[-:]/g, '');
  return `${stamp}-${tail.padStart(8, '0')}`;
}

interface SnapshotSpec {
  kind?: SnapshotKind;
  tags?: string[];
  /** Write the parts only, as an interrupted run leaves them. */
  orphan?: boolean;
}

const PART = Buffer.from('part bytes\n');

async function writeSnapshot(
  store: Store,
  source: string,
  id: string,
  spec: SnapshotSpec = {},
): Promise<void> {
  const kind = spec.kind ?? 'git';
  const folderKey = `${kind}/${source}/${id}/`;
  const name = kind === 'git' ? 'repo.bundle' : 'files.tar';
  await store.createExclusive(`${folderKey}${name}`, PART);
  if (spec.orphan) return;
  const part = {
    name,
    type: kind === 'git' ? 'git-bundle' : 'tar',
    size: PART.length,
    sha256: 'a'.repeat(64),
  } as const;
  const common = {
    format: 'backup-action-snapshot' as const,
    formatVersion: BUNDLE_FORMAT_VERSION,
    id,
    source,
    createdAt: new Date(idTime(id)).toISOString(),
    tool: { name: 'backup-action', version: 'test' },
    tags: spec.tags ?? [],
    parts: [part],
    size: PART.length,
  };
  const manifest: Manifest =
    kind === 'git'
      ? {
          ...common,
          kind,
          url: `https://${source}.git`,
          git: {
            empty: false,
            objectFormat: 'sha1',
            head: 'refs/heads/main',
            refs: { 'refs/heads/main': 'b'.repeat(40) },
          },
        }
      : { ...common, kind, files: { count: 1, bytes: PART.length } };
  await store.createExclusive(`${folderKey}manifest.json`, Buffer.from(JSON.stringify(manifest)));
}

async function objectsOf(store: Store): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for await (const object of store.list('')) sizes.set(object.key, object.size);
  return sizes;
}

const keysOf = async (store: Store) => [...(await objectsOf(store)).keys()].sort();

const API = 'github.com/acme/api';
const WEB = 'github.com/acme/web';
// Seven snapshots of API over six days (two on the newest; the fourth tagged release), three of WEB
// and one file series.
const API_IDS = [
  idAt('2026-01-07 20:00'),
  idAt('2026-01-07 08:00'),
  idAt('2026-01-06 08:00'),
  idAt('2026-01-05 08:00'),
  idAt('2026-01-04 08:00'),
  idAt('2026-01-03 08:00'),
  idAt('2026-01-02 08:00'),
];
const WEB_IDS = [idAt('2026-01-07 09:00'), idAt('2026-01-06 09:00'), idAt('2026-01-05 09:00')];
const FILES_ID = idAt('2026-01-01 00:00');

async function seed(store: Store): Promise<void> {
  await Promise.all([
    ...API_IDS.map((id, i) => writeSnapshot(store, API, id, { tags: i === 3 ? ['release'] : ['nightly'] })),
    ...WEB_IDS.map((id) => writeSnapshot(store, WEB, id)),
    writeSnapshot(store, 'ci/artifacts', FILES_ID, { kind: 'files' }),
  ]);
}

const snapshotKeys = (kind: string, source: string, id: string) =>
  kind === 'git'
    ? [`git/${source}/${id}/manifest.json`, `git/${source}/${id}/repo.bundle`]
    : [`files/${source}/${id}/files.tar`, `files/${source}/${id}/manifest.json`];

const options = (extra: Partial<PruneOptions> = {}): PruneOptions => ({
  dryRun: false,
  now: new Date(),
  ...extra,
});

describe.each(stores)('%s store', (_, open) => {
  test('removal leaves exactly the kept snapshots, with their reasons', async () => {
    const store = open();
    await seed(store);
    const before = await objectsOf(store);

    const result = await pruneStore(store, { daily: 2 }, options());

    expect(result.units.map((u) => [u.kind, u.source, u.kept, u.removed])).toEqual([
      ['files', 'ci/artifacts', 1, 0],
      ['git', API, 2, 5],
      ['git', WEB, 2, 1],
    ]);
    expect(result.units[1].snapshots.map((s) => [s.id, s.keep, s.reasons])).toEqual([
      [API_IDS[0], true, ['daily snapshot']],
      [API_IDS[1], false, [REMOVE_REASON]],
      [API_IDS[2], true, ['daily snapshot']],
      ...API_IDS.slice(3).map((id) => [id, false, [REMOVE_REASON]]),
    ]);
    const gone = [API_IDS[1], ...API_IDS.slice(3)]
      .flatMap((id) => snapshotKeys('git', API, id))
      .concat(snapshotKeys('git', WEB, WEB_IDS[2]));
    expect(await keysOf(store)).toEqual([...before.keys()].filter((key) => !gone.includes(key)).sort());
    expect(result).toMatchObject({
      dryRun: false,
      snapshotsRemoved: 6,
      orphanKeysRemoved: 0,
      keysDeleted: 12,
    });
    expect(result.bytesFreed).toBe(gone.reduce((sum, key) => sum + before.get(key)!, 0));
  });

  test('a dry run decides the same and deletes nothing', async () => {
    const store = open();
    await seed(store);
    const before = await keysOf(store);
    const dry = await pruneStore(store, { last: 1 }, options({ dryRun: true }));
    expect(await keysOf(store)).toEqual(before);
    expect(dry).toMatchObject({ dryRun: true, snapshotsRemoved: 8, keysDeleted: 16 });

    const real = await pruneStore(store, { last: 1 }, options());
    expect(real.units).toEqual(dry.units);
    expect((await listSnapshots(store)).map((s) => s.id).sort()).toEqual(
      [FILES_ID, API_IDS[0], WEB_IDS[0]].sort(),
    );
  });

  test('the newest snapshot of a unit is kept even when no rule keeps it', async () => {
    const store = open();
    await seed(store);
    const result = await pruneStore(store, { tags: ['release'] }, options());
    const decisions = (source: string) => result.units.find((u) => u.source === source)!.snapshots;
    expect(
      decisions(API)
        .filter((s) => s.keep)
        .map((s) => [s.id, s.reasons]),
    ).toEqual([
      [API_IDS[0], [NEWEST_REASON]],
      [API_IDS[3], ['tag release']],
    ]);
    expect(
      decisions(WEB)
        .filter((s) => s.keep)
        .map((s) => s.id),
    ).toEqual([WEB_IDS[0]]);
    expect(decisions('ci/artifacts').map((s) => s.reasons)).toEqual([[NEWEST_REASON]]);
    expect((await listSnapshots(store, 'git', API)).map((s) => s.id)).toEqual([API_IDS[0], API_IDS[3]]);
  });

  test('an empty policy removes no snapshot (orphans are still collected)', async () => {
    const store = open();
    await seed(store);
    const orphan = idAt('2025-12-01 00:00', 'f');
    await writeSnapshot(store, API, orphan, { orphan: true });
    const before = await keysOf(store);

    const result = await pruneStore(store, {}, options({ now: new Date(Date.now() + 2 * DAY) }));
    expect(result.snapshotsRemoved).toBe(0);
    expect(
      result.units.flatMap((u) => u.snapshots).every((s) => s.keep && s.reasons[0] === EMPTY_POLICY_REASON),
    ).toBe(true);
    expect(result.orphanKeysRemoved).toBe(1);
    expect(await keysOf(store)).toEqual(before.filter((key) => !key.includes(orphan)));
  });

  test('orphans go only when both their id and their objects are older than orphanAge', async () => {
    const store = open();
    await writeSnapshot(store, API, idAt('2026-01-07 00:00'));
    const old = idAt('2020-01-01 00:00', '1');
    await writeSnapshot(store, API, old, { orphan: true });
    const later = new Date(Date.now() + 2 * DAY);
    // An id of one hour before `later`: an upload that started an hour ago.
    const youngId = `${new Date(later.getTime() - HOUR).toISOString().replace(/[-:]/g, '')}-00000002`;
    await writeSnapshot(store, API, youngId, { orphan: true });
    await writeSnapshot(store, WEB, idAt('2020-01-01 00:00', '3'), { orphan: true });
    // Not shaped like a snapshot key: never ours to delete.
    await store.createExclusive(`git/${API}/notes.txt`, Buffer.from('x'));
    await store.createExclusive('other/thing', Buffer.from('x'));
    const before = await keysOf(store);

    // Now: every orphan's objects were written a moment ago, so none goes, even with an old id.
    const now = await pruneStore(store, { last: 1 }, options());
    expect(now.orphanKeysRemoved).toBe(0);
    expect(await keysOf(store)).toEqual(before);

    // Two days later with a one-day orphanAge: the old-id orphans go, the one started an hour ago stays.
    const result = await pruneStore(store, { last: 1 }, options({ now: later, orphanAge: DAY }));
    expect(result.units.flatMap((u) => u.orphanKeys).sort()).toEqual([
      `git/${API}/${old}/repo.bundle`,
      `git/${WEB}/${idAt('2020-01-01 00:00', '3')}/repo.bundle`,
    ]);
    expect(result.units.find((u) => u.source === WEB)).toMatchObject({
      kept: 0,
      removed: 0,
      bytesFreed: PART.length,
    });
    expect(await keysOf(store)).toEqual(
      before.filter((key) => !key.includes(old) && !key.startsWith(`git/${WEB}/`)),
    );
  });

  test('a listing that fails midway deletes nothing', async () => {
    const store = open();
    await seed(store);
    const before = await keysOf(store);
    const deletes: string[][] = [];
    const faulty = delegating(store, {
      // Fault injector: the listing breaks at its 10th key, as a dropped connection would.
      async *list(prefix) {
        let listed = 0;
        for await (const object of store.list(prefix)) {
          if (++listed === 10) throw new Error('connection reset while listing');
          yield object;
        }
      },
      delete: async (keys) => {
        deletes.push(keys);
      },
    });
    await expect(pruneStore(faulty, { last: 1 }, options())).rejects.toThrow(/connection reset/);
    expect(deletes).toEqual([]);
    expect(await keysOf(store)).toEqual(before);
  });

  test('manifests are deleted first, in one call, then parts and orphans', async () => {
    const store = open();
    await seed(store);
    const orphan = idAt('2020-01-01 00:00', 'e');
    await writeSnapshot(store, WEB, orphan, { orphan: true });
    const calls: Array<{ keys: string[]; visible: string[] }> = [];
    const recording = delegating(store, {
      delete: async (keys) => {
        await store.delete(keys);
        // What a reader sees right after each call.
        calls.push({ keys, visible: (await listSnapshots(store)).map((s) => s.id) });
      },
    });
    const later = new Date(Date.now() + 2 * DAY);
    await pruneStore(recording, { last: 1 }, options({ now: later }));

    expect(calls).toHaveLength(2);
    expect(calls[0].keys.every((key) => key.endsWith('/manifest.json'))).toBe(true);
    expect(calls[0].keys).toHaveLength(8);
    expect(calls[0].visible.sort()).toEqual([FILES_ID, API_IDS[0], WEB_IDS[0]].sort());
    expect(calls[1].keys.some((key) => key.endsWith('/manifest.json'))).toBe(false);
    expect(calls[1].keys).toHaveLength(9);
    expect(calls[1].keys).toContain(`git/${WEB}/${orphan}/repo.bundle`);
  });

  test('kind and sources limit what is pruned; nested sources stay apart', async () => {
    const store = open();
    await seed(store);
    const nested = `${API}/sub`;
    await writeSnapshot(store, nested, idAt('2026-01-01 00:00'));
    await writeSnapshot(store, nested, idAt('2025-12-01 00:00'));

    const only = await pruneStore(store, { last: 1 }, options({ kind: 'git', sources: [API] }));
    expect(only.units.map((u) => [u.source, u.removed])).toEqual([[API, 6]]);
    expect((await listSnapshots(store, 'git', nested)).length).toBe(2);
    expect((await listSnapshots(store, 'git', WEB)).length).toBe(3);

    const git = await pruneStore(store, { last: 1 }, options({ kind: 'git' }));
    expect(git.units.map((u) => [u.source, u.removed])).toEqual([
      [API, 0],
      [nested, 1],
      [WEB, 2],
    ]);
    expect((await listSnapshots(store, 'files')).length).toBe(1);
  });

  test('keep-tag reads manifests; an unreadable one leaves its unit untouched', async () => {
    const store = open();
    await seed(store);
    const broken = idAt('2026-01-06 12:00', 'b');
    await store.createExclusive(`git/${WEB}/${broken}/manifest.json`, Buffer.from('{ not json'));

    const result = await pruneStore(store, { tags: ['release'] }, options());
    const web = result.units.find((u) => u.source === WEB)!;
    expect(web).toMatchObject({ removed: 0, kept: 4 });
    expect(web.error).toMatch(/not pruned: manifest of github.com\/acme\/web .* is not valid JSON/);
    expect(result.units.find((u) => u.source === API)!.removed).toBe(5);
    expect((await listSnapshots(store, 'git', WEB)).length).toBe(4);
  });
});
