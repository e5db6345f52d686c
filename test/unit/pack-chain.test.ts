import * as fs from 'node:fs';
import * as path from 'node:path';
import { backupAll, type BackupOptions } from '../../src/git/backup.js';
import { MAX_PACKS } from '../../src/git/packs.js';
import { restoreSnapshot } from '../../src/git/restore.js';
import { resolveSource } from '../../src/git/source.js';
import { pruneStore } from '../../src/retention/prune.js';
import { listSnapshots, readGitManifest } from '../../src/snapshot/catalog.js';
import { commitFile, git, refsOf, tempDir } from '../support/fixtures.js';
import { bothStores } from '../support/stores.js';

// A long chain of format 2 snapshots, one a day, through a compaction (a fresh pack set after
// MAX_PACKS packs), a force-push and a deleted branch, then the oldest pruned: every remaining snapshot
// restores to exactly the refs the source had when it was taken. Real git, both stores.
let work: string;
let counter = 0;
const stores = bothStores('chain');

beforeAll(() => {
  work = tempDir();
});

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** A backup of `dir`'s repository with its mirrors under `work`. */
const backupOptions = (): BackupOptions => ({
  auth: { serverUrl: 'https://github.com' },
  force: false,
  tags: [],
  concurrency: 1,
  mirrorRoot: path.join(work, `mirrors-${++counter}`),
  cacheMirrors: false,
});

describe.each(stores)('%s store', (_, openStore) => {
  test("a first backup uploads the mirror's own pack when it holds exactly what the refs reach", async () => {
    const store = openStore();
    const dir = path.join(work, `packed-${++counter}`);
    fs.mkdirSync(dir);
    git(dir, 'init', '--quiet', '--initial-branch=main');
    for (const i of [1, 2, 3]) commitFile(dir, `file-${i}.txt`, `content ${i}\n`);
    git(dir, 'repack', '--quiet', '-a', '-d');
    const [sourcePack] = fs
      .readdirSync(path.join(dir, '.git', 'objects', 'pack'))
      .filter((f) => f.endsWith('.pack'));
    const source = resolveSource(dir, 'https://github.com');
    const options = backupOptions();
    const [result] = await backupAll([{ source, store }], options);
    expect(result.status).toBe('created');
    const [snapshot] = await listSnapshots(store, 'git', source.name);
    const manifest = await readGitManifest(store, snapshot);
    // A clone of a packed repository shares its one pack: that very pack is what was uploaded.
    expect(manifest.parts.map((part) => part.name).sort()).toEqual(
      [sourcePack, sourcePack.replace(/\.pack$/, '.idx')].sort(),
    );
    const target = path.join(work, `restored-${++counter}`);
    await restoreSnapshot(store, snapshot, target, undefined, { fullCheck: true });
    expect(refsOf(target)).toBe(refsOf(dir));
  });

  test('every snapshot of a chain past a compaction, a force-push and a deleted branch restores its refs, also after the oldest are pruned', async () => {
    const store = openStore();
    const dir = path.join(work, `repo-${++counter}`);
    fs.mkdirSync(dir);
    git(dir, 'init', '--quiet', '--initial-branch=main');
    commitFile(dir, 'README.md', '# chain\n');
    const source = resolveSource(dir, 'https://github.com');
    const options = backupOptions();
    const expected = new Map<string, string>();
    const day = async (change: () => void) => {
      change();
      const [result] = await backupAll([{ source, store }], options);
      expect(result.status).toBe('created');
      expected.set(result.snapshotId!, refsOf(dir));
    };

    await day(() => git(dir, 'branch', 'feature'));
    for (let i = 1; i <= MAX_PACKS + 3; i++) {
      await day(() => {
        if (i === 10) git(dir, 'branch', '-D', 'feature'); // a deleted branch
        if (i === 20) git(dir, 'reset', '--quiet', '--hard', 'HEAD~3'); // a force-push
        commitFile(dir, `day-${i}.txt`, `day ${i}\n`);
      });
    }

    // The set restarted once: the newest lists few packs, and every manifest at most MAX_PACKS.
    const snapshots = await listSnapshots(store, 'git', source.name);
    expect(snapshots).toHaveLength(MAX_PACKS + 4);
    const packCounts: number[] = [];
    for (const snapshot of snapshots) {
      const manifest = await readGitManifest(store, snapshot);
      packCounts.push(manifest.parts.filter((part) => part.type === 'git-pack').length);
    }
    expect(Math.max(...packCounts)).toBeLessThanOrEqual(MAX_PACKS);
    expect(packCounts[0]).toBeLessThan(10);

    const restoresTo = async (snapshot: (typeof snapshots)[number]) => {
      const target = path.join(work, `restored-${++counter}`);
      await restoreSnapshot(store, snapshot, target);
      expect({ id: snapshot.id, refs: refsOf(target) }).toEqual({
        id: snapshot.id,
        refs: expected.get(snapshot.id),
      });
    };
    // Across the chain: every fourth snapshot, and every one since the restart.
    for (const [i, snapshot] of snapshots.entries()) if (i % 4 === 0 || i < 5) await restoresTo(snapshot);

    // The oldest go (the 3 newest are kept, all after the restart), as if two days later so that every
    // unreferenced pack is older than orphan-age: the first set's packs are no longer listed by anyone.
    const pruned = await pruneStore(
      store,
      { last: 3 },
      { dryRun: false, now: new Date(Date.now() + 2 * 24 * 60 * 60 * 1000) },
    );
    expect(pruned.snapshotsRemoved).toBe(snapshots.length - 3);
    expect(pruned.packKeysRemoved).toBeGreaterThanOrEqual(MAX_PACKS);
    const remaining = await listSnapshots(store, 'git', source.name);
    expect(remaining.map((s) => s.id)).toEqual(snapshots.slice(0, 3).map((s) => s.id));
    for (const snapshot of remaining) await restoresTo(snapshot);
  }, 300_000);
});
