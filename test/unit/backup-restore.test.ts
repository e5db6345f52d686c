import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backupAll, type BackupOptions } from '../../src/git/backup.js';
import { resolveSource } from '../../src/git/source.js';
import { restoreSnapshot } from '../../src/git/restore.js';
import { addSecret } from '../../src/util/secrets.js';
import { listSnapshots, readGitManifest } from '../../src/snapshot/catalog.js';
import { LocalStore } from '../../src/store/local-store.js';
import {
  commitFile,
  createEmptyRepository,
  createRichRepository,
  git,
  objectsOf,
  refsOf,
  tempDir,
} from '../support/fixtures.js';

// The engine end to end with real git and the local-folder store (the S3 store runs through the
// bundled action in action/backup.test.ts).
let work: string;
let repository: string;
let store: LocalStore;
let options: BackupOptions;

beforeAll(() => {
  work = tempDir();
  repository = createRichRepository(path.join(work, 'rich'));
});

beforeEach(() => {
  store = new LocalStore(fs.mkdtempSync(path.join(work, 'store-')));
  options = {
    auth: { serverUrl: 'https://github.com' },
    force: false,
    tags: ['nightly'],
    concurrency: 2,
    mirrorRoot: fs.mkdtempSync(path.join(work, 'mirrors-')),
    cacheMirrors: false,
  };
});

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const job = (spec: string) => ({ source: resolveSource(spec, 'https://github.com'), store });

test('back up, restore: same refs, same objects, HEAD kept, fsck clean', async () => {
  const [result] = await backupAll([job(repository)], options);
  expect(result).toMatchObject({ status: 'created', refs: 5 });
  expect(result.bytes).toBeGreaterThan(3 * 1024 * 1024);

  const [snapshot] = await listSnapshots(store, 'git', 'local/rich');
  const manifest = await readGitManifest(store, snapshot);
  expect(manifest).toMatchObject({
    id: result.snapshotId,
    tags: ['nightly'],
    git: { empty: false, head: 'refs/heads/trunk' },
  });
  expect(Object.keys(manifest.git.refs).sort()).toEqual([
    'refs/heads/feature/deep/nested-name',
    'refs/heads/trunk',
    'refs/notes/commits',
    'refs/tags/lightweight-tag',
    'refs/tags/v1.0.0',
  ]);

  const target = path.join(work, 'restored-rich');
  const restored = await restoreSnapshot(store, snapshot, target);
  expect(restored.refs).toBe(5);
  expect(refsOf(target)).toBe(refsOf(repository));
  expect(objectsOf(target)).toBe(objectsOf(repository));
  expect(git(target, 'symbolic-ref', 'HEAD').trim()).toBe('refs/heads/trunk');
  expect(git(target, 'cat-file', '-t', 'v1.0.0').trim()).toBe('tag');
  expect(git(target, 'notes', 'show', 'v1.0.0^{commit}').trim()).toBe('a note on the release commit');
  git(target, 'fsck', '--full', '--strict');
});

test('unchanged refs upload nothing; a new commit or force makes a new snapshot', async () => {
  const copy = path.join(work, 'changing');
  git(work, 'clone', '--quiet', repository, copy);
  const first = await backupAll([job(copy)], options);
  expect(first[0].status).toBe('created');

  const second = await backupAll([job(copy)], options);
  expect(second[0]).toMatchObject({ status: 'unchanged', bytes: 0, snapshotId: first[0].snapshotId });

  commitFile(copy, 'new.txt', 'new\n');
  const third = await backupAll([job(copy)], options);
  expect(third[0].status).toBe('created');

  // The default branch moved on the remote: the next snapshot records the new HEAD.
  git(copy, 'checkout', '--quiet', '-b', 'new-default');
  const fourth = await backupAll([job(copy)], options);
  expect(fourth[0].status).toBe('created');
  const [newest] = await listSnapshots(store, 'git', 'local/changing');
  expect((await readGitManifest(store, newest)).git.head).toBe('refs/heads/new-default');

  const forced = await backupAll([job(copy)], { ...options, force: true });
  expect(forced[0].status).toBe('created');
  expect((await listSnapshots(store, 'git', 'local/changing')).map((s) => s.id)).toEqual([
    forced[0].snapshotId,
    fourth[0].snapshotId,
    third[0].snapshotId,
    first[0].snapshotId,
  ]);
});

