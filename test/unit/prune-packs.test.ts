import * as fs from 'node:fs';
import * as path from 'node:path';
import { backupAll, type BackupOptions } from '../../src/git/backup.js';
import { type NewPack, StoredPacks, storePack, writePack } from '../../src/git/packs.js';
import { restoreSnapshot } from '../../src/git/restore.js';
import { resolveSource } from '../../src/git/source.js';
import { pruneStore, type PruneOptions, type PruneResult } from '../../src/retention/prune.js';
import { listSnapshots, readGitManifest } from '../../src/snapshot/catalog.js';
import { BUNDLE_FORMAT_VERSION, type GitManifest, packPrefix } from '../../src/snapshot/manifest.js';
import type { Store } from '../../src/store/store.js';
import { commitFile, deterministicBytes, git, refsOf, tempDir } from '../support/fixtures.js';
import { bothStores, delegating } from '../support/stores.js';

/** Uploads a pack as a backup does before its manifest (what the pack folder holds decides reuse). */
async function uploadPack(store: Store, source: string, written: NewPack) {
  return storePack(store, source, written, await StoredPacks.list(store, source));
}

// Prune of format 2 snapshots (shared packs): real git repositories backed up with backupAll, pruned,
// and restored with restoreSnapshot, on both stores (a local folder and a real S3-protocol server on
// 127.0.0.1). Packs are made "old" through pruneStore's `now`, never by sleeping.
const DAY = 24 * 60 * 60 * 1000;
let work: string;
let counter = 0;
const stores = bothStores('packs');

beforeAll(() => {
  work = tempDir();
});

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** A small repository on `main`, named uniquely (its source is `local/<name>`). */
function newRepository(): { dir: string; source: string } {
  const name = `repo-${++counter}`;
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  git(dir, 'init', '--quiet', '--initial-branch=main');
  commitFile(dir, 'README.md', `# ${name}\n`);
  return { dir, source: `local/${name}` };
}

function backupOptions(): BackupOptions {
  return {
    auth: { serverUrl: 'https://github.com' },
    force: false,
    tags: ['nightly'],
    concurrency: 1,
    mirrorRoot: fs.mkdtempSync(path.join(work, 'mirrors-')),
    cacheMirrors: false,
  };
}

/** One real backup of `dir`; its new snapshot id. */
async function backup(store: Store, dir: string, options: BackupOptions): Promise<string> {
  const [result] = await backupAll([{ source: resolveSource(dir, 'https://github.com'), store }], options);
  expect(result.error).toBeUndefined();
  expect(result.status).toBe('created');
  return result.snapshotId!;
}

async function manifestOf(store: Store, source: string, id: string): Promise<GitManifest> {
  const snapshot = (await listSnapshots(store, 'git', source)).find((s) => s.id === id)!;
  return readGitManifest(store, snapshot);
}

/** Keys of the parts of `manifest` in the pack folder. */
const packKeysOf = (manifest: GitManifest) =>
  manifest.parts.map((part) => `${packPrefix(manifest.source)}${part.name}`).sort();

async function keysUnder(store: Store, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of store.list(prefix)) keys.push(object.key);
  return keys.sort();
}

async function sizesUnder(store: Store, prefix: string): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for await (const object of store.list(prefix)) sizes.set(object.key, object.size);
  return sizes;
}

/** Restores the newest snapshot of `source` and checks its refs against `dir` (and fsck). */
async function restoresNewest(store: Store, source: string, dir: string): Promise<void> {
  const [newest] = await listSnapshots(store, 'git', source);
  const target = path.join(work, `restored-${++counter}`);
  const restored = await restoreSnapshot(store, newest, target);
  expect(restored.manifest.id).toBe(newest.id);
  expect(refsOf(target)).toBe(refsOf(dir));
  git(target, 'fsck', '--full', '--strict');
}

const now = (extra: Partial<PruneOptions> = {}): PruneOptions => ({
  dryRun: false,
  now: new Date(),
  ...extra,
});
/** Two days later with a one-day orphan age: everything written so far is old. */
const later = (extra: Partial<PruneOptions> = {}): PruneOptions =>
  now({ now: new Date(Date.now() + 2 * DAY), orphanAge: DAY, ...extra });

const unitOf = (result: PruneResult, source: string) => result.units.find((u) => u.source === source)!;

