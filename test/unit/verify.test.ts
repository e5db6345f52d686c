import { snapshotFiles } from '../../src/files/backup.js';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { backupAll, type BackupOptions } from '../../src/git/backup.js';
import { InputError } from '../../src/util/errors.js';
import { resolveSource } from '../../src/git/source.js';
import { listSnapshots, readManifest } from '../../src/snapshot/catalog.js';
import { FILES_FORMAT_VERSION, snapshotPrefix } from '../../src/snapshot/manifest.js';
import { LocalStore } from '../../src/store/local-store.js';
import { S3Store } from '../../src/store/s3-store.js';
import type { Store, StoredObject } from '../../src/store/store.js';
import {
  RESTORE_CHECKS,
  type RestoreCheck,
  type VerifyLevel,
  type VerifyReport,
  type CheckSettings,
  verifyStore,
} from '../../src/verify/checker.js';
import { readCheckSettings } from '../../src/settings/verify.js';
import { commitFile, createRichRepository, git, tempDir } from '../support/fixtures.js';
import { writeBundleSnapshot } from '../support/v1-snapshot.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';
import { s3Client } from '../support/helpers.js';

// The verify engine against real backups, in a local folder and on S3 (a real S3-protocol server on
// 127.0.0.1); corruption is made behind the store's back, with fs or a plain S3 client.
const BUCKET = 'verify';
// Names such that each of 3 subset groups gets at least one (the groups come from a hash of the name).
const NAMES = ['alpha', 'bravo', 'charlie', 'delta', 'india'];
const UNITS = NAMES.map((name) => `git/local/${name}`);
const LEVELS: VerifyLevel[] = ['manifest', 'read-data', 'restore'];

let s3: S3Server;
let client: S3Client;
let work: string;
let options: BackupOptions;
let roots = 0;

beforeAll(async () => {
  s3 = await startS3Server({ buckets: [BUCKET] });
  client = s3Client(s3);
  work = tempDir();
  // alpha has a 3 MB bundle (read in many chunks); the others are small.
  createRichRepository(path.join(work, 'repos', 'alpha'));
  for (const name of NAMES.slice(1)) {
    const dir = path.join(work, 'repos', name);
    fs.mkdirSync(dir, { recursive: true });
    git(dir, 'init', '--quiet', '--initial-branch=main');
    commitFile(dir, 'README.md', `# ${name}\n`);
    git(dir, 'tag', 'v1');
  }
  options = {
    auth: { serverUrl: 'https://github.com' },
    force: false,
    tags: [],
    concurrency: 4,
    mirrorRoot: path.join(work, 'mirrors'),
    cacheMirrors: false,
  };
});

