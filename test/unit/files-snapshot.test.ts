import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { Header } from 'tar';
import { InputError } from '../../src/util/errors.js';
import { restoreFiles } from '../../src/files/restore.js';
import { selectFiles } from '../../src/files/select.js';
import {
  type Compression,
  decompressor,
  type FilesSnapshotSettings,
  PART_NAMES,
  snapshotFiles,
  zstdAvailable,
} from '../../src/files/backup.js';
import { readFilesSettings } from '../../src/settings/snapshot.js';
import { listSnapshots, readManifest, type SnapshotRef } from '../../src/snapshot/catalog.js';
import {
  FILES_FORMAT_VERSION,
  type FilesManifest,
  newSnapshotId,
  snapshotPrefix,
} from '../../src/snapshot/manifest.js';
import { LocalStore } from '../../src/store/local-store.js';
import { S3Store } from '../../src/store/s3-store.js';
import { readAll, type Store } from '../../src/store/store.js';
import { deterministicBytes, tempDir } from '../support/fixtures.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';

// File snapshots end to end against both stores: the local folder and S3 (a real S3-protocol server).
let s3: S3Server;
let work: string;
let outside: string;
let opened = 0;

beforeAll(async () => {
  s3 = await startS3Server({ buckets: ['files'] });
  work = tempDir();
  outside = fs.mkdtempSync(path.join(os.tmpdir(), 'outside-'));
  fs.writeFileSync(path.join(outside, 'victim.txt'), 'original\n');
});

afterAll(async () => {
  await s3.stop();
  fs.rmSync(work, { recursive: true, force: true });
  fs.rmSync(outside, { recursive: true, force: true });
});

/** A fresh, empty store each time, so that every test has its own snapshot series. */
const stores: Array<[string, () => Store]> = [
  ['local folder', () => new LocalStore(path.join(work, `store-${++opened}`))],
  [
    'S3',
    () =>
      new S3Store({
        bucket: 'files',
        prefix: `root-${++opened}`,
        location: `s3://files/root-${opened}`,
        region: s3.region,
        endpoint: s3.endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
        endpointInput: 'endpoint',
      }),
  ],
];

const nativeZstd = typeof (zlib as unknown as Record<string, unknown>).createZstdCompress === 'function';
const compressions: Compression[] = ['gzip', 'none', ...(zstdAvailable() ? ['zstd' as const] : [])];

const reader = (inputs: Record<string, string>) => (name: string) => inputs[name] ?? '';
const settingsFor = (base: string, inputs: Record<string, string>): FilesSnapshotSettings =>
  readFilesSettings(reader({ name: 'app-config', ...inputs }), { GITHUB_WORKSPACE: base });
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A workspace with what a file backup must keep, and what the patterns below leave out. */
function createWorkspace(): string {
  const base = fs.mkdtempSync(path.join(work, 'workspace-'));
  const app = path.join(base, 'app');
  const write = (name: string, content: string | Buffer, mode = 0o644) => {
    fs.mkdirSync(path.dirname(path.join(app, name)), { recursive: true });
    fs.writeFileSync(path.join(app, name), content);
    fs.chmodSync(path.join(app, name), mode);
  };
  write('run.sh', '#!/bin/sh\necho hello\n', 0o755);
  write('secret.env', 'TOKEN=not-really\n', 0o600);
  write('shared.txt', 'group-writable\n', 0o664);
  write('sub/deep.txt', deterministicBytes(100_000, 'deep'));
  write('logs/today.log', 'excluded by !**/*.log\n');
  write('cache/big.bin', deterministicBytes(10_000, 'cache'));
  fs.mkdirSync(path.join(app, 'empty'));
  fs.chmodSync(path.join(app, 'empty'), 0o750);
  fs.symlinkSync('run.sh', path.join(app, 'link'));
  fs.symlinkSync('../run.sh', path.join(app, 'sub', 'up'));
  fs.symlinkSync('/nonexistent/absolute/target', path.join(app, 'absolute-link'));
  fs.linkSync(path.join(app, 'shared.txt'), path.join(app, 'hard'));
  fs.writeFileSync(path.join(base, 'not-selected.txt'), 'not selected\n');
  // Whole seconds: that is what a tar header keeps. Folders last, as writing into them changes theirs.
  for (const [name, time] of [
    ['run.sh', '2024-01-02T03:04:05Z'],
    ['secret.env', '2023-06-07T08:09:10Z'],
    ['shared.txt', '2022-02-02T02:02:02Z'],
    ['sub/deep.txt', '2021-01-01T00:00:01Z'],
    ['sub', '2020-05-05T05:05:05Z'],
    ['empty', '2019-09-09T09:09:09Z'],
    ['logs', '2019-10-10T10:10:10Z'],
    ['.', '2018-08-08T08:08:08Z'],
  ]) {
    fs.utimesSync(path.join(app, name), new Date(time), new Date(time));
  }
  return base;
}