test('a repository without commits is backed up and restores as an empty repository', async () => {
  const empty = createEmptyRepository(path.join(work, 'empty'));
  const [result] = await backupAll([job(empty)], options);
  expect(result).toMatchObject({ status: 'created', refs: 0 });
  const [snapshot] = await listSnapshots(store, 'git', 'local/empty');
  const manifest = await readGitManifest(store, snapshot);
  expect(manifest.git.empty).toBe(true);
  expect(manifest.parts).toEqual([]);

  const target = path.join(work, 'restored-empty');
  await restoreSnapshot(store, snapshot, target);
  expect(refsOf(target)).toBe('');
  expect((await backupAll([job(empty)], options))[0].status).toBe('unchanged');
});

test('one failing repository does not stop the others', async () => {
  const missing = path.join(work, 'missing-but-exists-at-parse');
  fs.mkdirSync(missing);
  const jobs = [job(repository), job(missing)];
  fs.rmSync(missing, { recursive: true });
  const results = await backupAll(jobs, options);
  expect(results.map((r) => r.status)).toEqual(['created', 'failed']);
  expect(results[1].error).toMatch(/repository was not found|cannot (read|fetch)/);
  expect(await listSnapshots(store, 'git', 'local/missing-but-exists-at-parse')).toEqual([]);
});

test('a corrupt part is refused on restore and nothing is left at the target', async () => {
  await backupAll([job(repository)], options);
  const [snapshot] = await listSnapshots(store, 'git', 'local/rich');
  const pack = (await readGitManifest(store, snapshot)).parts.find((part) => part.type === 'git-pack')!;
  const file = path.join(store.location, 'packs', 'git', 'local', 'rich', pack.name);
  const bytes = fs.readFileSync(file);
  bytes[bytes.length - 100] ^= 0xff;
  fs.writeFileSync(file, bytes);
  const target = path.join(work, 'restored-corrupt');
  await expect(restoreSnapshot(store, snapshot, target)).rejects.toThrow(
    /pack-[0-9a-f]{40}\.pack .* is corrupt/,
  );
  expect(fs.existsSync(target)).toBe(false);
});

test('a snapshot without manifest (interrupted run) is not listed', async () => {
  const [result] = await backupAll([job(repository)], options);
  fs.rmSync(path.join(store.location, 'git', 'local', 'rich', result.snapshotId!, 'manifest.json'));
  expect(await listSnapshots(store, 'git', 'local/rich')).toEqual([]);
  // And the next run writes a complete snapshot rather than trusting the orphan.
  expect((await backupAll([job(repository)], options))[0].status).toBe('created');
});