/**
 * A history with a branch deletion and a force-push, then a fresh pack set: S1 (a full pack P1), S2
 * (branch `feature` deleted: no new pack), S3 (main reset by two commits, one of them a large blob, and
 * a new commit: P1 + P3, most of the set's bytes now unreachable), S4 (a new commit: a fresh set, one
 * full pack, since S3's dropped history is more than half of its set).
 */
async function rewrittenHistory(store: Store) {
  const { dir, source } = newRepository();
  const options = backupOptions();
  git(dir, 'checkout', '--quiet', '-b', 'feature');
  commitFile(dir, 'feature.txt', 'feature\n');
  git(dir, 'checkout', '--quiet', 'main');
  fs.writeFileSync(path.join(dir, 'large.bin'), deterministicBytes(256 * 1024, dir));
  git(dir, 'add', 'large.bin');
  git(dir, 'commit', '--quiet', '-m', 'large file');
  commitFile(dir, 'after-large.txt', 'after\n');
  const s1 = await backup(store, dir, options);

  git(dir, 'branch', '--quiet', '-D', 'feature');
  const s2 = await backup(store, dir, options);

  git(dir, 'reset', '--quiet', '--hard', 'HEAD~2');
  commitFile(dir, 'rewritten.txt', 'rewritten\n');
  const s3 = await backup(store, dir, options);

  commitFile(dir, 'next.txt', 'next\n');
  const s4 = await backup(store, dir, options);
  const manifests = await Promise.all([s1, s2, s3, s4].map((id) => manifestOf(store, source, id)));
  return { dir, source, ids: [s1, s2, s3, s4], manifests, options };
}