const PATTERNS = 'app\n!**/*.log\n!app/cache';
const EXPECTED = [
  { path: 'app', type: 'directory', size: 0, hardlink: false },
  { path: 'app/absolute-link', type: 'symlink', size: 0, hardlink: false },
  { path: 'app/empty', type: 'directory', size: 0, hardlink: false },
  { path: 'app/hard', type: 'file', size: 15, hardlink: false },
  { path: 'app/link', type: 'symlink', size: 0, hardlink: false },
  { path: 'app/logs', type: 'directory', size: 0, hardlink: false },
  { path: 'app/run.sh', type: 'file', size: 21, hardlink: false },
  { path: 'app/secret.env', type: 'file', size: 17, hardlink: false },
  { path: 'app/shared.txt', type: 'file', size: 15, hardlink: true },
  { path: 'app/sub', type: 'directory', size: 0, hardlink: false },
  { path: 'app/sub/deep.txt', type: 'file', size: 100_000, hardlink: false },
  { path: 'app/sub/up', type: 'symlink', size: 0, hardlink: false },
];

/** What a restore must reproduce of each entry: type, mode, mtime, content or link target. */
function facts(root: string, paths: string[]) {
  return paths.map((name) => {
    const file = path.join(root, name);
    const stat = fs.lstatSync(file);
    if (stat.isSymbolicLink()) return { name, link: fs.readlinkSync(file) };
    return {
      name,
      directory: stat.isDirectory(),
      mode: (stat.mode & 0o7777).toString(8),
      mtime: stat.mtime.toISOString(),
      sha256: stat.isFile() ? sha256(fs.readFileSync(file)) : undefined,
    };
  });
}

async function objectKeys(store: Store, prefix = ''): Promise<string[]> {
  const keys = [];
  for await (const object of store.list(prefix)) keys.push(object.key);
  return keys.sort();
}