describe('hardening', () => {
  test('a short secret that occurs in a ref name does not corrupt the manifest', async () => {
    addSecret('nested'); // occurs in refs/heads/feature/deep/nested-name
    const [result] = await backupAll([job(repository)], options);
    const [snapshot] = await listSnapshots(store, 'git', 'local/rich');
    expect(Object.keys((await readGitManifest(store, snapshot)).git.refs)).toContain(
      'refs/heads/feature/deep/nested-name',
    );
    await restoreSnapshot(store, snapshot, path.join(work, `restored-secret-${result.snapshotId}`));
    expect((await backupAll([job(repository)], options))[0].status).toBe('unchanged');
  });

  test('an inherited GIT_DIR does not send git to another repository', async () => {
    const victim = createRichRepository(path.join(work, 'victim'));
    commitFile(victim, 'victim.txt', 'victim\n');
    const victimRefs = refsOf(victim);
    const other = path.join(work, 'other-source');
    git(work, 'clone', '--quiet', '--mirror', repository, other);
    process.env.GIT_DIR = path.join(victim, '.git');
    try {
      await backupAll([job(other)], options);
    } finally {
      delete process.env.GIT_DIR;
    }
    const [snapshot] = await listSnapshots(store, 'git', 'local/other-source');
    expect((await readGitManifest(store, snapshot)).git.refs).toEqual(
      Object.fromEntries(
        refsOf(repository)
          .trim()
          .split('\n')
          .map((line) => line.split(' ').reverse()),
      ),
    );
    expect(refsOf(victim)).toBe(victimRefs);
  });

  test('a shallow clone is refused: its snapshot could not be restored', async () => {
    const shallow = path.join(work, 'shallow');
    git(work, 'clone', '--quiet', '--depth', '1', `file://${repository}`, shallow);
    const [result] = await backupAll([job(shallow)], options);
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/Input "repositories": .* is a shallow clone.*fetch-depth: 0/);
    expect(await listSnapshots(store, 'git', 'local/shallow')).toEqual([]);
  });

  test('history with legacy format errors (a "+05" timezone) backs up and restores', async () => {
    const legacy = path.join(work, 'legacy');
    git(work, 'init', '--quiet', '--bare', legacy);
    const tree = git(legacy, 'mktree').trim() || '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
    const commit = `tree ${tree}\nauthor Old <old@example.com> 1000000000 +05\ncommitter Old <old@example.com> 1000000000 +05\n\nold tool\n`;
    const id = execFileSync('git', ['hash-object', '-t', 'commit', '-w', '--literally', '--stdin'], {
      cwd: legacy,
      input: commit,
      encoding: 'utf8',
    }).trim();
    git(legacy, 'update-ref', 'refs/heads/main', id);
    git(legacy, 'symbolic-ref', 'HEAD', 'refs/heads/main');
    expect((await backupAll([job(legacy)], options))[0].status).toBe('created');
    const [snapshot] = await listSnapshots(store, 'git', 'local/legacy');
    const target = path.join(work, 'restored-legacy');
    await restoreSnapshot(store, snapshot, target);
    expect(refsOf(target)).toBe(refsOf(legacy));
  });

  test('two runs on one repository and one mirror folder at once: both snapshots are consistent', async () => {
    const results = await Promise.all([
      backupAll([job(repository)], { ...options, force: true }),
      backupAll([job(repository)], { ...options, force: true }),
    ]);
    expect(results.map(([result]) => result.status)).toEqual(['created', 'created']);
    for (const snapshot of await listSnapshots(store, 'git', 'local/rich')) {
      const target = path.join(work, `restored-race-${snapshot.id}`);
      await restoreSnapshot(store, snapshot, target);
      expect(refsOf(target)).toBe(refsOf(repository));
    }
    expect(
      fs.readdirSync(options.mirrorRoot, { recursive: true }).filter((f) => String(f).endsWith('.lock')),
    ).toEqual([]);
  });

  test('an unreadable newest manifest does not block backups: a new snapshot is written', async () => {
    const [first] = await backupAll([job(repository)], options);
    const manifest = path.join(store.location, 'git', 'local', 'rich', first.snapshotId!, 'manifest.json');
    fs.writeFileSync(manifest, '{ not json');
    const [second] = await backupAll([job(repository)], options);
    expect(second.status).toBe('created');
  });

  test('snapshots of another repository under the same name are not mixed in', async () => {
    await backupAll([job(repository)], options);
    const impostor = createRichRepository(path.join(work, 'elsewhere', 'rich'));
    const [result] = await backupAll([job(impostor)], options);
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/holds snapshots of .*\/rich under the name local\/rich/);
  });
});