afterAll(async () => {
  client?.destroy();
  await s3?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

/** A store type, and a way to read and change its objects behind its back. */
interface Backend {
  open(root: string): Store;
  read(root: string, key: string): Promise<Buffer>;
  write(root: string, key: string, data: Buffer): Promise<void>;
  remove(root: string, key: string): Promise<void>;
}

const openS3 = (root: string, bucket = BUCKET) =>
  new S3Store({
    bucket,
    prefix: root,
    location: `s3://${bucket}/${root}`,
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    endpointInput: 'endpoint',
  });

const localFile = (root: string, key: string) => path.join(work, 'stores', root, ...key.split('/'));

const backends: Array<[string, Backend]> = [
  [
    'local folder',
    {
      open: (root) => new LocalStore(path.join(work, 'stores', root)),
      read: async (root, key) => fs.readFileSync(localFile(root, key)),
      write: async (root, key, data) => fs.writeFileSync(localFile(root, key), data),
      remove: async (root, key) => fs.rmSync(localFile(root, key)),
    },
  ],
  [
    'S3',
    {
      open: (root) => openS3(root),
      read: async (root, key) => {
        const response = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: `${root}/${key}` }));
        return Buffer.from(await response.Body!.transformToByteArray());
      },
      write: async (root, key, data) => {
        await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${root}/${key}`, Body: data }));
      },
      remove: async (root, key) => {
        await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `${root}/${key}` }));
      },
    },
  ],
];

/** A new, empty store root (a folder or a key prefix). */
const freshRoot = () => `store-${++roots}`;

/** Backs the repositories up into `store` and returns the snapshot ids, in the same order. */
async function backUp(store: Store, names: string[], force = false): Promise<string[]> {
  const jobs = names.map((name) => ({
    source: resolveSource(path.join(work, 'repos', name), 'https://github.com'),
    store,
  }));
  const results = await backupAll(jobs, { ...options, force });
  expect(results.map((result) => result.status)).toEqual(names.map(() => 'created'));
  return results.map((result) => result.snapshotId!);
}

const settings = (level: VerifyLevel, extra: Partial<CheckSettings> = {}): CheckSettings => ({
  level,
  snapshot: 'latest',
  ...extra,
});

const unitsOf = (report: VerifyReport) => report.results.map((result) => `${result.kind}/${result.source}`);

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function flipMiddleByte(data: Buffer): Buffer {
  const copy = Buffer.from(data);
  copy[copy.length >> 1] ^= 0xff;
  return copy;
}

/** Changes one object of a snapshot behind the store's back; `key(name)` is the object's key. */
type Corruption = (backend: Backend, root: string, key: (name: string) => string) => Promise<void>;

async function editManifest(
  backend: Backend,
  root: string,
  key: (name: string) => string,
  edit: (manifest: { parts: Array<{ sha256: string }>; git: { refs: Record<string, string> } }) => void,
): Promise<void> {
  const manifest = JSON.parse((await backend.read(root, key('manifest.json'))).toString('utf8'));
  edit(manifest);
  await backend.write(root, key('manifest.json'), Buffer.from(JSON.stringify(manifest, null, 2)));
}

type Expected = { part?: string; message: RegExp } | 'ok';

type PackKeys = { folder: string; pack: string; index: string };
type PackExpected = { part?: 'pack' | 'index'; message: RegExp } | 'ok';

/** Format 2: the newest snapshot's own pack (or index) damaged; what each level must report. */
const packCorruptions: Array<
  [string, (b: Backend, root: string, keys: PackKeys) => Promise<void>, Record<VerifyLevel, PackExpected>]
> = [
  [
    'a byte flipped in the middle of a pack',
    async (b, root, { pack }) => b.write(root, pack, flipMiddleByte(await b.read(root, pack))),
    {
      manifest: 'ok',
      'read-data': { part: 'pack', message: /^has sha256 [0-9a-f]{64}; the manifest says [0-9a-f]{64}$/ },
      restore: { part: 'pack', message: /^has sha256 [0-9a-f]{64}; the manifest says/ },
    },
  ],
  [
    'a truncated index',
    async (b, root, { index }) => {
      const data = await b.read(root, index);
      await b.write(root, index, data.subarray(0, data.length - 100));
    },
    {
      manifest: { part: 'index', message: /^has \d+ bytes; the manifest says \d+$/ },
      'read-data': { part: 'index', message: /^has \d+ bytes; the manifest says \d+$/ },
      restore: { part: 'index', message: /^has \d+ bytes; the manifest says \d+$/ },
    },
  ],
  [
    'a missing pack',
    async (b, root, { pack }) => b.remove(root, pack),
    {
      manifest: { part: 'pack', message: /^is missing$/ },
      'read-data': { part: 'pack', message: /^is missing$/ },
      restore: { part: 'pack', message: /^is missing$/ },
    },
  ],
  [
    "a manifest with a ref's object id changed",
    async (b, root, { folder }) =>
      editManifest(
        b,
        root,
        (name) => `${folder}${name}`,
        (manifest) => {
          manifest.git.refs['refs/heads/trunk'] = '1'.repeat(40);
        },
      ),
    { manifest: 'ok', 'read-data': 'ok', restore: { message: /^restore failed: .*refs\/heads\/trunk/ } },
  ],
  [
    // What only git sees: broken data whose manifest was rewritten to match it.
    'a corrupt pack with a matching sha256 in the manifest',
    async (b, root, { folder, pack }) => {
      const corrupt = flipMiddleByte(await b.read(root, pack));
      await b.write(root, pack, corrupt);
      await editManifest(
        b,
        root,
        (name) => `${folder}${name}`,
        (manifest) => {
          const part = (manifest.parts as Array<{ name: string; sha256: string }>).find((p) =>
            pack.endsWith(p.name),
          )!;
          part.sha256 = sha256(corrupt);
        },
      );
    },
    { manifest: 'ok', 'read-data': 'ok', restore: { message: /^restore failed: git fsck failed/ } },
  ],
];

/** What each level must report for each corruption: the lowest level that can see it, and above. */
const corruptions: Array<[string, Corruption, Record<VerifyLevel, Expected>]> = [
  [
    'a byte flipped in the middle of the bundle',
    async (backend, root, key) =>
      backend.write(root, key('repo.bundle'), flipMiddleByte(await backend.read(root, key('repo.bundle')))),
    {
      manifest: 'ok',
      'read-data': {
        part: 'repo.bundle',
        message: /^has sha256 [0-9a-f]{64}; the manifest says [0-9a-f]{64}$/,
      },
      restore: { part: 'repo.bundle', message: /^has sha256 [0-9a-f]{64}; the manifest says/ },
    },
  ],
  [
    'a truncated bundle',
    async (backend, root, key) => {
      const bundle = await backend.read(root, key('repo.bundle'));
      await backend.write(root, key('repo.bundle'), bundle.subarray(0, bundle.length - 1000));
    },
    {
      manifest: { part: 'repo.bundle', message: /^has \d+ bytes; the manifest says \d+$/ },
      'read-data': { part: 'repo.bundle', message: /^has \d+ bytes; the manifest says \d+$/ },
      restore: { part: 'repo.bundle', message: /^has \d+ bytes; the manifest says \d+$/ },
    },
  ],
  [
    'a missing bundle',
    async (backend, root, key) => backend.remove(root, key('repo.bundle')),
    {
      manifest: { part: 'repo.bundle', message: /^is missing$/ },
      'read-data': { part: 'repo.bundle', message: /^is missing$/ },
      restore: { part: 'repo.bundle', message: /^is missing$/ },
    },
  ],
  [
    "a manifest with a ref's object id changed",
    async (backend, root, key) =>
      editManifest(backend, root, key, (manifest) => {
        manifest.git.refs['refs/heads/trunk'] = '1'.repeat(40);
      }),
    {
      manifest: 'ok',
      'read-data': 'ok',
      restore: { message: /^restore failed: restored refs differ from the manifest: refs\/heads\/trunk$/ },
    },
  ],
  [
    "a manifest with the bundle's sha256 changed",
    async (backend, root, key) =>
      editManifest(backend, root, key, (manifest) => {
        manifest.parts[0].sha256 = '0'.repeat(64);
      }),
    {
      manifest: 'ok',
      'read-data': { part: 'repo.bundle', message: /^has sha256 [0-9a-f]{64}; the manifest says 0{64}$/ },
      restore: { part: 'repo.bundle', message: /the manifest says 0{64}$/ },
    },
  ],
  [
    'a manifest that is not JSON',
    async (backend, root, key) =>
      backend.write(root, key('manifest.json'), Buffer.from('{"format": "backup-')),
    {
      manifest: { part: 'manifest.json', message: /is not valid JSON/ },
      'read-data': { part: 'manifest.json', message: /is not valid JSON/ },
      restore: { part: 'manifest.json', message: /is not valid JSON/ },
    },
  ],
  [
    // What only git sees: broken data whose manifest was rewritten to match it.
    'a corrupt bundle with a matching sha256 in the manifest',
    async (backend, root, key) => {
      const corrupt = flipMiddleByte(await backend.read(root, key('repo.bundle')));
      await backend.write(root, key('repo.bundle'), corrupt);
      await editManifest(backend, root, key, (manifest) => {
        manifest.parts[0].sha256 = sha256(corrupt);
      });
    },
    { manifest: 'ok', 'read-data': 'ok', restore: { message: /^restore failed: git fetch failed/ } },
  ],
];

test.each(['1/3', '3/3', 'auto/3', '1/1', '02/7'])('subset %s is accepted', (subset) => {
  expect(readCheckSettings((name) => (name === 'subset' ? subset : '')).subset).toBeDefined();
});

test('settings: defaults, and each bad value names its input', () => {
  expect(readCheckSettings(() => '')).toEqual({ level: 'read-data', snapshot: 'latest' });
  const inputs = { level: 'restore', snapshot: '20261122T020000.123Z-1a2b3c4d', subset: 'auto/7' };
  expect(readCheckSettings((name) => inputs[name as keyof typeof inputs] ?? '')).toEqual({
    level: 'restore',
    snapshot: '20261122T020000.123Z-1a2b3c4d',
    subset: { n: 'auto', t: 7 },
  });
  const bad: Array<[string, string]> = [
    ['level', 'full'],
    ['snapshot', 'newest'],
    ['snapshot', '20261122T020000Z'],
    ['subset', '0/3'],
    ['subset', '4/3'],
    ['subset', '1/0'],
    ['subset', '1-3'],
    ['subset', 'auto'],
    ['subset', '1/3/5'],
  ];
  for (const [input, value] of bad) {
    const read = (name: string) => (name === input ? value : '');
    expect(() => readCheckSettings(read)).toThrow(InputError);
    expect(() => readCheckSettings(read)).toThrow(`Input "${input}": "${value}"`);
  }
});

test('a failing listing fails the whole verify with a clear error', async () => {
  class BrokenStore extends LocalStore {
    override list(): AsyncIterable<StoredObject> {
      throw new Error('EIO: i/o error');
    }
  }
  const broken = new BrokenStore(path.join(work, 'stores', freshRoot()));
  await expect(verifyStore(broken, settings('manifest'))).rejects.toThrow(
    `cannot list the snapshots in ${broken.location}: EIO: i/o error`,
  );
});

describe.each(backends)('%s store', (_, backend) => {
  let healthyRoot: string;
  let healthy: Store;

  beforeAll(async () => {
    healthyRoot = freshRoot();
    healthy = backend.open(healthyRoot);
    await backUp(healthy, NAMES);
  });

  test('a healthy store passes at every level; restores go to the scratch folder, which is emptied', async () => {
    const sizes = await Promise.all(
      (await listSnapshots(healthy)).map(async (snapshot) => (await readManifest(healthy, snapshot)).size),
    );
    const total = sizes.reduce((sum, size) => sum + size, 0);
    const scratchDir = path.join(work, `scratch-${healthyRoot}`);
    const targets: string[] = [];
    const recordingGit: RestoreCheck = async (store, snapshot, target) => {
      targets.push(target);
      await RESTORE_CHECKS.git!(store, snapshot, target);
      expect(fs.existsSync(path.join(target, 'HEAD'))).toBe(true);
    };
    for (const level of LEVELS) {
      const report = await verifyStore(healthy, settings(level), {
        scratchDir,
        restoreChecks: { git: recordingGit },
      });
      expect(report.results.filter((result) => !result.ok)).toEqual([]);
      expect(report).toMatchObject({ ok: true, level, missing: [] });
      expect(unitsOf(report)).toEqual(UNITS);
      expect(report.summary).toEqual({
        units: 5,
        skippedUnits: 0,
        checked: 5,
        failed: 0,
        bytesRead: level === 'manifest' ? 0 : total,
      });
    }
    expect(targets).toHaveLength(5);
    for (const target of targets) expect(path.dirname(path.dirname(target))).toBe(scratchDir);
    expect(fs.readdirSync(scratchDir)).toEqual([]);
  });

  test.each(corruptions)('%s is found at the lowest level that can see it', async (_, corrupt, expected) => {
    const root = freshRoot();
    const store = backend.open(root);
    // alpha in format 1 (one bundle, as 0.1 wrote it: format 1 stays verifiable), bravo in format 2.
    const alpha = path.join(work, 'repos', 'alpha');
    const id = await writeBundleSnapshot(store, resolveSource(alpha, 'https://github.com'), alpha);
    await backUp(store, ['bravo']);
    await corrupt(backend, root, (name) => `${snapshotPrefix('git', 'local/alpha', id)}${name}`);
    const scratchDir = path.join(work, `scratch-${root}`);

    for (const level of LEVELS) {
      const report = await verifyStore(store, settings(level), { scratchDir });
      // Every snapshot is checked: the healthy one after the broken one still passes.
      expect(report.results.map(({ source, ok }) => ({ source, ok }))).toEqual([
        { source: 'local/alpha', ok: expected[level] === 'ok' },
        { source: 'local/bravo', ok: true },
      ]);
      const [alpha] = report.results;
      expect({ level, id: alpha.id, problems: alpha.problems }).toEqual({
        level,
        id,
        problems:
          expected[level] === 'ok'
            ? []
            : [{ part: expected[level].part, message: expect.stringMatching(expected[level].message) }],
      });
      expect(report.summary).toMatchObject({ checked: 2, failed: expected[level] === 'ok' ? 0 : 1 });
      expect(report.ok).toBe(expected[level] === 'ok');
    }
    expect(fs.existsSync(scratchDir) ? fs.readdirSync(scratchDir) : []).toEqual([]);
  });

  test.each(packCorruptions)(
    'format 2: %s is found at the lowest level that can see it',
    async (_, corrupt, expected) => {
      const root = freshRoot();
      const store = backend.open(root);
      // Two snapshots of alpha: the newest lists two packs (the first one's and its own).
      const [first] = await backUp(store, ['alpha']);
      const repository = path.join(work, 'repos', 'alpha');
      commitFile(repository, `more-${root}.txt`, `another day ${root}\n`);
      const [id] = await backUp(store, ['alpha']);
      const folder = snapshotPrefix('git', 'local/alpha', id);
      const manifest = JSON.parse((await backend.read(root, `${folder}manifest.json`)).toString('utf8'));
      const packs = manifest.parts.filter((part: { added?: boolean }) => part.added);
      expect(packs.map((part: { type: string }) => part.type).sort()).toEqual(['git-pack', 'git-pack-index']);
      const pack = packs.find((part: { type: string }) => part.type === 'git-pack').name as string;
      const index = pack.replace(/\.pack$/, '.idx');
      await corrupt(backend, root, {
        folder,
        pack: `packs/git/local/alpha/${pack}`,
        index: `packs/git/local/alpha/${index}`,
      });
      const names: Record<string, string> = { pack, index };
      const scratchDir = path.join(work, `scratch-${root}`);

      for (const level of LEVELS) {
        const report = await verifyStore(store, settings(level, { snapshot: 'all' }), { scratchDir });
        // The older snapshot does not list the damaged pack: it still passes.
        expect(report.results.map(({ id: checked, ok }) => ({ id: checked, ok }))).toEqual([
          { id, ok: expected[level] === 'ok' },
          { id: first, ok: true },
        ]);
        const want = expected[level];
        expect({ level, problems: report.results[0].problems }).toEqual({
          level,
          problems:
            want === 'ok'
              ? []
              : [
                  {
                    ...(want.part ? { part: names[want.part] } : {}),
                    message: expect.stringMatching(want.message),
                  },
                ],
        });
      }
      expect(fs.existsSync(scratchDir) ? fs.readdirSync(scratchDir) : []).toEqual([]);
    },
  );

  test('snapshot selection: all, latest, an id; what is asked for but absent is reported', async () => {
    const store = backend.open(freshRoot());
    const [oldest] = await backUp(store, ['charlie']);
    const [middle] = await backUp(store, ['charlie'], true);
    const [newest] = await backUp(store, ['charlie'], true);
    const ids = async (snapshot: string, sources?: string[]) => {
      const report = await verifyStore(store, settings('manifest', { snapshot }), { sources });
      return { ids: report.results.map((result) => result.id), missing: report.missing, ok: report.ok };
    };

    expect(await ids('all')).toEqual({ ids: [newest, middle, oldest], missing: [], ok: true });
    expect(await ids('latest')).toEqual({ ids: [newest], missing: [], ok: true });
    expect(await ids(middle)).toEqual({ ids: [middle], missing: [], ok: true });
    expect(await ids(middle, ['local/charlie'])).toEqual({ ids: [middle], missing: [], ok: true });
    const absent = '20000101T000000.000Z-00000000';
    expect(await ids(absent)).toEqual({
      ids: [],
      missing: [`no snapshot ${absent} in ${store.location}`],
      ok: false,
    });
    expect(await ids('latest', ['local/charlie', 'local/nowhere'])).toEqual({
      ids: [newest],
      missing: [`no snapshot of local/nowhere in ${store.location}`],
      ok: false,
    });
    const empty = await verifyStore(backend.open(freshRoot()), settings('manifest'));
    expect(empty).toMatchObject({ ok: false, results: [], summary: { checked: 0 } });
    expect(empty.missing).toEqual([expect.stringMatching(/^no snapshot in /)]);
  });

  test('subset n/3: three runs check every repository exactly once, each always in the same group', async () => {
    const runs: string[][] = [];
    for (const n of [1, 2, 3]) {
      const report = await verifyStore(healthy, settings('manifest', { subset: { n, t: 3 } }));
      expect(report.subset).toEqual({ n, t: 3 });
      expect(report.summary).toMatchObject({
        units: report.results.length,
        skippedUnits: 5 - report.results.length,
      });
      runs.push(unitsOf(report));
    }
    expect(runs.flat().sort()).toEqual(UNITS);
    expect(runs.every((units) => units.length > 0)).toBe(true);
    // The group depends on the name only: asking for a few sources does not move them.
    const some = ['local/india', 'local/alpha', 'local/delta'];
    for (const [index, n] of [1, 2, 3].entries()) {
      const report = await verifyStore(healthy, settings('manifest', { subset: { n, t: 3 } }), {
        sources: some,
      });
      expect(unitsOf(report)).toEqual(runs[index].filter((unit) => some.includes(unit.slice('git/'.length))));
    }
  });

  test('subset auto/3 picks the group from the date; three consecutive days cover everything', async () => {
    const day = 20_000; // 2024-10-04
    const covered: string[] = [];
    for (const offset of [0, 1, 2]) {
      const now = new Date((day + offset) * 86_400_000 + 13 * 3_600_000);
      const n = ((day + offset) % 3) + 1;
      const auto = await verifyStore(healthy, settings('manifest', { subset: { n: 'auto', t: 3 } }), { now });
      const explicit = await verifyStore(healthy, settings('manifest', { subset: { n, t: 3 } }));
      expect(auto.subset).toEqual({ n, t: 3 });
      expect(unitsOf(auto)).toEqual(unitsOf(explicit));
      covered.push(...unitsOf(auto));
    }
    expect(covered.sort()).toEqual(UNITS);
  });

  test('file snapshots: a real one (with a hard link) passes the restore level; a broken archive with a correct hash fails it', async () => {
    const store = backend.open(freshRoot());
    const files = path.join(work, `files-${Math.random().toString(16).slice(2)}`);
    fs.mkdirSync(path.join(files, 'config'), { recursive: true });
    fs.writeFileSync(path.join(files, 'config', 'app.yml'), 'key: value\n');
    fs.linkSync(path.join(files, 'config', 'app.yml'), path.join(files, 'config', 'same-file.yml')); // a hard link
    await snapshotFiles(store, {
      name: 'configs',
      patterns: 'config',
      baseDir: files,
      compression: 'gzip',
      tags: [],
    });
    expect((await verifyStore(store, settings('restore'))).ok).toBe(true);
  });

  test('file snapshots: data is checked; the restore check is pluggable and fails on a broken archive', async () => {
    const store = backend.open(freshRoot());
    const id = '20261122T020000.123Z-1a2b3c4d';
    const folder = snapshotPrefix('files', 'reports', id);
    const tar = Buffer.alloc(10_240, 'not a real tar, the data check does not care');
    await store.upload(`${folder}files.tar`, Readable.from([tar]));
    const manifest = {
      format: 'backup-action-snapshot',
      formatVersion: FILES_FORMAT_VERSION,
      id,
      kind: 'files',
      source: 'reports',
      createdAt: '2026-11-22T02:00:00.123Z',
      tool: { name: 'backup-action', version: 'test' },
      tags: [],
      files: { count: 1, bytes: 100 },
      parts: [{ name: 'files.tar', type: 'tar', size: tar.length, sha256: sha256(tar) }],
      size: tar.length,
    };
    await store.createExclusive(`${folder}manifest.json`, Buffer.from(JSON.stringify(manifest)));

    const readData = await verifyStore(store, settings('read-data'), { kind: 'files' });
    expect(readData).toMatchObject({ ok: true, summary: { checked: 1, bytesRead: tar.length } });

    const restore = await verifyStore(store, settings('restore'));
    expect(restore.results).toMatchObject([{ kind: 'files', source: 'reports', id, ok: false }]);
    expect(restore.results[0].problems[0].message).toMatch(/restore failed/);

    const scratchDir = path.join(work, 'scratch-files');
    const calls: Array<{ id: string; target: string }> = [];
    const restoreFiles: RestoreCheck = async (_store, snapshot, target) => {
      calls.push({ id: snapshot.id, target });
    };
    const plugged = await verifyStore(store, settings('restore'), {
      scratchDir,
      restoreChecks: { files: restoreFiles },
    });
    expect(plugged.ok).toBe(true);
    expect(calls).toEqual([{ id, target: expect.stringContaining(scratchDir + path.sep) }]);
    expect(fs.readdirSync(scratchDir)).toEqual([]);
  });
});

test('a missing bucket fails the whole verify, naming the input to fix', async () => {
  const verifying = verifyStore(openS3('x', 'nope'), settings('manifest'));
  await expect(verifying).rejects.toThrow(InputError);
  await expect(verifying).rejects.toThrow(/bucket "nope" does not exist/);
});