describe('settings', () => {
  test('name, path, compression and tags', () => {
    const settings = settingsFor('/srv/workspace', {
      name: 'team/db-dumps',
      path: 'a\n!b',
      tags: 'nightly, db',
    });
    expect(settings).toEqual({
      name: 'team/db-dumps',
      patterns: 'a\n!b',
      baseDir: '/srv/workspace',
      // zstd where Node.js has it in zlib (22.15+, the Actions runtime); gzip otherwise, even with the zstd command.
      compression: nativeZstd ? 'zstd' : 'gzip',
      tags: ['nightly', 'db'],
    });
    expect(settingsFor('/w', { path: 'a', compression: 'none' }).compression).toBe('none');
    expect(settingsFor('/w', { path: 'a', compression: 'gzip' }).compression).toBe('gzip');
  });

  test.each([
    ['name', { name: '', path: 'a' }, /is required/],
    ['path', { path: '' }, /is required/],
    ['name', { name: '../up', path: 'a' }, /not a valid name/],
    ['name', { name: 'a//b', path: 'a' }, /not a valid name/],
    ['name', { name: '/abs', path: 'a' }, /not a valid name/],
    ['name', { name: 'a/./b', path: 'a' }, /not a valid name/],
    ['name', { name: 'with space', path: 'a' }, /not a valid name/],
    ['name', { name: 'x'.repeat(201), path: 'a' }, /not a valid name/],
    ['name', { name: 'db/20261122T141500.123Z-1a2b3c4d', path: 'a' }, /shaped like a snapshot id/],
    ['compression', { path: 'a', compression: 'brotli' }, /not one of zstd, gzip, none/],
    ['tags', { path: 'a', tags: 'ok, not ok' }, /not a valid tag/],
  ])('input %s: %j is refused', (input, inputs, message) => {
    let error: unknown;
    try {
      settingsFor('/w', inputs);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(InputError);
    expect(error).toMatchObject({ input, message: expect.stringMatching(message) });
  });

  (nativeZstd ? test.skip : test)('zstd without zlib zstd or the zstd command is an input error', () => {
    const saved = process.env.PATH;
    process.env.PATH = work; // no zstd there
    try {
      expect(() => settingsFor('/w', { path: 'a', compression: 'zstd' })).toThrow(
        /needs Node.js 22.15 or later/,
      );
    } finally {
      process.env.PATH = saved;
    }
  });
});

describe('selection', () => {
  test('globs, excludes, folders with their contents, parents first, links not followed', async () => {
    const base = createWorkspace();
    execFileSync('mkfifo', [path.join(base, 'app', 'fifo')]); // neither file, folder nor link: skipped
    expect(await selectFiles(PATTERNS, base)).toEqual(EXPECTED.map((entry) => entry.path));
    expect(await selectFiles('app/sub/*.txt\napp/run.sh', base)).toEqual([
      'app',
      'app/run.sh',
      'app/sub',
      'app/sub/deep.txt',
    ]);
  });

  test('nothing matched, a path outside the base folder, or files through a link are input errors', async () => {
    const base = createWorkspace();
    await expect(selectFiles('missing/**\n!app', base)).rejects.toThrow(/Input "path": matched no files/);
    await expect(selectFiles(path.join(outside, 'victim.txt'), base)).rejects.toThrow(
      /victim.txt is outside/,
    );
    fs.symlinkSync('app', path.join(base, 'through'));
    await expect(selectFiles('through/run.sh', base)).rejects.toThrow(/through is a symbolic link/);
  });

  test('the base folder is taken literally, and a name starting with "@" is a file', async () => {
    const base = fs.mkdtempSync(path.join(work, 'odd [1]*? '));
    fs.writeFileSync(path.join(base, '@at.txt'), 'at\n');
    fs.utimesSync(
      path.join(base, '@at.txt'),
      new Date('2024-05-06T07:08:09Z'),
      new Date('2024-05-06T07:08:09Z'),
    );
    expect(await selectFiles('.', base)).toEqual(['@at.txt']);
    const store = new LocalStore(path.join(work, `store-${++opened}`));
    const result = await snapshotFiles(store, settingsFor(base, { path: '*.txt', compression: 'none' }));
    expect(result).toMatchObject({ files: 1, sourceBytes: 3 });
    const [snapshot] = await listSnapshots(store, 'files', 'app-config');
    // The archive keeps modes and times, but no owner or access time of this machine.
    const archive = path.join(
      store.location,
      snapshotPrefix('files', 'app-config', snapshot.id),
      'files.tar',
    );
    expect(new Header(fs.readFileSync(archive).subarray(0, 512))).toMatchObject({
      path: '@at.txt',
      uid: undefined,
      gid: undefined,
      uname: '',
      atime: undefined,
      ctime: undefined,
      mtime: new Date('2024-05-06T07:08:09Z'),
    });
    const target = path.join(base, 'restored');
    await restoreFiles(store, snapshot, target);
    expect(fs.readFileSync(path.join(target, '@at.txt'), 'utf8')).toBe('at\n');
  });
});

describe.each(stores)('%s store', (_, open) => {
  test.each(compressions)(
    'round trip with %s: links, modes, empty folders and mtimes survive',
    async (compression) => {
      const base = createWorkspace();
      const store = open();
      const result = await snapshotFiles(
        store,
        settingsFor(base, { path: PATTERNS, compression, tags: 'nightly' }),
      );
      expect(result).toMatchObject({ files: EXPECTED.length, sourceBytes: 21 + 17 + 15 + 100_000 });

      const [snapshot] = await listSnapshots(store, 'files', 'app-config');
      expect(snapshot.id).toBe(result.snapshotId);
      const manifest = (await readManifest(store, snapshot)) as FilesManifest;
      expect(manifest).toMatchObject({
        kind: 'files',
        source: 'app-config',
        tags: ['nightly'],
        files: { count: EXPECTED.length, bytes: result.sourceBytes },
        parts: [{ name: PART_NAMES[compression], type: 'tar', compression }],
      });
      const folder = snapshotPrefix('files', 'app-config', snapshot.id);
      expect(await objectKeys(store)).toEqual([
        `${folder}${PART_NAMES[compression]}`,
        `${folder}manifest.json`,
      ]);
      const body = await readAll(await store.download(`${folder}manifest.json`));
      expect(result.bytes).toBe(manifest.parts[0].size + body.length);

      const target = path.join(work, `restored-${opened}`);
      fs.mkdirSync(target); // an empty folder is a valid target
      const restored = await restoreFiles(store, snapshot, target);
      expect(restored.entries).toEqual(EXPECTED);
      const paths = EXPECTED.map((entry) => entry.path);
      expect(facts(target, paths)).toEqual(facts(base, paths));
      expect(fs.readdirSync(target)).toEqual(['app']);
      expect(fs.statSync(path.join(target, 'app/hard')).ino).toBe(
        fs.statSync(path.join(target, 'app/shared.txt')).ino,
      );
      expect(fs.readFileSync(path.join(target, 'app/sub/up'), 'utf8')).toBe('#!/bin/sh\necho hello\n');
    },
  );

  test('dry run lists what would be written and writes nothing', async () => {
    const base = createWorkspace();
    const store = open();
    await snapshotFiles(store, settingsFor(base, { path: PATTERNS }));
    const [snapshot] = await listSnapshots(store, 'files', 'app-config');
    const parent = fs.mkdtempSync(path.join(work, 'dry-'));
    const staged = () => fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith('.restore-'));
    const before = staged();
    const result = await restoreFiles(store, snapshot, path.join(parent, 'target'), { dryRun: true });
    expect(result.entries).toEqual(EXPECTED);
    expect(fs.readdirSync(parent)).toEqual([]);
    expect(staged()).toEqual(before);
  });

  test('a target that is not empty is an input error', async () => {
    const base = createWorkspace();
    const store = open();
    await snapshotFiles(store, settingsFor(base, { path: 'app/run.sh' }));
    const [snapshot] = await listSnapshots(store, 'files', 'app-config');
    const error = await restoreFiles(store, snapshot, base).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect(error).toMatchObject({
      input: 'target',
      message: expect.stringMatching(/is not an empty folder/),
    });
  });

  test('a 30 MiB file streams through, stored as big as it is (none) or far smaller (gzip)', async () => {
    const base = fs.mkdtempSync(path.join(work, 'big-'));
    const random = deterministicBytes(30 * 1024 * 1024, 'big');
    fs.mkdirSync(path.join(base, 'dump'));
    fs.writeFileSync(path.join(base, 'dump', 'random.bin'), random);
    const store = open();
    // The store receives the archive piece by piece, never as one buffer.
    const chunks: number[] = [];
    const counting: Store = Object.assign(Object.create(store) as Store, {
      upload: (key: string, body: Readable) =>
        store.upload(
          key,
          body.pipe(
            new Transform({
              transform(chunk: Buffer, _, callback) {
                chunks.push(chunk.length);
                callback(null, chunk);
              },
            }),
          ),
        ),
    });
    const plain = await snapshotFiles(
      counting,
      settingsFor(base, { name: 'big', path: 'dump', compression: 'none' }),
    );
    expect(plain.sourceBytes).toBe(random.length);
    expect(chunks.length).toBeGreaterThanOrEqual(30);
    expect(Math.max(...chunks)).toBeLessThanOrEqual(1024 * 1024);
    const [snapshot] = await listSnapshots(store, 'files', 'big');
    const part = (await readManifest(store, snapshot)).parts[0];
    // Two headers and the end-of-archive blocks on top of the data.
    expect(part.size).toBeGreaterThan(random.length);
    expect(part.size).toBeLessThan(random.length + 10 * 1024);
    const target = path.join(work, `restored-big-${opened}`);
    await restoreFiles(store, snapshot, target);
    expect(sha256(fs.readFileSync(path.join(target, 'dump', 'random.bin')))).toBe(sha256(random));

    fs.writeFileSync(path.join(base, 'dump', 'random.bin'), Buffer.alloc(random.length, 'backup '));
    const packed = await snapshotFiles(
      store,
      settingsFor(base, { name: 'big', path: 'dump', compression: 'gzip' }),
    );
    expect(packed.sourceBytes).toBe(random.length);
    expect(packed.bytes).toBeLessThan(random.length / 100);
  });

  test('the manifest is written last, and not at all when reading the files fails', async () => {
    const base = createWorkspace();
    const real = open();
    const calls: string[] = [];
    const recording: Store = Object.assign(Object.create(real) as Store, {
      upload: (key: string, body: Readable) => {
        calls.push(`upload ${key.slice(key.lastIndexOf('/') + 1)}`);
        return real.upload(key, body);
      },
      createExclusive: (key: string, body: Buffer) => {
        calls.push(`createExclusive ${key.slice(key.lastIndexOf('/') + 1)}`);
        return real.createExclusive(key, body);
      },
    });
    await snapshotFiles(recording, settingsFor(base, { path: PATTERNS, compression: 'gzip' }));
    expect(calls).toEqual(['upload files.tar.gz', 'createExclusive manifest.json']);

    const store = open();
    const failing: Store = Object.assign(Object.create(store) as Store, {
      upload: (key: string, body: Readable) => {
        // Selected, then gone before tar reads it.
        fs.rmSync(path.join(base, 'app', 'sub', 'deep.txt'));
        return store.upload(key, body);
      },
    });
    await expect(snapshotFiles(failing, settingsFor(base, { path: PATTERNS }))).rejects.toThrow(
      /ENOENT.*deep\.txt/,
    );
    expect(await listSnapshots(store, 'files', 'app-config')).toEqual([]);
    expect(await objectKeys(store)).toEqual([]);
  });

  describe('a crafted archive is refused, naming the entry, and nothing is written', () => {
    const victim = () => path.join(outside, 'victim.txt');
    test.each<[string, () => CraftedEntry[], RegExp]>([
      [
        'an absolute path',
        () => [file('ok.txt'), file(path.join(outside, 'absolute.txt'))],
        /outside-\w+\/absolute.txt": it is an absolute path/,
      ],
      [
        'a ".." component',
        () => [file('ok.txt'), file('a/../../escape.txt')],
        /"a\/..\/..\/escape.txt": it goes up with ".."/,
      ],
      [
        'a file written through a link to outside',
        () => [{ path: 'link', type: 'SymbolicLink', linkpath: outside }, file('link/pwned')],
        /"link\/pwned": it lies inside the symbolic link "link"/,
      ],
      [
        'a link to outside that comes after a file below it',
        () => [file('link/pwned'), { path: 'link', type: 'SymbolicLink', linkpath: outside }],
        /"link\/pwned": it lies inside the symbolic link "link"/,
      ],
      [
        'a hard link to an outside file',
        () => [{ path: 'hard', type: 'Link', linkpath: victim() }],
        /"hard": it is a hard link to ".*victim.txt", which is not a file earlier/,
      ],
      [
        'a hard link going up',
        () => [{ path: 'hard', type: 'Link', linkpath: '../../victim.txt' }],
        /"hard": it is a hard link/,
      ],
      [
        'a character device',
        () => [file('ok.txt'), { path: 'null', type: 'CharacterDevice' }],
        /"null": it is a CharacterDevice entry/,
      ],
      ['a FIFO', () => [{ path: 'fifo', type: 'FIFO' }], /"fifo": it is a FIFO entry/],
      ['the same path twice', () => [file('twice.txt'), file('twice.txt')], /"twice.txt": it appears twice/],
    ])('%s', async (_, entries, message) => {
      const store = open();
      const snapshot = await storeCrafted(store, entries());
      const parent = fs.mkdtempSync(path.join(work, 'crafted-'));
      const target = path.join(parent, 'target');
      await expect(restoreFiles(store, snapshot, target, { dryRun: true })).rejects.toThrow(message);
      await expect(restoreFiles(store, snapshot, target)).rejects.toThrow(message);
      expect(fs.readdirSync(parent)).toEqual([]);
      expect(fs.readdirSync(outside)).toEqual(['victim.txt']);
      expect(fs.readFileSync(victim(), 'utf8')).toBe('original\n');
    });

    test('the same archive without the malicious entries restores (the crafting is sound)', async () => {
      const store = open();
      const snapshot = await storeCrafted(store, [
        file('ok.txt'),
        { path: 'hard', type: 'Link', linkpath: 'ok.txt' },
        { path: 'link', type: 'SymbolicLink', linkpath: outside },
      ]);
      const target = path.join(fs.mkdtempSync(path.join(work, 'crafted-')), 'target');
      await restoreFiles(store, snapshot, target);
      expect(fs.readFileSync(path.join(target, 'hard'), 'utf8')).toBe('ok.txt\n');
      expect(fs.readlinkSync(path.join(target, 'link'))).toBe(outside);
    });
  });
});