describe.each(stores)('%s store', (_, open) => {
  test('a chain of snapshots: keep-last 1 keeps every pack the newest lists, even old ones, and it restores', async () => {
    const store = open();
    const { dir, source } = newRepository();
    const options = backupOptions();
    const ids = [await backup(store, dir, options)];
    for (const name of ['one', 'two']) {
      commitFile(dir, `${name}.txt`, `${name}\n`);
      ids.push(await backup(store, dir, options));
    }
    const newest = await manifestOf(store, source, ids[2]);
    // Each snapshot lists the previous one's packs plus its own: the newest lists all three.
    expect(newest.parts.filter((p) => p.type === 'git-pack')).toHaveLength(3);
    const packs = await keysUnder(store, packPrefix(source));
    expect(packs).toEqual(packKeysOf(newest));

    const result = await pruneStore(store, { last: 1 }, later());
    expect(unitOf(result, source)).toMatchObject({ kept: 1, removed: 2, packKeys: [] });
    expect(result).toMatchObject({ snapshotsRemoved: 2, packKeysRemoved: 0, keysDeleted: 2 });
    expect(result.units[0].packError).toBeUndefined();
    expect((await listSnapshots(store, 'git', source)).map((s) => s.id)).toEqual([ids[2]]);
    expect(await keysUnder(store, packPrefix(source))).toEqual(packs);
    await restoresNewest(store, source, dir);
  });

  test('after a branch deletion, a force-push and a fresh pack set: packs go only when no remaining snapshot lists them and they are old', async () => {
    const store = open();
    const { dir, source, ids, manifests } = await rewrittenHistory(store);
    const [p1, , p3, fresh] = manifests.map((m) => packKeysOf(m));
    // S2 reuses P1 (a deleted branch adds no object), S3 adds one pack, S4 starts afresh.
    expect(manifests[1].parts.every((p) => !p.added)).toBe(true);
    expect(p3).toEqual(expect.arrayContaining(p1));
    expect(p3).toHaveLength(4);
    expect(manifests[3].parts.every((p) => p.added)).toBe(true);
    expect(fresh).toHaveLength(2);
    const sizes = await sizesUnder(store, packPrefix(source));
    expect([...sizes.keys()].sort()).toEqual([...p3, ...fresh].sort());

    // keep-last 2 keeps S3 and S4: S3 lists P1 and P3, so nothing goes even when old.
    const two = await pruneStore(store, { last: 2 }, later());
    expect(unitOf(two, source)).toMatchObject({ kept: 2, removed: 2, packKeys: [] });
    expect(await keysUnder(store, packPrefix(source))).toEqual([...sizes.keys()].sort());
    await restoresNewest(store, source, dir);

    // keep-last 1 today: S3 goes; its packs are unreferenced but young (an upload could be under way).
    const young = await pruneStore(store, { last: 1 }, now());
    expect(unitOf(young, source)).toMatchObject({ kept: 1, removed: 1, packKeys: [] });
    expect(await keysUnder(store, packPrefix(source))).toEqual([...sizes.keys()].sort());

    // Two days later they are old: exactly the packs only removed snapshots listed go.
    const old = await pruneStore(store, { last: 1 }, later());
    const unreferenced = p3.filter((key) => !fresh.includes(key));
    expect(unitOf(old, source)).toMatchObject({ kept: 1, removed: 0, packKeys: unreferenced });
    expect(old).toMatchObject({ packKeysRemoved: 4, keysDeleted: 4 });
    expect(old.bytesFreed).toBe(unreferenced.reduce((sum, key) => sum + sizes.get(key)!, 0));
    expect(await keysUnder(store, packPrefix(source))).toEqual(fresh);
    expect((await listSnapshots(store, 'git', source)).map((s) => s.id)).toEqual([ids[3]]);
    await restoresNewest(store, source, dir);
  });

  test('a pack uploaded by a backup whose manifest is not written yet is kept while young, collected once old', async () => {
    const store = open();
    const { dir, source } = newRepository();
    const id = await backup(store, dir, backupOptions());
    const listed = packKeysOf(await manifestOf(store, source, id));
    const tip = git(dir, 'rev-parse', 'HEAD').trim();
    commitFile(dir, 'in-progress.txt', 'in progress\n');
    const head = git(dir, 'rev-parse', 'HEAD').trim();
    const folder = fs.mkdtempSync(path.join(work, 'pack-'));
    const written = await writePack(dir, { 'refs/heads/main': head }, [tip], folder);
    const uploaded = (await uploadPack(store, source, written!)).map((p) => `${packPrefix(source)}${p.name}`);

    const today = await pruneStore(store, { last: 1 }, now());
    expect(unitOf(today, source).packKeys).toEqual([]);
    expect(await keysUnder(store, packPrefix(source))).toEqual([...listed, ...uploaded].sort());

    const old = await pruneStore(store, { last: 1 }, later());
    expect(unitOf(old, source).packKeys).toEqual(uploaded.sort());
    expect(await keysUnder(store, packPrefix(source))).toEqual(listed);
    // The newest snapshot is still the first one: the source, set back to it, is what it restores.
    git(dir, 'reset', '--quiet', '--hard', tip);
    await restoresNewest(store, source, dir);
  });

  test('the packs of a first backup that never wrote its manifest are collected once old', async () => {
    const store = open();
    const { dir, source } = newRepository();
    const head = git(dir, 'rev-parse', 'HEAD').trim();
    const written = await writePack(
      dir,
      { 'refs/heads/main': head },
      [],
      fs.mkdtempSync(path.join(work, 'pack-')),
    );
    const uploaded = (await uploadPack(store, source, written!)).map((p) => `${packPrefix(source)}${p.name}`);

    expect(unitOf(await pruneStore(store, { last: 1 }, now()), source).packKeys).toEqual([]);
    const old = await pruneStore(store, { last: 1 }, later());
    expect(unitOf(old, source)).toMatchObject({ kept: 0, removed: 0, packKeys: uploaded.sort() });
    expect(await keysUnder(store, packPrefix(source))).toEqual([]);
  });

  test('a prune running while a backup uploads (after its pack, before its manifest) leaves the backup whole', async () => {
    const store = open();
    const { dir, source } = newRepository();
    const options = backupOptions();
    await backup(store, dir, options);
    commitFile(dir, 'concurrent.txt', 'concurrent\n');
    let during: PruneResult | undefined;
    const racing = delegating(store, {
      createExclusive: async (key, body) => {
        if (key.endsWith('/manifest.json') && !during) {
          during = await pruneStore(store, { last: 1 }, now());
        }
        return store.createExclusive(key, body);
      },
    });
    const id = await backup(racing, dir, options);
    expect(unitOf(during!, source)).toMatchObject({ removed: 0, packKeys: [] });
    const packs = await keysUnder(store, packPrefix(source));
    expect(packs).toEqual(packKeysOf(await manifestOf(store, source, id)));

    const old = await pruneStore(store, { last: 1 }, later());
    expect(unitOf(old, source)).toMatchObject({ removed: 1, packKeys: [] });
    expect(await keysUnder(store, packPrefix(source))).toEqual(packs);
    await restoresNewest(store, source, dir);
  });

  test('a dry run deletes nothing and reports what the real run then does', async () => {
    const store = open();
    const { source } = await rewrittenHistory(store);
    const before = await keysUnder(store, '');
    const dry = await pruneStore(store, { last: 1 }, later({ dryRun: true }));
    expect(await keysUnder(store, '')).toEqual(before);
    expect(dry).toMatchObject({ dryRun: true, snapshotsRemoved: 3, packKeysRemoved: 4, keysDeleted: 7 });
    expect(unitOf(dry, source).packKeys).toHaveLength(4);

    const real = await pruneStore(store, { last: 1 }, later());
    expect(real.units).toEqual(dry.units);
    expect({ ...real, dryRun: true }).toEqual(dry);
    expect((await keysUnder(store, '')).length).toBe(before.length - 7);
  });

  test('an unreadable remaining manifest keeps every pack of its repository; other repositories are collected', async () => {
    const store = open();
    const broken = await rewrittenHistory(store);
    const other = await rewrittenHistory(store);
    const brokenPacks = await keysUnder(store, packPrefix(broken.source));
    // A newer snapshot whose manifest cannot be read: it is kept, and it might list any pack.
    const newer = new Date(Date.now() + DAY).toISOString().replace(/[-:]/g, '');
    const brokenId = `${newer}-0000000b`;
    await store.createExclusive(`git/${broken.source}/${brokenId}/manifest.json`, Buffer.from('{ not json'));

    const result = await pruneStore(store, { last: 2 }, later());
    const unit = unitOf(result, broken.source);
    expect(unit).toMatchObject({ kept: 2, removed: 3, packKeys: [] });
    expect(unit.error).toBeUndefined();
    expect(unit.packError).toMatch(/^no pack removed: manifest of local\/repo-\d+ .* is not valid JSON/);
    expect(await keysUnder(store, packPrefix(broken.source))).toEqual(brokenPacks);
    expect(unitOf(result, other.source).packKeys).toHaveLength(0);

    const last = await pruneStore(store, { last: 1 }, later({ sources: [other.source] }));
    expect(unitOf(last, other.source).packKeys).toHaveLength(4);
    expect(await keysUnder(store, packPrefix(broken.source))).toEqual(brokenPacks);
    await restoresNewest(store, other.source, other.dir);
  });

  test('a bundle snapshot (format 1) goes as before; keys in the pack folder not named like packs are never touched', async () => {
    const store = open();
    const { dir, source } = newRepository();
    // An old format 1 snapshot: its bundle in its folder.
    const oldId = '20200101T000000.000Z-0000000a';
    const bundle = Buffer.from('bundle bytes\n');
    await store.createExclusive(`git/${source}/${oldId}/repo.bundle`, bundle);
    const v1: GitManifest = {
      format: 'backup-action-snapshot',
      formatVersion: BUNDLE_FORMAT_VERSION,
      id: oldId,
      kind: 'git',
      source,
      url: path.resolve(dir),
      createdAt: '2020-01-01T00:00:00.000Z',
      tool: { name: 'backup-action', version: 'test' },
      tags: [],
      git: {
        empty: false,
        objectFormat: 'sha1',
        head: 'refs/heads/main',
        refs: { 'refs/heads/main': 'b'.repeat(40) },
      },
      parts: [{ name: 'repo.bundle', type: 'git-bundle', size: bundle.length, sha256: 'a'.repeat(64) }],
      size: bundle.length,
    };
    await store.createExclusive(`git/${source}/${oldId}/manifest.json`, Buffer.from(JSON.stringify(v1)));
    const id = await backup(store, dir, backupOptions());
    const foreign = [`${packPrefix(source)}notes.txt`, `${packPrefix(source)}pack-123.pack`];
    for (const key of foreign) await store.createExclusive(key, Buffer.from('not ours'));
    const packs = packKeysOf(await manifestOf(store, source, id));

    const result = await pruneStore(store, { last: 1 }, later());
    expect(unitOf(result, source)).toMatchObject({ kept: 1, removed: 1, packKeys: [] });
    expect(result).toMatchObject({ keysDeleted: 2, packKeysRemoved: 0 });
    expect(await keysUnder(store, `git/${source}/${oldId}/`)).toEqual([]);
    expect(await keysUnder(store, packPrefix(source))).toEqual([...packs, ...foreign].sort());
    await restoresNewest(store, source, dir);
  });
});