test('local store: a corrupt archive is refused before it is read, and nothing is left at the target', async () => {
  const base = createWorkspace();
  const store = new LocalStore(path.join(work, `store-${++opened}`));
  await snapshotFiles(store, settingsFor(base, { path: PATTERNS, compression: 'none' }));
  const [snapshot] = await listSnapshots(store, 'files', 'app-config');
  const archive = path.join(store.location, snapshotPrefix('files', 'app-config', snapshot.id), 'files.tar');
  const bytes = fs.readFileSync(archive);
  bytes[600] ^= 0xff;
  fs.writeFileSync(archive, bytes);
  const parent = fs.mkdtempSync(path.join(work, 'corrupt-'));
  await expect(restoreFiles(store, snapshot, path.join(parent, 'target'))).rejects.toThrow(
    /files.tar .* is corrupt/,
  );
  expect(fs.readdirSync(parent)).toEqual([]);
});

(nativeZstd || !zstdAvailable() ? test.skip : test)(
  'without zlib zstd, the zstd command writes and reads zstd snapshots; without it, restore says what is missing',
  async () => {
    const base = createWorkspace();
    const store = new LocalStore(path.join(work, `store-${++opened}`));
    await snapshotFiles(store, settingsFor(base, { path: 'app/run.sh', compression: 'zstd' }));
    const [snapshot] = await listSnapshots(store, 'files', 'app-config');
    const archive = path.join(
      store.location,
      snapshotPrefix('files', 'app-config', snapshot.id),
      'files.tar.zst',
    );
    expect(fs.readFileSync(archive).subarray(0, 4)).toEqual(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
    const saved = process.env.PATH;
    process.env.PATH = work; // no zstd there
    try {
      await expect(restoreFiles(store, snapshot, path.join(work, `no-zstd-${opened}`))).rejects.toThrow(
        /compressed with zstd: restoring it needs Node.js 22.15 or later, or the zstd command/,
      );
    } finally {
      process.env.PATH = saved;
    }
  },
);

(zstdAvailable() ? test : test.skip)(
  'a broken zstd stream is an error, never a shorter archive',
  async () => {
    const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
    await expect(
      pipeline([Readable.from([Buffer.from('not zstd at all')]), ...decompressor('zstd'), sink]),
    ).rejects.toThrow(nativeZstd ? /./ : /zstd failed \(exit code 1\)/);
  },
);

interface CraftedEntry {
  path: string;
  type: 'File' | 'Link' | 'SymbolicLink' | 'CharacterDevice' | 'FIFO';
  linkpath?: string;
  data?: Buffer;
}

const file = (name: string): CraftedEntry => ({ path: name, type: 'File', data: Buffer.from(`${name}\n`) });

/** Raw ustar bytes, written header by header: nothing checks or normalizes the paths. */
function craftTar(entries: CraftedEntry[]): Buffer {
  const blocks = entries.flatMap((entry) => {
    const data = entry.data ?? Buffer.alloc(0);
    const header = new Header({
      path: entry.path,
      type: entry.type,
      linkpath: entry.linkpath,
      size: data.length,
      mode: 0o644,
      mtime: new Date('2024-01-01T00:00:00Z'),
    });
    header.encode();
    return [header.block!, data, Buffer.alloc((512 - (data.length % 512)) % 512)];
  });
  return Buffer.concat([...blocks, Buffer.alloc(1024)]);
}

/** Stores a crafted archive as a snapshot with a correct manifest, so that only the contents are wrong. */
async function storeCrafted(store: Store, entries: CraftedEntry[]): Promise<SnapshotRef> {
  const tar = craftTar(entries);
  const id = newSnapshotId(new Date());
  const folder = snapshotPrefix('files', 'crafted', id);
  await store.upload(`${folder}files.tar`, Readable.from([tar]));
  const manifest: FilesManifest = {
    format: 'backup-action-snapshot',
    formatVersion: FILES_FORMAT_VERSION,
    id,
    kind: 'files',
    source: 'crafted',
    createdAt: new Date().toISOString(),
    tool: { name: 'backup-action', version: '0.1.0' },
    tags: [],
    files: { count: entries.length, bytes: 0 },
    parts: [{ name: 'files.tar', type: 'tar', compression: 'none', size: tar.length, sha256: sha256(tar) }],
    size: tar.length,
  };
  await store.createExclusive(`${folder}manifest.json`, Buffer.from(JSON.stringify(manifest)));
  return (await listSnapshots(store, 'files', 'crafted'))[0];
}

test('hard links never race the end of the archive (node-tar with parallel jobs did, 1 run in a few)', async () => {
  const base = path.join(work, `hardlinks-${++opened}`);
  fs.mkdirSync(path.join(base, 'config'), { recursive: true });
  fs.writeFileSync(path.join(base, 'config', 'app.yml'), 'key: value\n');
  fs.linkSync(path.join(base, 'config', 'app.yml'), path.join(base, 'config', 'same-file.yml'));
  const store = new LocalStore(path.join(work, `hardlink-store-${opened}`));
  const settings = {
    name: 'linked',
    patterns: 'config',
    baseDir: base,
    compression: 'none' as const,
    tags: [],
  };
  for (let i = 0; i < 30; i++) {
    expect((await snapshotFiles(store, settings)).files).toBe(3);
  }
});

test('many files archived 8 at a time come back byte for byte, in order, every time', async () => {
  const base = path.join(work, `many-${++opened}`);
  const files: Array<{ file: string; content: Buffer }> = [];
  for (let i = 0; i < 400; i++) {
    const file = `d${i % 7}/sub${i % 3}/f${i}.bin`;
    files.push({ file, content: deterministicBytes(1 + ((i * 997) % 9000), `many-${i}`) });
    fs.mkdirSync(path.join(base, path.dirname(file)), { recursive: true });
    fs.writeFileSync(path.join(base, file), files[i].content);
  }
  fs.symlinkSync('d0', path.join(base, 'link-to-d0'));
  const store = new LocalStore(path.join(work, `many-store-${opened}`));
  const settings = { name: 'many', patterns: '.', baseDir: base, compression: 'none' as const, tags: [] };
  const expected = await selectFiles('.', base);
  for (let i = 0; i < 10; i++) {
    const written = await snapshotFiles(store, settings);
    expect(written.files).toBe(expected.length);
    const snapshot = (await listSnapshots(store, 'files', 'many')).find((s) => s.id === written.snapshotId)!;
    const manifest = await readManifest(store, snapshot);
    const tar = await readAll(await store.download(`files/many/${snapshot.id}/${manifest.parts[0].name}`));
    const names: string[] = [];
    for (let offset = 0; offset + 512 <= tar.length;) {
      const header = new Header(tar.subarray(offset, offset + 512));
      if (!header.path) break;
      names.push(header.path.replace(/\/$/, ''));
      offset += 512 + Math.ceil((header.size ?? 0) / 512) * 512;
    }
    expect(names).toEqual(expected);
  }
  const target = path.join(work, `many-restored-${opened}`);
  await restoreFiles(store, (await listSnapshots(store, 'files', 'many'))[0], target);
  for (const { file, content } of files) expect(fs.readFileSync(path.join(target, file))).toEqual(content);
});
